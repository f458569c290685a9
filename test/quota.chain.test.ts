// The whole quota path with nothing played by the test: a device publishes usage over MQTT to a
// collector, which forwards it to a rater on the PostgreSQL server; the rater's tracker decides
// from the committed totals, the collector follows the decision over the Watch stream and
// publishes it retained on quota/{deviceId}, with one notice per crossing. Accounting stays
// whole: the usage past the block threshold is still stored and billed.
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import type { DeviceQuotaStatus } from '../common/quota.ts';
import type { Rater } from '../rater/rater.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import {
  device,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

const PLAN = `
plan: capped-chain
currency: EUR
effective_from: '2020-01-01'
charges:
  - { id: data, type: usage, meter: total, unit: KB, pricing: { model: per_unit, price: '0.01' } }
quotas:
  - id: month
    meter: total
    limit: 10 KB
    window: period
    thresholds:
      - { at: 50%, action: notify }
      - { at: 100%, action: block }
`;

/** A report ending now (quotas look at the current window), `bytes` split over up and down. */
const usage = (seq: number, bytes: number) =>
  JSON.stringify({ seq, ts: new Date().toISOString(), up: bytes / 2, down: bytes / 2 });

describe.skipIf(!hasPostgres)('quotas end to end: device → collector → rater → collector', () => {
  let rater: Rater;
  let collector: Collector;
  let dev: MqttClient;
  const states: DeviceQuotaStatus[] = [];
  const notices: Array<{ level: number; source: string }> = [];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    const dir = await tempDir();
    rater = await startRater(db.url);
    const base = `http://127.0.0.1:${rater.httpPort}`;
    const put = async (path: string, body: string, type = 'application/json') => {
      const res = await fetch(`${base}${path}`, {
        method: 'PUT',
        headers: { 'content-type': type },
        body,
      });
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    await put('/v1/plans/capped-chain', PLAN, 'application/yaml');
    await put(
      '/v1/accounts/chain',
      JSON.stringify({ currency: 'EUR', time_zone: 'UTC', plan: 'capped-chain' }),
    );
    await put('/v1/devices/chain-1', JSON.stringify({ account: 'chain' }));
    collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: join(dir.path, 'c') });
    dev = await device(collector.mqttPort, 'chain-1');
    dev.on('message', (topic, payload) => {
      if (payload.length === 0) return;
      const body = JSON.parse(payload.toString('utf8'));
      if (topic === 'quota/chain-1') states.push(body as DeviceQuotaStatus);
      if (topic === 'quota/chain-1/notice') notices.push(body);
    });
    await dev.subscribeAsync(['quota/chain-1', 'quota/chain-1/notice'], { qos: 1 });
    cleanup = async () => {
      await dev.endAsync();
      await collector.close();
      await rater.close();
      await db.drop();
      await dir.remove();
    };
  });
  afterAll(() => cleanup?.());

  const latest = () => states[states.length - 1];

  it('a crossing decided by the rater reaches the device as retained state and one notice', async () => {
    await dev.publishAsync('usage/chain-1', usage(1, 6000), { qos: 1 });
    const warned = await waitFor(
      () => (latest()?.state === 'warning' ? latest() : undefined),
      'the warning on quota/chain-1',
    );
    expect(warned.source).toBe('rater');
    expect(warned.quotas[0]).toMatchObject({ id: 'month', used: '6000', limit: '10000', level: 0 });
    await waitFor(() => (notices.length > 0 ? true : undefined), 'the notice');
    expect(notices).toEqual([expect.objectContaining({ level: 0, source: 'rater' })]);

    // The billing API reads the same decision.
    const api = await fetch(`http://127.0.0.1:${rater.httpPort}/v1/devices/chain-1/quotas`);
    const body = (await api.json()) as { quotas: Array<{ state: string; used: string }> };
    expect(body.quotas[0]).toMatchObject({ state: 'warning', used: '6000' });
  });

  it('past the limit the device is told to block, and every byte is still billed', async () => {
    await dev.publishAsync('usage/chain-1', usage(2, 5000), { qos: 1 });
    await waitFor(
      () => (latest()?.state === 'blocked' && latest()?.source === 'rater' ? true : undefined),
      'the rater blocking chain-1',
    );
    // Usage keeps flowing into accounting: the quota is a signal, not a filter.
    await dev.publishAsync('usage/chain-1', usage(3, 2000), { qos: 1 });
    const totals = await settledTotals(rater, 'chain-1', 3);
    expect(totals.up + totals.down).toBe(13_000);
    await waitFor(
      () => (latest()?.quotas[0]?.used === '13000' ? true : undefined),
      'the 13 KB status at the device',
    );
    // One notice per crossing: 50 % once, 100 % once, whoever decided it first. The collector's
    // own notice goes out after its local state and a store write, so it may still be on its way.
    await waitFor(() => (notices.length >= 2 ? true : undefined), 'the 100 % notice');
    expect(notices.map((n) => n.level).sort()).toEqual([0, 1]);
  });
});
