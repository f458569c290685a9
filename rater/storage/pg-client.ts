// SqlClient over a PostgreSQL (or TimescaleDB) server through a `pg.Pool`.
import pg from 'pg';
import { parse as parseArray } from 'postgres-array';
import {
  copyStatement,
  type CopyIn,
  type PoolState,
  type QueryResult,
  type SqlClient,
  type StorageLogger,
} from './sql.ts';
import { isUnavailable } from './errors.ts';

export interface PgClientOptions {
  /** Pool size; each rater replica holds at most this many connections. Default 10. */
  poolSize?: number;
  /** How long to wait for a free connection or a new one. Default 10 s. */
  connectTimeoutMs?: number;
  logger?: StorageLogger;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

const NUMERIC_ARRAY = 1231;

/**
 * pg's parsers, except numeric[]: pg makes its elements floating-point numbers, which would lose
 * money's digits; they stay strings, as numeric does (sql.ts, value conventions).
 */
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === NUMERIC_ARRAY && format !== 'binary'
      ? (value: string) => parseArray(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

async function run<T>(c: Queryable, text: string, params?: unknown[]): Promise<QueryResult<T>> {
  const res = await c.query(text, params);
  return { rows: res.rows as T[] };
}

// What COPY needs of pg's connection (not in @types/pg; pg-copy-streams uses the same methods).
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * Every COPY in one simple-protocol message, their data sent right behind it: one round trip.
 * The server reads each COPY's data in order; after an error it discards the rest of the message
 * and ignores the CopyData that follows (PostgreSQL protocol, "COPY Operations").
 */
class CopyFromStdin implements pg.Submittable {
  private error: unknown;

  constructor(
    private readonly copies: readonly CopyIn[],
    private readonly resolve: () => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  submit(connection: pg.Connection): void {
    const c = connection as unknown as CopyConnection;
    c.query(this.copies.map((x) => copyStatement(x, 'STDIN')).join(';\n'));
    for (const x of this.copies) {
      c.sendCopyFromChunk(typeof x.data === 'string' ? Buffer.from(x.data, 'utf8') : x.data);
      c.endCopyFrom();
    }
  }

  // The data went out with the query.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}

  // As pg's own Query: settle on the error at once; the connection takes its next query after
  // ReadyForQuery (or is discarded when it ended).
  handleError(err: unknown): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.error === undefined) this.resolve();
  }
}

// A client bound to one connection inside BEGIN … COMMIT.
class PgTxClient implements SqlClient {
  constructor(private readonly conn: pg.PoolClient) {}
  query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    return run<T>(this.conn, text, params);
  }
  async exec(text: string): Promise<void> {
    await this.conn.query(text); // no parameters: simple protocol, several statements allowed
  }
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
  copyFrom(copies: readonly CopyIn[]): Promise<void> {
    return new Promise((resolve, reject) => {
      void this.conn.query(new CopyFromStdin(copies, resolve, reject));
    });
  }
  async close(): Promise<void> {}
}

export class PgSqlClient implements SqlClient {
  private readonly pool: pg.Pool;
  private readonly max: number;
  private closed = false;

  constructor(connectionString: string, opts: PgClientOptions = {}) {
    this.max = opts.poolSize ?? 10;
    this.pool = new pg.Pool({
      connectionString,
      max: this.max,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'edgemeter-rater',
      types: typeParsers,
    });
    // An idle pooled connection that the server closes (restart, failover, pg_terminate_backend)
    // emits 'error' on the pool; without a listener Node would crash the whole rater.
    this.pool.on('error', (err) => {
      opts.logger?.warn({ err: err.message }, 'idle PostgreSQL connection failed; it is discarded');
    });
    // A connection reset while a client is checked out (inside a transaction) emits 'error' on
    // that client, where the pool's idle listener is not attached: the query in flight fails
    // on its own (the batch is answered UNAVAILABLE); the event must not crash the process.
    this.pool.on('connect', (client) => {
      client.on('error', (err) => {
        opts.logger?.warn({ err: err.message }, 'PostgreSQL connection failed while in use');
      });
    });
  }

  query<T>(text: string, params?: unknown[]): Promise<QueryResult<T>> {
    return run<T>(this.pool, text, params);
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  spareConnections(): number {
    return this.pool.idleCount + this.max - this.pool.totalCount;
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const conn = await this.pool.connect();
    let broken = false;
    try {
      await conn.query('BEGIN');
      const out = await fn(new PgTxClient(conn));
      await conn.query('COMMIT');
      return out;
    } catch (e) {
      broken = isUnavailable(e);
      if (!broken) {
        // The ROLLBACK can itself fail when the connection died; the original error matters.
        await conn.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw e;
    } finally {
      // A connection in an unknown state must not go back to the pool.
      conn.release(broken);
    }
  }

  poolState(): PoolState {
    const p = this.pool;
    return { max: this.max, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
