// The clock-skew policy (docs/devices.md#clock-skew), end to end over real MQTT, gRPC and the
// rater's database: a device's ts is compared with the collector's receive time. Within the
// tolerance (5 min) a record is normal; beyond it, it is accepted and flagged (counted by the
// collector, its skew stored by the rater and listed by GET /v1/devices/{id}/skewed); more than
// 24 h ahead it is rejected as CLOCK_SKEW. Device times are set relative to Date.now() with wide
// margins, so nothing here depends on how fast the machine is.
import net from 'node:net';
import { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { DeviceReport } from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import {
  cleanupAfterAll,
  device,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

const MIN = 60_000;
const DAY = 86_400_000;

interface Answer {
  topic: string;
  accepted: number;
  rejected: Array<{ index?: number; code: string; reason: string }>;
}

interface SkewedBody {
  device_id: string;
  tolerance_ms: number;
  records: Array<{
    key: string;
    ts: string;
    received_at: string;
    clock_skew_ms: number;
    direction: 'future' | 'past';
    up: number;
    down: number;
    collector_id: string;
  }>;
  truncated: boolean;
}

async function skewed(rater: Rater, deviceId: string, query = ''): Promise<SkewedBody> {
  const res = await fetch(
    `http://127.0.0.1:${rater.httpPort}/v1/devices/${deviceId}/skewed${query}`,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as SkewedBody;
}

/** A metric's value from the collector's /metrics, 0 when the series does not exist yet. */
async function metric(collector: Collector, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Collects the answers a device gets on usage/{id}/rejected. */
async function watchAnswers(client: MqttClient, deviceId: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  client.on('message', (topic, msg) => {
    if (topic === `usage/${deviceId}/rejected`) answers.push(JSON.parse(msg.toString()) as Answer);
  });
  await client.subscribeAsync(`usage/${deviceId}/rejected`, { qos: 1 });
  return answers;
}

const targets = [
  {
    name: 'embedded TimescaleDB (PGlite)',
    enabled: true,
    open: async () => ({ url: 'embedded:memory', drop: async () => {} }),
  },
  { name: 'PostgreSQL server (pg)', enabled: hasPostgres, open: freshPostgresDatabase },
];

for (const target of targets) {
  describe.skipIf(!target.enabled)(`clock skew, embedded broker, on ${target.name}`, () => {
    const cleanup = cleanupAfterAll();
    let rater: Rater;
    let collector: Collector;

    beforeAll(async () => {
      const db = await target.open();
      cleanup.push(db.drop);
      const dir = await tempDir();
      cleanup.push(dir.remove);
      rater = await startRater(db.url);
      cleanup.push(() => rater.close());
      collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: dir.path });
      cleanup.push(() => collector.close());
    });

    it('accepts and flags beyond the tolerance, rejects far-future reports, and stores the skew', async () => {
      const id = 'skew-1';
      const dev = await device(collector.mqttPort, id);
      const answers = await watchAnswers(dev, id);
      const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

      // Inside the tolerance: normal.
      await dev.publishAsync(
        `usage/${id}`,
        JSON.stringify({ seq: 1, ts: at(-30_000), up: 1, down: 1 }),
        { qos: 1 },
      );
      // 10 minutes ahead: accepted, flagged "future".
      await dev.publishAsync(
        `usage/${id}`,
        JSON.stringify({ seq: 2, ts: at(10 * MIN), up: 2, down: 2 }),
        { qos: 1 },
      );
      // 2 days ahead: rejected (acknowledged, dead-lettered, answered).
      await dev.publishAsync(
        `usage/${id}`,
        JSON.stringify({ seq: 3, ts: at(2 * DAY), up: 1000, down: 1000 }),
        { qos: 1 },
      );
      // 30 days old (a buffer flushed after weeks offline): accepted, flagged "past".
      await dev.publishAsync(
        `usage/${id}`,
        JSON.stringify({
          seq: 4,
          ts: at(-30 * DAY),
          start: at(-30 * DAY - 5 * MIN),
          up: 4,
          down: 4,
        }),
        { qos: 1 },
      );
      // An array: the far-future element is rejected with its index, the others are kept.
      await dev.publishAsync(
        `usage/${id}`,
        JSON.stringify([
          { seq: 5, ts: at(-MIN), up: 5, down: 5 },
          { seq: 6, ts: at(3 * DAY), up: 1000, down: 1000 },
          { seq: 7, ts: at(20 * MIN), up: 7, down: 7 },
          { seq: 8, ts: 'soon', up: 1 },
        ]),
        { qos: 1 },
      );
      // The protobuf form follows the same policy.
      const pb = (seq: number, offsetMs: number) =>
        Buffer.from(
          DeviceReport.encode({ seq, tsMs: Date.now() + offsetMs, up: seq, down: seq }).finish(),
        );
      await dev.publishAsync(`usage/${id}/pb`, pb(9, 400 * DAY), { qos: 1 });
      await dev.publishAsync(`usage/${id}/pb`, pb(10, 2 * 3_600_000), { qos: 1 });

      // Stored: 1, 2, 4, 5, 7, 10. Never stored: 3, 6, 9 (future), 8 (bad ts).
      expect(await settledTotals(rater, id, 6)).toEqual({
        up: 1 + 2 + 4 + 5 + 7 + 10,
        down: 1 + 2 + 4 + 5 + 7 + 10,
        records: 6,
      });

      // The device's answers name the code and the reason.
      await waitFor(() => (answers.length >= 3 ? true : undefined), 'three rejected answers');
      await dev.endAsync();
      const single = answers.filter((a) => a.rejected.length === 1 && a.accepted === 0);
      expect(single).toHaveLength(2); // seq 3 (JSON) and seq 9 (protobuf)
      for (const a of single)
        expect(a.rejected[0]).toEqual({
          code: 'CLOCK_SKEW',
          reason: expect.stringMatching(
            /^ts \S+ is \d+d .*ahead of the collector's clock \(\S+\); at most 1d ahead is accepted: check the device's clock$/,
          ),
        });
      const array = answers.find((a) => a.accepted === 2);
      expect(array?.rejected).toEqual([
        { index: 1, code: 'CLOCK_SKEW', reason: expect.stringContaining('ahead') },
        { index: 3, code: 'INVALID_RECORD', reason: expect.stringContaining('ts') },
      ]);

      // Dead letters keep each rejected report with its reason; an array element alone.
      const letters = (await collector.deadLetters.list({ limit: 100 })).filter(
        (l) => l.code === 'CLOCK_SKEW',
      );
      expect(letters).toHaveLength(3);
      for (const l of letters) expect(l.deviceId).toBe(id);
      const json = letters.filter((l) => l.topic === `usage/${id}`);
      const bodies = json.map((l) => JSON.parse(l.payload?.toString('utf8') ?? '') as object);
      expect(bodies).toContainEqual(expect.objectContaining({ seq: 3 }));
      // The array element is kept alone, its reason prefixed with its index.
      const element = json.find((l) => l.reason.startsWith('[1] '));
      expect(JSON.parse(element?.payload?.toString('utf8') ?? '')).toEqual({
        seq: 6,
        ts: expect.any(String),
        up: 1000,
        down: 1000,
      });
      expect(letters.filter((l) => l.topic === `usage/${id}/pb`)).toHaveLength(1);

      // Counted: flagged by direction, rejected by code.
      expect(
        await metric(
          collector,
          'edgemeter_collector_records_clock_skewed_total{direction="future"}',
        ),
      ).toBe(3); // seq 2, 7, 10
      expect(
        await metric(collector, 'edgemeter_collector_records_clock_skewed_total{direction="past"}'),
      ).toBe(1); // seq 4
      expect(
        await metric(collector, 'edgemeter_collector_records_rejected_total{code="CLOCK_SKEW"}'),
      ).toBe(3);

      // The rater stored the skew; the billing team lists the flagged records, oldest ts first.
      const body = await skewed(rater, id);
      expect(body.tolerance_ms).toBe(5 * MIN);
      expect(body.truncated).toBe(false);
      expect(body.records.map((r) => [r.key, r.direction])).toEqual([
        ['s::4', 'past'],
        ['s::2', 'future'],
        ['s::7', 'future'],
        ['s::10', 'future'],
      ]);
      const byKey = new Map(body.records.map((r) => [r.key, r]));
      const r2 = byKey.get('s::2');
      const r4 = byKey.get('s::4');
      // ts = send time + offset and the collector received it after the send: skew ≤ offset.
      expect(r2?.clock_skew_ms).toBeLessThanOrEqual(10 * MIN);
      expect(r2?.clock_skew_ms).toBeGreaterThan(5 * MIN);
      expect(r2?.clock_skew_ms).toBe(Date.parse(r2?.ts ?? '') - Date.parse(r2?.received_at ?? ''));
      expect(r4?.clock_skew_ms).toBeLessThanOrEqual(-30 * DAY);
      expect(r4?.clock_skew_ms).toBeGreaterThan(-31 * DAY);
      expect(r4).toMatchObject({ up: 4, down: 4, collector_id: 'test-gw' });

      // Other thresholds and windows.
      expect((await skewed(rater, id, '?tolerance_ms=864000000')).records).toHaveLength(1); // > 10 days: seq 4
      expect((await skewed(rater, id, '?tolerance_ms=0')).records.map((r) => r.key).sort()).toEqual(
        ['s::1', 's::10', 's::2', 's::4', 's::5', 's::7'],
      );
      const recent = await skewed(rater, id, `?from=${Date.now() - DAY}&limit=1`);
      expect(recent.records.map((r) => r.key)).toEqual(['s::2']);
      expect(recent.truncated).toBe(true);
      const bad = await fetch(
        `http://127.0.0.1:${rater.httpPort}/v1/devices/${id}/skewed?tolerance_ms=-1`,
      );
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    });
  });
}

describe('clock skew in bridge mode', () => {
  const cleanup = cleanupAfterAll();
  let rater: Rater;
  let collector: Collector;
  let upstreamPort: number;

  beforeAll(async () => {
    // A plain broker standing in for the gateway's Mosquitto.
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    upstreamPort = (server.address() as net.AddressInfo).port;
    cleanup.push(async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    const dir = await tempDir();
    cleanup.push(dir.remove);
    rater = await startRater('embedded:memory');
    cleanup.push(() => rater.close());
    collector = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: dir.path,
      upstream: `mqtt://127.0.0.1:${upstreamPort}`,
      clientId: 'edgemeter-skew-bridge',
    });
    cleanup.push(() => collector.close());
  });

  it('applies the same policy to reports taken from the upstream broker', async () => {
    const id = 'skew-bridge';
    const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstreamPort}`, {
      clientId: 'dev-skew-bridge',
      reconnectPeriod: 0,
    });
    const answers = await watchAnswers(dev, id);
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    await dev.publishAsync(`usage/${id}`, JSON.stringify({ seq: 1, ts: at(-MIN), up: 1 }), {
      qos: 1,
    });
    await dev.publishAsync(`usage/${id}`, JSON.stringify({ seq: 2, ts: at(2 * DAY), up: 9 }), {
      qos: 1,
    });
    await dev.publishAsync(`usage/${id}`, JSON.stringify({ seq: 3, ts: at(-30 * DAY), up: 3 }), {
      qos: 1,
    });

    expect(await settledTotals(rater, id, 2)).toMatchObject({ up: 4, records: 2 });
    await waitFor(() => answers[0], 'the rejected answer from the bridge');
    await dev.endAsync();
    expect(answers[0]?.rejected).toEqual([
      { code: 'CLOCK_SKEW', reason: expect.stringContaining('ahead') },
    ]);
    expect(
      (await collector.deadLetters.list({ limit: 10 })).map((l) => [l.code, l.deviceId]),
    ).toEqual([['CLOCK_SKEW', id]]);
    expect(
      await metric(collector, 'edgemeter_collector_records_clock_skewed_total{direction="past"}'),
    ).toBe(1);
    expect((await skewed(rater, id)).records.map((r) => [r.key, r.direction])).toEqual([
      ['s::3', 'past'],
    ]);
  });
});
