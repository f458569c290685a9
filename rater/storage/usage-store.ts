// The UsageStore over any SqlClient: PostgreSQL/TimescaleDB through `pg`, or embedded PGlite.
import type {
  ConflictRow,
  IngestBatchInput,
  IngestOutcome,
  SkewedQuery,
  SkewedRecordRow,
  UsageBucket,
  UsageQuery,
  UsageStep,
  UsageStore,
} from './store.ts';
import { silentLogger, type Capabilities, type SqlClient, type StorageLogger } from './sql.ts';
import { StorageError, isRetryable, toStorageError } from './errors.ts';
import { appliedVersion, runMigrations } from './migrate.ts';
import { LATEST_VERSION } from './migrations/index.ts';
import { ingestPlan, planIngest } from './ingest.ts';
import { parseMetersText } from './meters-text.ts';

/** Transactions retried after a deadlock or serialization failure (rolled back, so harmless). */
const MAX_ATTEMPTS = 3;

// Output bucket per step, from the 5-minute rollups ($4 is the IANA time zone), and how far
// past `toMs` a rollup bucket may lie and still belong to an output bucket starting before it
// (a day is up to 25 hours long across a DST change).
const STEP_SQL: Record<UsageStep, { expr: string; margin: string; tz: boolean }> = {
  '5m': { expr: 'bucket', margin: '0 seconds', tz: false },
  '1h': { expr: `date_trunc('hour', bucket, $4::text)`, margin: '1 hour', tz: true },
  '1d': { expr: `date_trunc('day', bucket, $4::text)`, margin: '26 hours', tz: true },
};

function seriesSql(step: UsageStep): string {
  const { expr, margin } = STEP_SQL[step];
  return `
    WITH src AS (
      SELECT ${expr} AS start, up, down, records, meters
      FROM usage_5m
      WHERE device_id = $1
        AND bucket >= $2::timestamptz AND bucket < $3::timestamptz + interval '${margin}'
    ), win AS (
      SELECT * FROM src WHERE start >= $2::timestamptz AND start < $3::timestamptz
    ), tot AS (
      SELECT start, sum(up) AS up, sum(down) AS down, sum(records) AS records
      FROM win GROUP BY start
    ), met AS (
      SELECT start, jsonb_object_agg(key, trim_scale(total)::text) AS meters
      FROM (SELECT win.start, m.key, sum(m.value::numeric) AS total
            FROM win, jsonb_each(win.meters) AS m GROUP BY win.start, m.key) AS x
      GROUP BY start
    )
    SELECT (extract(epoch FROM tot.start) * 1000)::int8::text AS start_ms,
           tot.up::text AS up, tot.down::text AS down, tot.records::text AS records,
           coalesce(met.meters, '{}'::jsonb) AS meters
    FROM tot LEFT JOIN met USING (start)
    ORDER BY tot.start`;
}

/**
 * Only IANA zone names (Europe/Paris, UTC, Etc/GMT+3): PostgreSQL also accepts POSIX strings
 * such as '+03:00' or 'UTC+3', whose sign is inverted relative to ISO 8601, a silent trap.
 */
export function checkTimeZone(tz: string): void {
  let ok = /^[A-Za-z][A-Za-z_]*(\/[A-Za-z0-9_+-]+)*$/.test(tz);
  if (ok) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new StorageError('INVALID_ARGUMENT', `unknown time zone ${JSON.stringify(tz)}`);
}

/** An integer from the database as a JS number, refusing to round. */
function safeInt(text: string, what: string): number {
  const n = BigInt(text);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new StorageError('OUT_OF_RANGE', `${what} ${text} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return Number(n);
}

export class SqlUsageStore implements UsageStore {
  /**
   * `sql` is public so that other rater tables (plans, accounts) share this connection pool;
   * with embedded PGlite there can be only one database instance per directory anyway.
   */
  constructor(
    readonly sql: SqlClient,
    readonly capabilities: Capabilities,
    private readonly logger: StorageLogger = silentLogger,
  ) {}

  async migrate(): Promise<void> {
    try {
      await runMigrations(this.sql, this.capabilities, this.logger);
    } catch (e) {
      throw toStorageError(e, 'migrating the database');
    }
  }

  /** Records must already have passed checkUsageRecord (rater/ingest/service.ts does it). */
  async ingest(batch: IngestBatchInput): Promise<IngestOutcome> {
    const plan = planIngest(batch);
    for (let attempt = 1; ; attempt++) {
      try {
        return await ingestPlan(this.sql, plan);
      } catch (e) {
        if (attempt < MAX_ATTEMPTS && isRetryable(e)) {
          this.logger.warn({ attempt, batchId: batch.batchId }, 'ingest transaction retried');
          continue;
        }
        throw toStorageError(e, `ingesting batch ${batch.batchId}`);
      }
    }
  }

  async usageSeries(q: UsageQuery): Promise<UsageBucket[]> {
    const step = STEP_SQL[q.step];
    if (!step) throw new StorageError('INVALID_ARGUMENT', `unknown step ${String(q.step)}`);
    if (!Number.isFinite(q.fromMs) || !Number.isFinite(q.toMs)) {
      throw new StorageError('INVALID_ARGUMENT', 'fromMs and toMs must be finite times');
    }
    if (q.toMs <= q.fromMs) return [];
    const params: unknown[] = [
      q.deviceId,
      new Date(q.fromMs).toISOString(),
      new Date(q.toMs).toISOString(),
    ];
    if (step.tz) {
      const tz = q.timeZone ?? 'UTC';
      checkTimeZone(tz);
      params.push(tz);
    }
    let rows: {
      start_ms: string;
      up: string;
      down: string;
      records: string;
      meters: Record<string, string>;
    }[];
    try {
      rows = (await this.sql.query<(typeof rows)[number]>(seriesSql(q.step), params)).rows;
    } catch (e) {
      if ((e as { code?: unknown }).code === '22023') {
        throw new StorageError('INVALID_ARGUMENT', `unknown time zone ${q.timeZone}`, { cause: e });
      }
      throw toStorageError(e, 'reading usage');
    }
    return rows.map((r) => ({
      startMs: safeInt(r.start_ms, 'bucket start'),
      up: safeInt(r.up, 'up bytes'),
      down: safeInt(r.down, 'down bytes'),
      records: safeInt(r.records, 'record count'),
      meters: r.meters,
    }));
  }

  /** Most recent first; at most `limit` (1…10000, default 100). */
  async listConflicts(deviceId?: string, limit = 100): Promise<ConflictRow[]> {
    const n = Math.min(Math.max(Math.trunc(limit) || 1, 1), 10_000);
    try {
      const { rows } = await this.sql.query<{
        device_id: string;
        record_key: string;
        collector_id: string;
        batch_id: string;
        detected_ms: string;
        existing_hash: string;
        incoming_hash: string;
        incoming: unknown;
      }>(
        `SELECT device_id, record_key, collector_id, batch_id, existing_hash, incoming_hash,
                incoming, (extract(epoch FROM detected_at) * 1000)::int8::text AS detected_ms
         FROM usage_conflicts
         WHERE $1::text IS NULL OR device_id = $1::text
         ORDER BY id DESC LIMIT $2::int`,
        [deviceId ?? null, n],
      );
      return rows.map((r) => ({
        deviceId: r.device_id,
        key: r.record_key,
        collectorId: r.collector_id,
        batchId: r.batch_id,
        detectedAtMs: safeInt(r.detected_ms, 'detection time'),
        existingHash: r.existing_hash,
        incomingHash: r.incoming_hash,
        incoming: r.incoming,
      }));
    } catch (e) {
      throw toStorageError(e, 'listing conflicts');
    }
  }

  async listSkewed(q: SkewedQuery): Promise<SkewedRecordRow[]> {
    const n = Math.min(Math.max(Math.trunc(q.limit) || 1, 1), 10_000);
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    try {
      const { rows } = await this.sql.query<{
        record_key: string;
        ts_ms: string;
        start_ms: string | null;
        received_ms: string;
        skew_ms: string;
        up: string;
        down: string;
        meters: string;
        dims: Record<string, string>;
        collector_id: string;
        batch_id: string;
      }>(
        `SELECT record_key,
                (extract(epoch FROM ts) * 1000)::int8::text AS ts_ms,
                (extract(epoch FROM start_ts) * 1000)::int8::text AS start_ms,
                (extract(epoch FROM received_at) * 1000)::int8::text AS received_ms,
                clock_skew_ms::text AS skew_ms, up::text AS up, down::text AS down,
                meters::text AS meters, dims, collector_id, batch_id
         FROM usage_records
         WHERE device_id = $1::text
           AND (clock_skew_ms > $2::int8 OR clock_skew_ms < -$2::int8)
           AND ($3::timestamptz IS NULL OR ts >= $3::timestamptz)
           AND ($4::timestamptz IS NULL OR ts < $4::timestamptz)
         ORDER BY ts, record_key
         LIMIT $5::int`,
        [q.deviceId, String(q.toleranceMs), iso(q.fromMs), iso(q.toMs), n],
      );
      return rows.map((r) => ({
        key: r.record_key,
        endMs: safeInt(r.ts_ms, 'ts'),
        ...(r.start_ms === null ? {} : { startMs: safeInt(r.start_ms, 'start') }),
        receivedMs: safeInt(r.received_ms, 'receive time'),
        clockSkewMs: safeInt(r.skew_ms, 'clock skew'),
        up: safeInt(r.up, 'up bytes'),
        down: safeInt(r.down, 'down bytes'),
        meters: parseMetersText(r.meters),
        dims: r.dims,
        collectorId: r.collector_id,
        batchId: r.batch_id,
      }));
    } catch (e) {
      throw toStorageError(e, 'listing clock-skewed records');
    }
  }

  async ready(): Promise<void> {
    let v: number | null;
    try {
      v = await appliedVersion(this.sql);
    } catch (e) {
      throw toStorageError(e, 'readiness check');
    }
    // A newer schema is fine: migrations are additive, so an older rater keeps working during
    // a rolling upgrade.
    if (v === null || v < LATEST_VERSION) {
      throw new StorageError(
        'NOT_MIGRATED',
        `database schema is at version ${v ?? 'none (never migrated)'} but this rater needs ` +
          `version ${LATEST_VERSION}: run the migrations (UsageStore.migrate) first`,
      );
    }
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}
