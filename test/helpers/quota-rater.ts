// The rater's quota side over a real database: a catalog with a quota plan, the real ingest
// service feeding a QuotaTracker (as rater.ts wires it), a clock the test moves, and readers for
// the crossing, delivery and change-log tables.
import { silentLogger } from '../../common/logger.ts';
import type { DeviceQuotaStatus } from '../../common/quota.ts';
import type { UsageRecordMsg } from '../../proto/index.ts';
import { IngestService } from '../../rater/ingest/service.ts';
import { RaterMetrics } from '../../rater/metrics.ts';
import { QuotaTracker } from '../../rater/quota/tracker.ts';
import { parsePlan } from '../../rater/rating/plan.ts';
import { SqlAlertStore } from '../../rater/storage/alert-store.ts';
import { SqlCatalogStore } from '../../rater/storage/catalog-store.ts';
import { openStore } from '../../rater/storage/open.ts';
import type { SqlUsageStore } from '../../rater/storage/usage-store.ts';

/** "Now" of the quota tests: 20 November 2026, noon UTC (the period is November). */
export const QNOW = Date.parse('2026-11-20T12:00:00Z');

/**
 * cap: 1 MB (decimal) of total per device per month; usage on apn=free is zero-rated up to
 * 100 KB; warning at 50 %, throttled (64 kbps) at 80 %, blocked at 100 %.
 * pool: 3 MB of up per account per month, pooled; blocked at 100 %.
 * hourly: 500 KB of down in a rolling hour, notify at 100 %.
 */
export const QUOTA_PLAN = `
plan: q1
currency: EUR
effective_from: '2026-01-01'
charges:
  - { id: data, type: usage, meter: total, unit: MB, pricing: { model: per_unit, price: '0.01' } }
quotas:
  - id: cap
    meter: total
    limit: 1 MB
    window: period
    zero_rated: { dims: { apn: free }, allowance: 100 KB }
    thresholds:
      - { at: 50%, action: notify }
      - { at: 80%, action: throttle, rate: 64 kbps }
      - { at: 100%, action: block }
  - id: pool
    scope: account
    meter: up
    limit: 3 MB
    window: period
    thresholds:
      - { at: 100%, action: block }
  - id: hourly
    meter: down
    limit: 500 KB
    window: 1h
    thresholds:
      - { at: 100%, action: notify }
bill_alerts:
  - projected_total_over: '0.05'
`;

export interface QuotaRig {
  store: SqlUsageStore;
  catalog: SqlCatalogStore;
  alerts: SqlAlertStore;
  tracker: QuotaTracker;
  ingest: IngestService;
  clock: { now: number };
  /** Ingests one batch through the ingest service (which tells the tracker), then evaluates. */
  send(batchId: string, records: Array<Partial<UsageRecordMsg>>): Promise<void>;
  /** A second tracker on the same database (a restarted or another rater). */
  newTracker(): QuotaTracker;
  close(): Promise<void>;
}

export async function quotaRig(url: string, opts: { seed?: boolean } = {}): Promise<QuotaRig> {
  const store = await openStore(url, { poolSize: 6 });
  await store.migrate();
  const catalog = new SqlCatalogStore(store.sql);
  const alerts = new SqlAlertStore(store.sql);
  const clock = { now: QNOW };
  const newTracker = () =>
    new QuotaTracker(
      { sql: store.sql, catalog, logger: silentLogger(), now: () => clock.now },
      { evalIntervalMs: 50, sweepIntervalMs: 60_000, rulesTtlMs: 0 },
    );
  const tracker = newTracker();
  const ingest = new IngestService({
    store,
    metrics: new RaterMetrics({ processMetrics: false }),
    logger: silentLogger(),
    maxBatchRecords: 1000,
    onCommitted: tracker.onCommitted,
  });
  if (opts.seed !== false) {
    await catalog.putPlan(parsePlan(QUOTA_PLAN), QNOW);
    await catalog.putAccount({ id: 'acme', currency: 'EUR', timeZone: 'UTC', planId: 'q1' }, QNOW);
    for (const d of ['d1', 'd2', 'd3']) await catalog.putDevice({ id: d, accountId: 'acme' }, QNOW);
  }
  return {
    store,
    catalog,
    alerts,
    tracker,
    ingest,
    clock,
    newTracker,
    async send(batchId, records) {
      await ingest.ingest({
        collectorId: 'gw1',
        batchId,
        records: records.map((r, i) => ({
          seq: i,
          boot: batchId,
          endMs: clock.now - 60_000,
          receivedMs: clock.now - 60_000,
          up: 0,
          down: 0,
          ...r,
        })) as UsageRecordMsg[],
      });
      await tracker.flush();
    },
    async close() {
      await tracker.stop();
      await store.close();
    },
  };
}

export async function crossings(
  store: SqlUsageStore,
): Promise<Array<{ rule_key: string; subject: string; level: number }>> {
  const { rows } = await store.sql.query<{ rule_key: string; subject: string; level: number }>(
    `SELECT rule_key, subject, level FROM quota_crossings ORDER BY rule_key, subject, level`,
  );
  return rows;
}

export async function changes(
  store: SqlUsageStore,
  deviceId: string,
): Promise<DeviceQuotaStatus[]> {
  const { rows } = await store.sql.query<{ seq: string; status: DeviceQuotaStatus }>(
    `SELECT seq::text AS seq, status FROM quota_changes WHERE device_id = $1 ORDER BY quota_changes.seq`,
    [deviceId],
  );
  return rows.map((r) => ({ ...r.status, seq: r.seq }));
}

export async function deliveryCount(store: SqlUsageStore): Promise<number> {
  const { rows } = await store.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM alert_deliveries`,
  );
  return rows[0]?.n ?? 0;
}
