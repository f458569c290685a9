// Embedded PGlite in its own thread (rater/storage/pglite-thread.ts, the default) and in the
// caller's thread (pglite-client.ts, embeddedThread: main): the same SqlClient behaviour, real
// databases in memory. The whole store suite (storage.test.ts and the others) runs on the thread
// client as well, being the default.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { PgliteSqlClient } from '../rater/storage/pglite-client.ts';
import { PgliteThreadClient } from '../rater/storage/pglite-thread.ts';
import { isUnavailable, toStorageError } from '../rater/storage/errors.ts';
import { CopyBinaryWriter } from '../rater/storage/copy-binary.ts';
import type { SqlClient } from '../rater/storage/sql.ts';
import { ARRAYS_WITH_NULLS, ARRAYS_WITH_NULLS_ROW } from './helpers/db.ts';

const modes = [
  { name: 'its own thread', create: () => PgliteThreadClient.create('memory://') },
  { name: 'the caller’s thread', create: () => PgliteSqlClient.create('memory://') },
];

const keys = (...ks: string[]) => {
  const w = new CopyBinaryWriter();
  for (const k of ks) w.tuple(1).text(k);
  return w.finish();
};

for (const mode of modes) {
  describe(`embedded PGlite in ${mode.name}`, () => {
    let db: SqlClient;
    beforeAll(async () => {
      db = await mode.create();
      await db.exec(`CREATE TABLE k (key text PRIMARY KEY); CREATE TABLE n (v int8)`);
      await db.exec(`INSERT INTO n VALUES (0)`);
    }, 60_000);
    afterAll(async () => {
      await db?.close();
    });

    it('answers queries with the store’s value conventions, and errors with their SQLSTATE', async () => {
      const { rows } = await db.query<{ a: string; j: unknown; t: Date; arr: string[] }>(
        `SELECT 9007199254740993::int8 AS a, $1::jsonb AS j, now() AS t, $2::text[] AS arr`,
        [JSON.stringify({ x: [1, 'é'] }), ['a', 'b "c']],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.a).toBe('9007199254740993');
      expect(rows[0]?.j).toEqual({ x: [1, 'é'] });
      expect(rows[0]?.t).toBeInstanceOf(Date);
      expect(rows[0]?.arr).toEqual(['a', 'b "c']);
      // NULL elements of arrays are null (PGlite's own parser gave 'NULL', and threw on jsonb[]).
      const inTx = await db.transaction(
        async (tx) => (await tx.query(ARRAYS_WITH_NULLS)).rows as unknown[],
      );
      expect(inTx).toEqual([ARRAYS_WITH_NULLS_ROW]);
      expect((await db.query(ARRAYS_WITH_NULLS)).rows).toEqual([ARRAYS_WITH_NULLS_ROW]);
      const err = await db.query('SELECT * FROM nowhere').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: '42P01', message: 'relation "nowhere" does not exist' });
      expect(isUnavailable(err)).toBe(false);
    });

    it('commits a transaction, and rolls it back when its function throws', async () => {
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO k VALUES ($1)`, ['committed']);
      });
      const boom = await db
        .transaction(async (tx) => {
          await tx.query(`INSERT INTO k VALUES ($1)`, ['rolled-back']);
          throw new Error('boom');
        })
        .catch((e: unknown) => e);
      expect(boom).toMatchObject({ message: 'boom' });
      const { rows } = await db.query<{ key: string }>(
        `SELECT key FROM k WHERE key IN ('committed', 'rolled-back') ORDER BY key`,
      );
      expect(rows).toEqual([{ key: 'committed' }]);
    });

    it('runs a transaction’s statements in the order sent; after a failed COPY the savepoint undoes what followed it', async () => {
      await db.query(`INSERT INTO k VALUES ('taken')`);
      const out = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO k VALUES ('before-savepoint')`);
        // Sent together, as ingest does: the COPY meets a unique violation, the statement
        // behind it fails because the transaction is aborted.
        const saved = tx.exec('SAVEPOINT s');
        const copied = tx.copyFrom!([{ target: 'k (key)', data: keys('fresh', 'taken') }]);
        const after = tx.query(`INSERT INTO k VALUES ('after-copy')`);
        const [c, a] = await Promise.allSettled([copied, after]);
        await saved;
        expect(c).toMatchObject({ status: 'rejected', reason: { code: '23505' } });
        expect(a).toMatchObject({ status: 'rejected', reason: { code: '25P02' } });
        await tx.exec('ROLLBACK TO SAVEPOINT s');
        await tx.copyFrom!([{ target: 'k (key)', data: keys('fresh') }]);
        return 'done';
      });
      expect(out).toBe('done');
      const { rows } = await db.query<{ key: string }>(
        `SELECT key FROM k WHERE key IN ('before-savepoint', 'fresh', 'after-copy') ORDER BY key`,
      );
      expect(rows.map((r) => r.key)).toEqual(['before-savepoint', 'fresh']);
    });

    it('runs concurrent transactions one after another (no lost update)', async () => {
      await Promise.all(
        Array.from({ length: 12 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ v: string }>(`SELECT v FROM n`);
            await tx.query(`UPDATE n SET v = $1`, [Number(rows[0]?.v) + 1]);
          }),
        ),
      );
      const { rows } = await db.query<{ v: string }>(`SELECT v FROM n`);
      expect(rows[0]?.v).toBe('12');
    });
  });
}

describe('embedded PGlite in its own thread', () => {
  it('leaves the caller’s thread free while a query runs', async () => {
    const db = await PgliteThreadClient.create('memory://');
    try {
      const order: string[] = [];
      const slow = db.query('SELECT pg_sleep(1)').then(() => order.push('query'));
      // In the caller's thread PGlite would hold the event loop for the whole second.
      await new Promise((r) => setTimeout(r, 5));
      order.push('timer');
      await slow;
      expect(order).toEqual(['timer', 'query']);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('fails every call as unavailable once its thread is gone, and says so once', async () => {
    const lost: Error[] = [];
    const db = await PgliteThreadClient.create('memory://', { onStopped: (e) => lost.push(e) });
    await (db as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await vi.waitFor(() => expect(lost).toHaveLength(1));
    expect(lost[0]?.message).toMatch(/thread stopped \(exit code 1\).*PGlite is closed/);
    const err = await db.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: expect.stringMatching(/thread stopped.*PGlite is closed/),
    });
    expect(isUnavailable(err)).toBe(true);
    expect(toStorageError(err, 'reading').code).toBe('DB_UNAVAILABLE');
    const tx = await db.transaction(async () => 'never').catch((e: unknown) => e);
    expect(isUnavailable(tx)).toBe(true);
    await db.close();
    expect(lost).toHaveLength(1);
  }, 60_000);

  it('does not report a thread ended by close() as lost', async () => {
    const lost: Error[] = [];
    const db = await PgliteThreadClient.create('memory://', { onStopped: (e) => lost.push(e) });
    await db.query('SELECT 1');
    await db.close();
    // close() awaited terminate(), which resolves once the exit event has been emitted.
    expect(lost).toEqual([]);
    await expect(db.query('SELECT 1')).rejects.toThrow(/PGlite is closed/);
  }, 60_000);

  it('a rater whose database thread stops logs it as fatal, calls onFatal, and turns unready', async () => {
    const logged: Array<{ level: number; msg: string }> = [];
    const logger = pino(
      { level: 'fatal' },
      {
        write: (line: string) =>
          void logged.push(JSON.parse(line) as { level: number; msg: string }),
      },
    );
    const fatal: Error[] = [];
    const config = loadRaterConfig({
      env: {},
      flags: { db: 'embedded:memory', grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0' },
    });
    const rater = await new Rater(config, { logger, onFatal: (e) => fatal.push(e) }).start();
    try {
      const ready = () => fetch(`http://127.0.0.1:${rater.httpPort}/readyz`).then((r) => r.status);
      expect(await ready()).toBe(200);
      const sql = (rater as unknown as { store: { sql: unknown } }).store.sql;
      await (sql as { worker: { terminate(): Promise<number> } }).worker.terminate();
      await vi.waitFor(() => expect(fatal).toHaveLength(1));
      expect(fatal[0]?.message).toMatch(/embedded database thread stopped/);
      expect(logged).toEqual([
        expect.objectContaining({
          level: 60,
          msg: expect.stringMatching(/embedded database stopped/),
        }),
      ]);
      expect(await ready()).toBe(503);
    } finally {
      await rater.close();
    }
  }, 60_000);

  it('the CLI stops once and exits 1 on a fatal error (what `edgemeter rater` does with onFatal), 0 on SIGTERM', async () => {
    // The rater command wires onFatal to the function onShutdown returns (cli/main.ts).
    const options = fileURLToPath(new URL('../cli/options.ts', import.meta.url));
    const program = (trigger: string) => `
      const { onShutdown } = await import(${JSON.stringify(options)});
      let stops = 0;
      const shutdown = onShutdown(async () => { stops++; console.log('stopped', stops); });
      setInterval(() => {}, 1000); // a server would keep the process up
      ${trigger}`;
    const run = (trigger: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', program(trigger)],
          { timeout: 60_000 },
          (_err, stdout) => resolve({ code: child.exitCode, out: stdout.trim() }),
        );
      });
    // Called twice (a second failure while stopping): one stop, exit code 1.
    expect(await run(`shutdown('thread stopped', 1); shutdown('again', 1);`)).toEqual({
      code: 1,
      out: 'stopped 1',
    });
    expect(await run(`process.kill(process.pid, 'SIGTERM');`)).toEqual({
      code: 0,
      out: 'stopped 1',
    });
  }, 60_000);

  it('does not keep a process alive when it is idle', async () => {
    // A program that opens the database, queries, and ends without close(): it must exit.
    const client = fileURLToPath(new URL('../rater/storage/pglite-thread.ts', import.meta.url));
    const script = `
      const { PgliteThreadClient } = await import(${JSON.stringify(client)});
      const db = await PgliteThreadClient.create('memory://');
      const { rows } = await db.query('SELECT 41 + 1 AS n');
      console.log(rows[0].n);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 60_000 },
    );
    expect(stdout.trim()).toBe('42');
  }, 90_000);
});
