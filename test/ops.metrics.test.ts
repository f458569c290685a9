// Issue 8, observability: a real collector and a real rater are scraped over HTTP, every metric
// the issue names must be there, and the ones a real publish should move do move: received,
// accepted, rejected, outbox depth and age while the rater is down, forward errors and retries,
// then batches, duplicates and conflicts once it is up.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CollectorMetrics } from '../collector/metrics.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { silentLogger } from '../common/logger.ts';
import { status } from '@grpc/grpc-js';
import { Collector } from '../collector/collector.ts';
import { RaterClient } from '../collector/forward/client.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import { scrape, type Scrape } from './helpers/prom.ts';
import {
  cleanupAfterAll,
  device,
  freePort,
  report,
  tempDir,
  usageTotals,
  waitFor,
} from './helpers/stack.ts';

/** The list, item by item, as metric family names (# TYPE lines). */
const COLLECTOR_METRICS = {
  'records received': 'edgemeter_collector_records_received_total',
  'records accepted': 'edgemeter_collector_records_accepted_total',
  'records rejected by reason': 'edgemeter_collector_records_rejected_total',
  'outbox depth (records)': 'edgemeter_collector_outbox_records',
  'outbox depth (bytes)': 'edgemeter_collector_outbox_bytes',
  'oldest unsent record age': 'edgemeter_collector_outbox_oldest_age_seconds',
  'forward batches': 'edgemeter_collector_forward_batches_total',
  'forward latency': 'edgemeter_collector_forward_batch_seconds',
  'forward retries': 'edgemeter_collector_forward_retries_total',
  'forward errors': 'edgemeter_collector_forward_errors_total',
  'disk free': 'edgemeter_collector_disk_free_bytes',
  'process CPU': 'edgemeter_collector_process_cpu_seconds_total',
  'process memory': 'edgemeter_collector_process_resident_memory_bytes',
  'event loop lag': 'edgemeter_collector_nodejs_eventloop_lag_seconds',
};
const RATER_METRICS = {
  'batches ingested': 'edgemeter_rater_batches_total',
  'records ingested, duplicates, conflicts': 'edgemeter_rater_records_total',
  'rejected by reason': 'edgemeter_rater_rejected_total',
  'transaction latency': 'edgemeter_rater_ingest_transaction_seconds',
  'database pool size': 'edgemeter_rater_db_pool_max',
  'database pool connections': 'edgemeter_rater_db_pool_connections',
  'database pool waiting': 'edgemeter_rater_db_pool_waiting',
  'database driver': 'edgemeter_rater_db_info',
  'process CPU': 'edgemeter_rater_process_cpu_seconds_total',
  'process memory': 'edgemeter_rater_process_resident_memory_bytes',
  'event loop lag': 'edgemeter_rater_nodejs_eventloop_lag_seconds',
};

function missing(families: Set<string>, wanted: Record<string, string>): string[] {
  return Object.entries(wanted)
    .filter(([, name]) => !families.has(name))
    .map(([what, name]) => `${what} (${name})`);
}

async function startRater(db: string, grpcPort: number): Promise<Rater> {
  const config = loadRaterConfig({
    env: {},
    flags: { db, grpcListen: `127.0.0.1:${grpcPort}`, httpListen: '127.0.0.1:0' },
  });
  return new Rater(config, { logger: silentLogger(), processMetrics: true }).start();
}

describe('metrics (/metrics on both programs)', () => {
  const cleanup = cleanupAfterAll();

  it.skipIf(!hasPostgres)(
    'exports every metric the issue names, and they move with real traffic',
    async () => {
      const dir = await tempDir();
      cleanup.push(dir.remove);
      const raterPort = await freePort(); // no rater yet: records wait in the outbox
      const config = loadCollectorConfig({
        env: {},
        flags: {
          collectorId: 'metrics-gw',
          mqttListen: '127.0.0.1:0',
          httpListen: '127.0.0.1:0',
          rater: `127.0.0.1:${raterPort}`,
          bufferDir: dir.path,
          batchLingerMs: 5,
          retryInitialMs: 20,
          retryMaxMs: 200,
        },
      });
      const collector = await new Collector(config, {
        logger: silentLogger(),
        processMetrics: true,
      }).start();
      cleanup.push(() => collector.close());

      const before = await scrape(collector.httpPort);
      expect(missing(before.families, COLLECTOR_METRICS)).toEqual([]);
      expect(before.value('edgemeter_collector_outbox_oldest_age_seconds')).toBe(0);
      expect(before.value('edgemeter_collector_disk_free_bytes')).toBeGreaterThan(0);
      expect(before.value('edgemeter_collector_outbox_max_bytes')).toBe(config.bufferMaxBytes);

      const dev = await device(collector.mqttPort, 'metrics-dev');
      cleanup.push(() => dev.endAsync());
      for (let seq = 1; seq <= 3; seq++)
        await dev.publishAsync('usage/metrics-dev', report(seq, 100, 1000), { qos: 1 });
      await dev.publishAsync('usage/metrics-dev', report(2, 100, 1000), { qos: 1 }); // duplicate
      await dev.publishAsync('usage/metrics-dev', report(3, 999, 1000), { qos: 1 }); // conflict
      await dev.publishAsync('usage/metrics-dev', '{"seq": 4, "up": -1}', { qos: 1 }); // invalid

      // Rater down: the records wait, age, and every attempt counts as an error and a retry.
      const waiting = await waitFor(async () => {
        const s = await scrape(collector.httpPort);
        const retries = s.value('edgemeter_collector_forward_retries_total') ?? 0;
        const age = s.value('edgemeter_collector_outbox_oldest_age_seconds') ?? 0;
        return retries >= 2 && age > 0 ? s : undefined;
      }, 'forward retries while the rater is down');
      expect(waiting.value('edgemeter_collector_records_received_total')).toBe(6);
      expect(waiting.value('edgemeter_collector_records_accepted_total')).toBe(5);
      expect(
        waiting.value('edgemeter_collector_records_rejected_total', { code: 'INVALID_RECORD' }),
      ).toBe(1);
      expect(waiting.value('edgemeter_collector_outbox_records')).toBe(5);
      expect(waiting.value('edgemeter_collector_outbox_bytes')).toBeGreaterThan(0);
      expect(
        waiting.value('edgemeter_collector_forward_errors_total', { code: 'UNAVAILABLE' }),
      ).toBeGreaterThanOrEqual(1);
      expect(waiting.value('edgemeter_collector_forward_batches_total')).toBe(0);

      const db = await freshPostgresDatabase();
      cleanup.push(db.drop);
      const rater = await startRater(db.url, raterPort);
      cleanup.push(() => rater.close());

      // Delivered: the outbox is empty and the rater's verdicts on all 5 records are counted (the
      // outbox drops acknowledged entries a moment before the forwarder counts the verdicts).
      // Delivery is at least once: a batch whose answer was lost is sent again and comes back as
      // duplicates, so only the sum over verdicts is fixed on this side.
      const verdicts = (s: Scrape) =>
        ['accepted', 'duplicate', 'conflict']
          .map((result) => s.value('edgemeter_collector_forwarded_records_total', { result }) ?? 0)
          .reduce((a, b) => a + b);
      const c = await waitFor(async () => {
        const s = await scrape(collector.httpPort);
        return s.value('edgemeter_collector_outbox_records') === 0 && verdicts(s) >= 5
          ? s
          : undefined;
      }, 'the outbox to drain and the verdicts to be counted');
      expect(c.value('edgemeter_collector_outbox_oldest_age_seconds')).toBe(0);
      expect(c.value('edgemeter_collector_forward_batches_total')).toBeGreaterThanOrEqual(1);
      expect(c.value('edgemeter_collector_forward_batch_seconds_count')).toBeGreaterThanOrEqual(1);

      const r = await scrape(rater.httpPort);
      expect(missing(r.families, RATER_METRICS)).toEqual([]);
      expect(r.value('edgemeter_rater_records_total', { result: 'accepted' })).toBe(3);
      // The database decides: exactly 3 new records; the resent and changed ones at least once.
      expect(
        r.value('edgemeter_rater_records_total', { result: 'duplicate' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        r.value('edgemeter_rater_records_total', { result: 'conflict' }),
      ).toBeGreaterThanOrEqual(1);
      expect(r.value('edgemeter_rater_records_total', { result: 'rejected' })).toBe(0);
      expect(r.value('edgemeter_rater_batches_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
      expect(r.value('edgemeter_rater_ingest_transaction_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(r.value('edgemeter_rater_db_info', { driver: 'pg', timescale: 'false' })).toBe(1);
      expect(r.value('edgemeter_rater_db_pool_max')).toBe(10);
      // The quota stream's polls, the tracker and the webhook dispatcher query through the same
      // pool in the background: one scrape may find every connection checked out for a moment.
      const pool = await waitFor(async () => {
        const s = await scrape(rater.httpPort);
        const n = s.value('edgemeter_rater_db_pool_connections', { state: 'idle' }) ?? 0;
        return n >= 1 ? s : undefined;
      }, 'an idle connection in the rater pool');
      const idle = pool.value('edgemeter_rater_db_pool_connections', { state: 'idle' });
      const busy = pool.value('edgemeter_rater_db_pool_connections', { state: 'busy' });
      expect(idle).toBeGreaterThanOrEqual(1); // the connections that ran the batches
      expect((idle ?? 0) + (busy ?? 0)).toBeLessThanOrEqual(10);
      expect(pool.value('edgemeter_rater_db_pool_waiting', { driver: 'pg' })).toBe(0);
      expect(await usageTotals(rater, 'metrics-dev')).toEqual({ up: 300, down: 3000, records: 3 });

      // A batch that is not an IngestBatchRequest at all is refused, and counted as such.
      expect(r.value('edgemeter_rater_batches_total', { result: 'refused' })).toBe(0);
      const client = new RaterClient(`127.0.0.1:${raterPort}`);
      cleanup.push(async () => client.close());
      await expect(client.send(Buffer.from([0xff, 0xff, 0xff]), 5000)).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
      const after = await scrape(rater.httpPort);
      expect(after.value('edgemeter_rater_batches_total', { result: 'refused' })).toBe(1);
    },
  );

  it('says that embedded PGlite has no pool', async () => {
    const rater = await startRater('embedded:memory', 0);
    cleanup.push(() => rater.close());
    const r = await scrape(rater.httpPort);
    expect(missing(r.families, RATER_METRICS)).toEqual([]);
    expect(r.value('edgemeter_rater_db_info', { driver: 'pglite', timescale: 'true' })).toBe(1);
    expect(r.value('edgemeter_rater_db_pool_max')).toBe(1);
    expect(r.value('edgemeter_rater_db_pool_connections', { state: 'idle' })).toBeUndefined();
    expect(r.value('edgemeter_rater_db_pool_waiting')).toBeUndefined();
  });
});

describe('docs/operations.md', () => {
  it('documents every metric of both registries, and no other', async () => {
    const collector = new CollectorMetrics();
    // Only the names matter: an empty outbox stands in for the real one.
    collector.watchOutbox(
      {
        stats: () => ({ records: 0, bytes: 0, maxBytes: 1, deadLetters: 0 }),
        oldest: async () => undefined,
      },
      '.',
    );
    collector.watchQuota({ connected: false });
    const rater = new RaterMetrics();
    rater.watchDatabase({ driver: 'pg', timescale: false }, () => undefined);
    rater.watchQuotaStreams({ watching: 0, stalled: 0 });
    const exported = [
      ...(await collector.registry.getMetricsAsJSON()),
      ...(await rater.registry.getMetricsAsJSON()),
    ].map((m) => m.name);
    const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(edgemeter_[a-z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(exported.filter((n) => !documented.includes(n))).toEqual([]);
    expect(documented.filter((n) => !exported.includes(n as string))).toEqual([]);
  });
});
