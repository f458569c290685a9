// The one seam between the store and a database driver. The store and the migrations speak
// only this interface, so the PostgreSQL server (`pg`) and embedded PGlite run the very same SQL.
//
// Value conventions every implementation keeps, so store code never depends on the driver:
// - int8 (bigint) columns arrive as decimal strings (never a lossy JS number); the store
//   converts them itself, and most aggregates are selected as `::text` anyway;
// - numeric arrives as a string, timestamptz as a Date, json/jsonb parsed, int4 as a number;
// - arrays arrive as JS arrays of those, NULL elements as null;
// - array parameters (`$1::text[]`) are passed as JS arrays; `null` elements become SQL NULL.

export interface QueryResult<T> {
  rows: T[];
}

/** One `COPY target FROM STDIN` in text format: `data` is its rows, each ending in a newline. */
export interface CopyIn {
  /** `table (column, …)`: no parameters, never built from input. */
  target: string;
  /** Text format (escaped as COPY's text format requires), or binary format (copy-binary.ts). */
  data: string | Buffer;
}

/** The COPY statement for `c`, reading from `source` (STDIN, or PGlite's '/dev/blob'). */
export function copyStatement(c: CopyIn, source: string): string {
  return `COPY ${c.target} FROM ${source}${typeof c.data === 'string' ? '' : ' WITH (FORMAT binary)'}`;
}

/** One statement with its parameters. */
export interface Statement {
  text: string;
  params?: unknown[];
}

export interface SqlClient {
  /** One statement with `$n` parameters. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Several `;`-separated statements, no parameters (used by migrations). */
  exec(text: string): Promise<void>;
  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection; ROLLBACK when `fn` throws. Calling
   * `transaction` on the `tx` client joins the enclosing transaction (no savepoint).
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction (`tx` clients of both drivers): each COPY in order. Stops at the first
   * error, which it rejects with; the caller's transaction is then aborted as after any failed
   * statement.
   */
  copyFrom?(copies: readonly CopyIn[]): Promise<void>;
  /**
   * COPYs `copies` in order, then runs `statements`, in one transaction of their own, and
   * commits; rejects with the first failure, everything rolled back. Drivers with a faster way
   * to send them all at once have it (embedded PGlite on its thread: one message, no wait for
   * the caller's thread in between); `atomic()` below falls back to `transaction`.
   */
  atomic?(copies: readonly CopyIn[], statements: readonly Statement[]): Promise<void>;
  /**
   * Transactions that could start right now without waiting for a connection (idle ones, and
   * ones the pool may still open). Absent on single-connection drivers, where a second
   * transaction would wait for the first to end.
   */
  spareConnections?(): number;
  /** Releases the connection pool / embedded database. Idempotent. */
  close(): Promise<void>;
  /** The connection pool right now, for metrics; absent for a driver without a pool (PGlite). */
  poolState?(): PoolState;
}

export interface PoolState {
  /** The most connections the pool opens. */
  max: number;
  /** Open connections, and those of them idle. */
  total: number;
  idle: number;
  /** Queries and transactions waiting for a connection. */
  waiting: number;
}

export type Driver = 'pg' | 'pglite';

export interface Capabilities {
  timescale: boolean;
  driver: Driver;
}

/** The subset of a pino logger the storage layer uses. */
export interface StorageLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: StorageLogger = { info: () => {}, warn: () => {} };

/** `sql.atomic(…)`, or the same in a transaction of `sql` where the driver has no faster way. */
export function atomic(
  sql: SqlClient,
  copies: readonly CopyIn[],
  statements: readonly Statement[],
): Promise<void> {
  if (sql.atomic) return sql.atomic(copies, statements);
  return sql.transaction(async (tx) => {
    if (copies.length > 0 && !tx.copyFrom) throw new Error('this database client cannot COPY');
    // Everything is sent before anything is awaited: both drivers run a transaction's
    // statements in the order sent, and a statement behind a failed one fails too (25P02).
    const steps = [
      ...(copies.length > 0 && tx.copyFrom ? [tx.copyFrom(copies)] : []),
      ...statements.map((s) => tx.query(s.text, s.params)),
    ];
    await allInOrder(steps);
  });
}

/**
 * Waits for statements sent together in one transaction; rejects with the first failure in
 * the order sent: the cause, where the ones after it failed only because it did (25P02).
 */
export async function allInOrder(steps: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
