// SqlClient over embedded PGlite running in a worker thread of its own (pglite-worker.ts), the
// default for `embedded:` databases. PGlite executes PostgreSQL on the calling thread: in the
// rater's main thread, a 25 ms COPY or a seconds-long rating query held up gRPC, HTTP (health
// checks included) and the decoding of the next batch. In its own thread it runs beside them,
// on the second core where there is one (bench/README.md, Results).
//
// Same semantics as PgliteSqlClient, which the worker uses: one connection, transactions one at
// a time, and inside `transaction` only the `tx` client may be used.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { lockDataDir } from './pglite-lock.ts';
import { errorFromWire, type Call, type Reply } from './pglite-wire.ts';
import type { CopyIn, QueryResult, SqlClient, Statement } from './sql.ts';

/** The file URL of tsx's ESM API (`tsx/esm/api`, its import condition), from its package.json. */
function tsxApi(from: string): string {
  const manifest = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = pkg.exports['./esm/api']?.import.default;
  if (!entry) throw new Error('tsx has no ESM API: build with `npm run build` to run dist/');
  return pathToFileURL(join(dirname(manifest), entry)).href;
}

/**
 * The worker beside this module: the bundle's dist/pglite-worker.js, or from the TypeScript
 * sources pglite-worker.ts, loaded through tsx (registered inside the new thread: module hooks
 * of the main thread do not reach workers on Node 20).
 */
function startWorker(dataDir: string): Worker {
  const here = import.meta.url;
  const workerData = { dataDir };
  if (!/\.[cm]?ts$/.test(new URL(here).pathname))
    return new Worker(new URL('./pglite-worker.js', here), { workerData });
  const tsx = tsxApi(here);
  const source = new URL('./pglite-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

class ThreadTxClient implements SqlClient {
  constructor(
    private readonly db: PgliteThreadClient,
    private readonly tx: number,
  ) {}
  async query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    return { rows: (await this.db.call({ op: 'query', tx: this.tx, text, params })) as T[] };
  }
  async exec(text: string): Promise<void> {
    await this.db.call({ op: 'exec', tx: this.tx, text });
  }
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async copyFrom(copies: readonly CopyIn[]): Promise<void> {
    await this.db.call({ op: 'copyFrom', tx: this.tx, copies });
  }
  async close(): Promise<void> {}
}

export class PgliteThreadClient implements SqlClient {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private nextTx = 1;
  /** Set once the worker is gone: every call then fails with it. */
  private stopped: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    onStopped: ((err: Error) => void) | undefined,
    private readonly unlock: () => Promise<void>,
  ) {
    worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) worker.unref();
      if (r.ok) p.resolve(r.value);
      else p.reject(errorFromWire(r.error));
    });
    // "PGlite is closed" is what storage/errors.ts reads as unavailable (DB_UNAVAILABLE).
    const stop = (why: string) => {
      if (this.stopped) return;
      this.stopped = new Error(`the embedded database thread stopped (${why}): PGlite is closed`);
      for (const p of this.pending.values()) p.reject(this.stopped);
      this.pending.clear();
      if (!this.closing) onStopped?.(this.stopped);
    };
    worker.on('error', (e) => stop(e.message));
    worker.on('exit', (code) => stop(`exit code ${code}`));
  }

  /**
   * Starts the thread and the embedded database in it (about 3 s), with TimescaleDB loaded.
   * `dataDir` is a directory (created when missing) or `memory://`. `onStopped` is called once
   * if the thread ends other than by close() (PGlite aborted, the thread ran out of memory):
   * nothing can be stored from then on.
   */
  static async create(
    dataDir: string,
    opts: { onStopped?: (err: Error) => void } = {},
  ): Promise<PgliteThreadClient> {
    // Taken here, on the thread that outlives the worker, and kept until close().
    const unlock = await lockDataDir(dataDir);
    const worker = startWorker(dataDir);
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new Error(`the embedded database thread exited (code ${code}) while starting`));
      worker.once('exit', onExit);
      worker.once('error', reject);
      worker.once('message', (r: Reply) => {
        worker.off('exit', onExit);
        worker.off('error', reject);
        if (r.ok) resolve();
        else reject(errorFromWire(r.error));
      });
    }).catch(async (e: unknown) => {
      await worker.terminate();
      await unlock();
      throw e;
    });
    worker.unref();
    return new PgliteThreadClient(worker, opts.onStopped, unlock);
  }

  /** One request to the worker; its answer, or its error as the worker's PGlite raised it. */
  call(c: Call): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A request in flight keeps the process alive; an idle database thread does not.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...c, id });
    });
  }

  async query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    return { rows: (await this.call({ op: 'query', text, params })) as T[] };
  }

  async exec(text: string): Promise<void> {
    await this.call({ op: 'exec', text });
  }

  /** One message: the database's thread runs the whole transaction without waiting for this one. */
  async atomic(copies: readonly CopyIn[], statements: readonly Statement[]): Promise<void> {
    await this.call({ op: 'atomic', copies, statements });
  }

  /**
   * Nothing waits for BEGIN: it goes out with the first statements, and the worker runs a
   * transaction's requests in the order sent (a failed BEGIN fails them).
   */
  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const tx = this.nextTx++;
    const begun = this.call({ op: 'begin', tx });
    begun.catch(() => {}); // reaches fn through its statements, or the await below
    let out: T;
    try {
      out = await fn(new ThreadTxClient(this, tx));
      await begun;
    } catch (e) {
      // The original error matters; a failed ROLLBACK (the thread died) adds nothing.
      await this.call({ op: 'end', tx, commit: false }).catch(() => {});
      throw e;
    }
    await this.call({ op: 'end', tx, commit: true });
    return out;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.stopped) await this.call({ op: 'close' }).catch(() => {});
      await this.worker.terminate();
      await this.unlock();
    })();
    return this.closing;
  }
}
