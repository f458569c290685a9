// Shared by the billing API and CLI tests: a sample plan, an API over a real database with a
// fixed clock, and usage records to ingest.
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../common/logger.ts';
import { buildApi, type ApiDeps } from '../../rater/api/server.ts';
import { RaterMetrics } from '../../rater/metrics.ts';
import { SqlCatalogStore } from '../../rater/storage/catalog-store.ts';
import { SqlAuditLog } from '../../rater/storage/audit.ts';
import { SqlInvoiceStore } from '../../rater/storage/invoice-store.ts';
import { openStore } from '../../rater/storage/open.ts';
import type { SqlUsageStore } from '../../rater/storage/usage-store.ts';
import type { StoredRecordInput, UsageStore } from '../../rater/storage/store.ts';
import { rec } from './db.ts';

/** "Now" in the billing tests: January and February 2026 are closed, March is open. */
export const NOW = Date.parse('2026-03-10T12:00:00Z');

/**
 * Data volume on graduated tiers (the first GB at 2.00, the rest at 1.00), a 95th-percentile
 * peak charge at 0.50 per Mbps, and a fee of 1.00 per active device.
 */
export function samplePlanYaml(
  id = 'iot-basic',
  over: { effectiveFrom?: string; firstGb?: string } = {},
): string {
  return `# A sample plan: volume, peak and a fixed fee
plan: ${id}
name: IoT basic
currency: EUR
effective_from: ${over.effectiveFrom ?? '2026-01-01'}
charges:
  - id: data
    type: usage
    meter: total
    unit: GB
    pricing:
      model: graduated
      tiers:
        - { up_to: 1, price: "${over.firstGb ?? '2.00'}" }
        - { price: "1.00" }
  - id: peak95
    type: peak
    method: percentile
    percentile: 95
    direction: max
    unit: Mbps
    pricing: { model: per_unit, price: "0.50" }
  - id: device-fee
    type: fixed
    per: device
    amount: "1.00"
`;
}

export interface TestApi {
  app: FastifyInstance;
  store: SqlUsageStore;
  close(): Promise<void>;
}

/**
 * The rater's HTTP API over a migrated store at `url`, with the clock fixed at `now`; `extra`
 * adds or replaces dependencies (keys, limits, a logger that captures).
 */
export async function startApi(
  url: string,
  now = NOW,
  extra: Partial<ApiDeps> = {},
): Promise<TestApi> {
  const store = await openStore(url, { poolSize: 4 });
  await store.migrate();
  const app = buildApi({
    store,
    catalog: new SqlCatalogStore(store.sql),
    invoices: new SqlInvoiceStore(store.sql),
    audit: new SqlAuditLog(store.sql),
    metrics: new RaterMetrics({ processMetrics: false }),
    logger: silentLogger(),
    now: () => now,
    ...extra,
  });
  await app.ready();
  return {
    app,
    store,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

let batchNo = 0;

/**
 * `count` records of `deviceId`, one every 5 minutes from `startIso`, each with `up` and `down`
 * bytes, ingested in one batch.
 */
export async function ingestEvery5m(
  store: UsageStore,
  deviceId: string,
  startIso: string,
  count: number,
  up: number,
  down: number,
  firstSeq = 1,
): Promise<void> {
  const start = Date.parse(startIso);
  const records: StoredRecordInput[] = [];
  for (let i = 0; i < count; i++)
    records.push(
      rec(deviceId, firstSeq + i, {
        startMs: start + i * 300_000,
        endMs: start + (i + 1) * 300_000,
        up,
        down,
        receivedMs: start + (i + 1) * 300_000,
      }),
    );
  await store.ingest({ collectorId: 'test-gw', batchId: `bill-${++batchNo}`, records });
}
