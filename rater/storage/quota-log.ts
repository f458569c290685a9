// The quota change log (migration 006) on PostgreSQL and PGlite. Appends hold a
// transaction-scoped advisory lock from before the first seq is drawn until COMMIT, so seq order
// is commit order: a reader that has seen seq N can never later find a committed row below N.
import type { DeviceQuotaStatus } from '../../common/quota.ts';
import type { QuotaChange, QuotaLog } from '../quota/log.ts';
import { toStorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

/** Advisory lock key for quota log appends (any fixed int8 other than the migration lock). */
export const QUOTA_LOG_LOCK_KEY = 7_246_165_237_019_006;

// Selected as text (int8 must not become a lossy number); ORDER BY therefore names the table's
// column, not the text alias, or 10 would sort before 9.
interface Row {
  seq: string;
  device_id: string;
  status: Omit<DeviceQuotaStatus, 'seq'>;
}

const toChange = (r: Row): QuotaChange => ({
  seq: BigInt(r.seq),
  deviceId: r.device_id,
  status: { ...r.status, deviceId: r.device_id, seq: r.seq },
});

export class SqlQuotaLog implements QuotaLog {
  private readonly listeners = new Set<() => void>();

  /**
   * `sql` may be a transaction client: the append then joins that transaction (and its lock is
   * held until the caller commits). Listeners are told after `append` returns; for a joined
   * transaction that is before the commit, so readers must still poll to be sure.
   */
  constructor(private readonly sql: SqlClient) {}

  async append(statuses: Array<Omit<DeviceQuotaStatus, 'seq'>>): Promise<QuotaChange[]> {
    if (statuses.length === 0) return [];
    let out: QuotaChange[];
    try {
      out = await this.sql.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${QUOTA_LOG_LOCK_KEY}::int8)`);
        const rows: QuotaChange[] = [];
        for (const s of statuses) {
          // The seq lives in its column only; a stale one in the payload must not survive.
          const status: Partial<DeviceQuotaStatus> = { ...s };
          delete status.seq;
          const r = await tx.query<Row>(
            `INSERT INTO quota_changes (device_id, status) VALUES ($1, $2::json)
             RETURNING seq::text AS seq, device_id, status`,
            [s.deviceId, JSON.stringify(status)],
          );
          if (r.rows[0]) rows.push(toChange(r.rows[0]));
        }
        return rows;
      });
    } catch (e) {
      throw toStorageError(e, 'appending quota changes');
    }
    for (const l of this.listeners) l();
    return out;
  }

  async after(after: bigint, limit: number): Promise<QuotaChange[]> {
    try {
      const { rows } = await this.sql.query<Row>(
        `SELECT seq::text AS seq, device_id, status FROM quota_changes
         WHERE seq > $1::int8 ORDER BY quota_changes.seq LIMIT $2`,
        [after.toString(), limit],
      );
      return rows.map(toChange);
    } catch (e) {
      throw toStorageError(e, 'reading quota changes');
    }
  }

  async latest(afterDevice: string | undefined, limit: number): Promise<QuotaChange[]> {
    try {
      const { rows } = await this.sql.query<Row>(
        `SELECT DISTINCT ON (device_id) seq::text AS seq, device_id, status FROM quota_changes
         WHERE $1::text IS NULL OR device_id > $1::text
         ORDER BY device_id, quota_changes.seq DESC LIMIT $2`,
        [afterDevice ?? null, limit],
      );
      return rows.map(toChange);
    } catch (e) {
      throw toStorageError(e, 'reading the latest quota statuses');
    }
  }

  async head(): Promise<bigint> {
    try {
      const { rows } = await this.sql.query<{ head: string }>(
        `SELECT coalesce(max(seq), 0)::text AS head FROM quota_changes`,
      );
      return BigInt(rows[0]?.head ?? '0');
    } catch (e) {
      throw toStorageError(e, 'reading the quota log head');
    }
  }

  /** Calls `fn` after each append made through this object; returns the unsubscribe. */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
