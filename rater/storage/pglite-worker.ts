// The embedded database's own thread (started by pglite-thread.ts). PGlite runs PostgreSQL's
// code on the thread that calls it, synchronously: on the rater's main thread, every COPY and
// every rating query stopped gRPC, HTTP and the next batch's decoding until it finished. Here it
// has a thread of its own, and the main thread's work on the next batch runs beside it.
//
// It serves the SqlClient calls of pglite-thread.ts over the worker port, one PgliteSqlClient
// behind them. Each transaction the main thread begins stays open here (PGlite's own
// `transaction`) until the main thread sends its end. The main thread sends a transaction's
// statements without waiting for the ones before (it waits only where it needs an answer): they
// run here one after another in the order sent, so the database does not sit idle inside a
// transaction while the main thread is busy with other work.
import { parentPort, workerData } from 'node:worker_threads';
import { PgliteSqlClient } from './pglite-client.ts';
import { atomic, type CopyIn, type SqlClient } from './sql.ts';
import { errorToWire, type Reply, type Request } from './pglite-wire.ts';

const port = parentPort;

interface OpenTx {
  client: SqlClient;
  /** Settles PGlite's transaction callback: resolve commits, reject rolls back. */
  end: (commit: boolean) => void;
  /** PGlite's transaction promise: settles once COMMIT or ROLLBACK ran. */
  done: Promise<unknown>;
}

const ROLLBACK = Symbol('rollback');

/** Structured clone turns a Buffer into a plain Uint8Array: a Buffer view of the same bytes. */
const asBuffers = (copies: readonly CopyIn[]): CopyIn[] =>
  copies.map(({ target, data }) => ({
    target,
    data:
      typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  }));

async function main(): Promise<void> {
  const { dataDir } = workerData as { dataDir: string };
  let db: PgliteSqlClient;
  try {
    // The thread client took the directory's lock before starting this thread (pglite-lock.ts).
    db = await PgliteSqlClient.create(dataDir, { lock: false });
  } catch (e) {
    port?.postMessage({ id: 0, ok: false, error: errorToWire(e) } satisfies Reply);
    return;
  }
  /** Each transaction, once begun (rejected when it could not begin). */
  const txs = new Map<number, Promise<OpenTx>>();
  /** The last request of each transaction: the next one runs after it settled. */
  const chains = new Map<number, Promise<unknown>>();

  const begin = () =>
    new Promise<OpenTx>((started, failed) => {
      let entered = false;
      const open = {} as OpenTx;
      open.done = db.transaction(
        (client) =>
          new Promise<void>((resolve, reject) => {
            entered = true;
            open.client = client;
            open.end = (commit) => (commit ? resolve() : reject(ROLLBACK));
            started(open);
          }),
      );
      // A transaction that could not begin rejects here before its callback ran.
      open.done.catch((e: unknown) => {
        if (!entered) failed(e);
      });
    });

  const finish = async (tx: OpenTx, commit: boolean): Promise<void> => {
    tx.end(commit);
    try {
      await tx.done;
    } catch (e) {
      if (e !== ROLLBACK) throw e;
    }
  };

  const handle = async (r: Exclude<Request, { op: 'begin' }>): Promise<unknown> => {
    if (r.op === 'close') {
      for (const t of txs.values()) await finish(await t, false).catch(() => {});
      await db.close();
      return undefined;
    }
    if (r.op === 'end') {
      const open = txs.get(r.tx);
      txs.delete(r.tx);
      chains.delete(r.tx);
      if (!open) throw new Error(`no open transaction ${r.tx}`);
      return finish(await open, r.commit);
    }
    // BEGIN, the COPYs, the statements and COMMIT back to back, in this thread.
    if (r.op === 'atomic') return atomic(db, asBuffers(r.copies), r.statements);
    let client: SqlClient = db;
    if (r.tx !== undefined) {
      const open = txs.get(r.tx);
      if (!open) throw new Error(`no open transaction ${r.tx}`);
      client = (await open).client;
    }
    switch (r.op) {
      case 'query':
        return (await client.query(r.text, r.params)).rows;
      case 'exec':
        return client.exec(r.text);
      case 'copyFrom':
        if (!client.copyFrom) throw new Error('COPY runs inside a transaction');
        return client.copyFrom(asBuffers(r.copies));
    }
  };

  const run = (r: Request): Promise<unknown> => {
    if (r.op === 'begin') {
      const opened = begin();
      txs.set(r.tx, opened);
      chains.set(r.tx, opened);
      return opened.then(() => undefined);
    }
    const tx = 'tx' in r ? r.tx : undefined;
    if (tx === undefined) return handle(r);
    // After a failed statement the next one still runs (ROLLBACK TO SAVEPOINT must).
    const prev = chains.get(tx) ?? Promise.resolve();
    const next = prev.then(
      () => handle(r),
      () => handle(r),
    );
    if (r.op !== 'end') chains.set(tx, next);
    return next;
  };

  port?.on('message', (r: Request) => {
    run(r).then(
      (value) => port.postMessage({ id: r.id, ok: true, value } satisfies Reply),
      (e: unknown) =>
        port.postMessage({ id: r.id, ok: false, error: errorToWire(e) } satisfies Reply),
    );
  });
  port?.postMessage({ id: 0, ok: true, value: 'ready' } satisfies Reply);
}

// Imported anywhere else (a check that loads every file of dist/, say), it does nothing.
if (port) void main();
