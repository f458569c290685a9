// The rating input of the SQL catalog (catalog-store.ts): what the rating engine needs for an
// account and a period, read from one snapshot, on up to `readers` connections at once (the
// account's devices shared out between them; see loadRatingInput in catalog-sql.ts).
import type { BillingPeriod, RatingInput } from '../rating/types.ts';
import { loadRatingInput } from './catalog-sql.ts';
import { invalid, readTx } from './catalog-tx.ts';
import { StorageError } from './errors.ts';
import type { Reader } from './rating-cells.ts';
import type { SummaryPlan } from './rating-summary.ts';
import type { SqlClient } from './sql.ts';

export async function ratingInput(
  sql: SqlClient,
  readers: number,
  accountId: string,
  period: BillingPeriod,
  asOfMs: number | undefined,
  opts: { rows?: boolean; plan?: SummaryPlan },
): Promise<RatingInput> {
  if (!Number.isFinite(period.startMs) || !(period.endMs > period.startMs))
    invalid(`period ${period.label} must have finite startMs < endMs`);
  if (asOfMs !== undefined && !Number.isFinite(asOfMs)) invalid('asOfMs must be a finite time');
  const input = await readTx(sql, `loading account ${accountId} for ${period.label}`, async (tx) =>
    loadRatingInput(tx, accountId, period, asOfMs, {
      ...opts,
      readers: [(fn) => fn(tx), ...(await moreReaders(sql, readers, tx))],
    }),
  );
  if (!input) throw new StorageError('NOT_FOUND', `unknown account ${accountId}`);
  return input;
}

/**
 * Up to `readers − 1` more transactions on the snapshot of `tx` (exported, then imported by
 * each), as functions running a callback in one. Only as many as the pool has spare right
 * now, so a busy rater reads on one connection rather than wait for a second.
 */
async function moreReaders(sql: SqlClient, readers: number, tx: SqlClient): Promise<Reader[]> {
  const spare = Math.min(readers - 1, sql.spareConnections?.() ?? 0);
  if (spare <= 0) return [];
  const { rows } = await tx.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
  const id = rows[0]?.id ?? '';
  // SET TRANSACTION SNAPSHOT takes no parameter; the id is checked before it is quoted.
  if (!/^[0-9A-F-]+$/i.test(id)) throw new Error(`unexpected snapshot id ${JSON.stringify(id)}`);
  const reader: Reader = (fn) =>
    sql.transaction(async (other) => {
      await other.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await other.query(`SET TRANSACTION SNAPSHOT '${id}'`);
      return fn(other);
    });
  return Array.from({ length: spare }, () => reader);
}
