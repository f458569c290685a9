// How the SQL catalog (catalog-store.ts) runs its statements, and the input checks its write
// paths share. Writes take one transaction-scoped advisory lock, so catalog changes (rare, and
// each checked against the state of several tables) run one at a time and every check sees the
// state it guards; a failed check rolls the whole change back. Reads run on one snapshot.
import { ACCOUNT_ID_RE, DEVICE_ID_RE } from '../../common/ids.ts';
import { PLAN_ID_RE } from '../rating/plan.ts';
import { StorageError, toStorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

/** Advisory lock serialising catalog writes (the migration lock ends in 001). */
export const CATALOG_LOCK_KEY = 7_246_165_237_019_002;

export function invalid(message: string): never {
  throw new StorageError('INVALID_ARGUMENT', message);
}

const ID_RULES = {
  plan: { re: PLAN_ID_RE, max: 64 },
  account: { re: ACCOUNT_ID_RE, max: 128 },
  device: { re: DEVICE_ID_RE, max: 128 },
} as const;

export function checkId(id: unknown, kind: keyof typeof ID_RULES): string {
  const rule = ID_RULES[kind];
  if (typeof id !== 'string' || !rule.re.test(id))
    invalid(
      `${kind} id must be 1-${rule.max} characters of [A-Za-z0-9._:-], not ${JSON.stringify(id)}`,
    );
  return id;
}

export function nextSeq(history: readonly { seq: number }[]): number {
  return history.reduce((m, e) => Math.max(m, e.seq), 0) + 1;
}

/** A transaction that starts with `first`; any error rolls all of it back. */
async function inTx<T>(
  sql: SqlClient,
  what: string,
  first: string,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  try {
    return await sql.transaction(async (tx) => {
      await tx.query(first);
      return fn(tx);
    });
  } catch (e) {
    throw toStorageError(e, what);
  }
}

/** One write transaction holding the catalog lock; any error rolls all of it back. */
export function writeTx<T>(
  sql: SqlClient,
  what: string,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  return inTx(sql, what, `SELECT pg_advisory_xact_lock(${CATALOG_LOCK_KEY}::int8)`, fn);
}

/** Several reads from one snapshot, so they agree with each other under concurrent writes. */
export function readTx<T>(
  sql: SqlClient,
  what: string,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  return inTx(sql, what, 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY', fn);
}
