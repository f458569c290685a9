// Bridge mode against the real Mosquitto server of this machine: devices publish to Mosquitto,
// a collector subscribes there with a persistent session and forwards to a real rater (embedded
// database in memory). The server is shared with other test files and runs, so every device id
// and bridge client id carries this run's random suffix, assertions only look at this run's
// devices, and the persistent sessions are removed at the end.
import mqtt, { type MqttClient } from 'mqtt';
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { DeviceReport } from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import { MQTT_URL, hasMosquitto } from './helpers/services.ts';
import {
  report,
  settledTotals,
  startCollector,
  startRater,
  T0,
  tempDir,
  usageTotals,
  waitFor,
} from './helpers/stack.ts';

const RUN = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const devId = (name: string) => `bm-${RUN}-${name}`;
const bridgeId = (name: string) => `edgemeter-test-${RUN}-${name}`;

/** A device connected to Mosquitto (not to the collector). */
function mosquittoDevice(name: string): Promise<MqttClient> {
  return mqtt.connectAsync(MQTT_URL, {
    clientId: `dev-${RUN}-${name}`,
    clean: true,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
}

/** Removes a persistent session from the shared server: connect clean, then leave. */
async function dropSession(clientId: string): Promise<void> {
  const c = await mqtt.connectAsync(MQTT_URL, {
    clientId,
    clean: true,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  await c.endAsync();
}

describe.skipIf(!hasMosquitto)('bridge mode against Mosquitto', () => {
  let rater: Rater;
  const sessions = new Set<string>();
  const cleanups: Array<() => Promise<unknown>> = [];

  /** A bridge-mode collector whose session and buffer are cleaned up after the test. */
  async function bridge(
    clientId: string,
    bufferDir: string,
    deps: Parameters<typeof startCollector>[1] = {},
  ): Promise<Collector> {
    sessions.add(clientId);
    const c = await startCollector(
      {
        raterPort: rater.grpcPort,
        bufferDir,
        upstream: MQTT_URL,
        clientId,
        collectorId: `gw-${RUN}`,
      },
      deps,
    );
    cleanups.push(() => c.close());
    return c;
  }
  async function buffer(): Promise<string> {
    const dir = await tempDir('edgemeter-bridge-');
    cleanups.push(dir.remove);
    return dir.path;
  }
  async function connectDevice(name: string): Promise<MqttClient> {
    const d = await mosquittoDevice(name);
    cleanups.push(() => d.endAsync());
    return d;
  }

  beforeAll(async () => {
    rater = await startRater('embedded:memory');
  });
  afterEach(async () => {
    // Devices and collectors first (reverse order of creation), then the buffers.
    for (const f of cleanups.splice(0).reverse()) await f().catch(() => {});
  });
  afterAll(async () => {
    for (const id of sessions) await dropSession(id).catch(() => {});
    await rater?.close();
  });

  it('stores JSON and protobuf reports published to Mosquitto and forwards them with exact totals', async () => {
    const D = devId('basic');
    const collector = await bridge(bridgeId('basic'), await buffer());
    const dev = await connectDevice('basic');

    await dev.publishAsync(`usage/${D}`, report(1, 100, 1000), { qos: 1 });
    await dev.publishAsync(`usage/${D}`, report(2, 200, 2000), { qos: 1 });
    // A device flushing its own buffer: an array of reports.
    await dev.publishAsync(
      `usage/${D}`,
      `[${report(3, 300, 3000)},${report(4, 400, 4000, { meters: { sms: 2 } })}]`,
      { qos: 1 },
    );
    const pb = DeviceReport.encode({
      seq: 5,
      tsMs: T0 + 5 * 60_000,
      up: 500,
      down: 5000,
      meters: { sms: 1 },
      dims: { zone: 'eu' },
    }).finish();
    await dev.publishAsync(`usage/${D}/pb`, Buffer.from(pb), { qos: 1 });

    expect(await settledTotals(rater, D, 5)).toEqual({ up: 1500, down: 15000, records: 5 });
    await collector.drained(10_000);
    expect(await usageTotals(rater, D)).toEqual({ up: 1500, down: 15000, records: 5 });
    expect(
      (await collector.deadLetters.list({ limit: 10_000 })).filter((l) => l.deviceId === D),
    ).toEqual([]);
  });

  it('answers an invalid report on usage/{id}/rejected with code and reason; good reports are unaffected', async () => {
    const D = devId('rejected');
    const collector = await bridge(bridgeId('rejected'), await buffer());
    const dev = await connectDevice('rejected');
    const answers: Array<Record<string, unknown>> = [];
    dev.on('message', (topic, payload) => {
      if (topic === `usage/${D}/rejected`)
        answers.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
    await dev.subscribeAsync(`usage/${D}/rejected`, { qos: 1 });

    await dev.publishAsync(`usage/${D}`, report(1, 10, 20), { qos: 1 });
    await dev.publishAsync(
      `usage/${D}`,
      JSON.stringify({ seq: 2, ts: new Date(T0).toISOString(), up: -5 }),
      { qos: 1 },
    );
    await dev.publishAsync(`usage/${D}`, `[${report(3, 30, 40)},${report(4, 1.5, 0)}]`, { qos: 1 });
    await dev.publishAsync(`usage/${D}`, report(5, 50, 60), { qos: 1 });

    expect(await settledTotals(rater, D, 3)).toEqual({ up: 90, down: 120, records: 3 });
    // Another bridge on the shared server could answer too; each answer must be right, and both
    // invalid messages must be answered.
    await waitFor(
      () =>
        answers.some((a) => a.topic === `usage/${D}` && a.accepted === 1) && answers.length >= 2
          ? true
          : undefined,
      'two rejected answers',
    );
    const single = answers.find((a) => a.accepted === 0);
    expect(single).toMatchObject({
      topic: `usage/${D}`,
      accepted: 0,
      rejected: [
        {
          code: 'INVALID_RECORD',
          reason: 'up must be an integer number of bytes >= 0 (at most 2^53-1)',
        },
      ],
    });
    expect(typeof single?.at).toBe('string');
    expect(answers.find((a) => a.accepted === 1)).toMatchObject({
      topic: `usage/${D}`,
      accepted: 1,
      rejected: [
        {
          index: 1,
          code: 'INVALID_RECORD',
          reason: 'up must be an integer number of bytes >= 0 (at most 2^53-1)',
        },
      ],
    });

    const letters = (await collector.deadLetters.list({ limit: 10_000 })).filter(
      (l) => l.deviceId === D,
    );
    expect(letters.map((l) => [l.code, l.reason, l.topic])).toEqual([
      [
        'INVALID_RECORD',
        'up must be an integer number of bytes >= 0 (at most 2^53-1)',
        `usage/${D}`,
      ],
      [
        'INVALID_RECORD',
        '[1] up must be an integer number of bytes >= 0 (at most 2^53-1)',
        `usage/${D}`,
      ],
    ]);
    await collector.drained(10_000);
    expect(await usageTotals(rater, D)).toEqual({ up: 90, down: 120, records: 3 });
  });

  it('receives what was published while it was down through its persistent session, exactly once', async () => {
    const D = devId('session');
    const clientId = bridgeId('session');
    const dir = await buffer();
    const first = await bridge(clientId, dir);
    const dev = await connectDevice('session');

    await dev.publishAsync(`usage/${D}`, report(1, 1, 10), { qos: 1 });
    await dev.publishAsync(`usage/${D}`, report(2, 2, 20), { qos: 1 });
    expect(await settledTotals(rater, D, 2)).toEqual({ up: 3, down: 30, records: 2 });
    await first.drained(10_000);
    await first.close();

    // The collector is away: Mosquitto acknowledges the device and queues for the session.
    for (let seq = 3; seq <= 6; seq++)
      await dev.publishAsync(`usage/${D}`, report(seq, seq, seq * 10), { qos: 1 });
    expect(await usageTotals(rater, D)).toEqual({ up: 3, down: 30, records: 2 });

    const second = await bridge(clientId, dir);
    expect(await settledTotals(rater, D, 6)).toEqual({ up: 21, down: 210, records: 6 });
    await second.drained(10_000);
    // Nothing is counted twice, even after everything is forwarded.
    await dev.publishAsync(`usage/${D}`, report(7, 7, 70), { qos: 1 });
    expect(await settledTotals(rater, D, 7)).toEqual({ up: 28, down: 280, records: 7 });
    await second.drained(10_000);
    expect(await usageTotals(rater, D)).toEqual({ up: 28, down: 280, records: 7 });
  });

  it('acknowledges a bridged message only after the durable write; a refused one is redelivered and stored once', async () => {
    const D = devId('durable');
    let failing = true;
    let refusals = 0;
    const collector = await bridge(bridgeId('durable'), await buffer(), {
      beforeWrite: () => {
        if (!failing) return;
        refusals++;
        throw new Error('simulated disk failure');
      },
    });
    const dev = await connectDevice('durable');

    await dev.publishAsync(`usage/${D}`, report(1, 111, 222), { qos: 1 });
    // The first delivery and at least one redelivery after the bridge reconnected are refused.
    await waitFor(() => (refusals >= 2 ? true : undefined), 'a refused delivery and a redelivery');
    expect(collector.outboxStats().records).toBe(0);
    expect(collector.outboxStats().bytes).toBe(0);
    expect(await usageTotals(rater, D)).toEqual({ up: 0, down: 0, records: 0 });

    failing = false;
    expect(await settledTotals(rater, D, 1)).toEqual({ up: 111, down: 222, records: 1 });
    await collector.drained(10_000);
    expect(await usageTotals(rater, D)).toEqual({ up: 111, down: 222, records: 1 });
    // Nothing of it ended among the dead letters either.
    expect(
      (await collector.deadLetters.list({ limit: 10_000 })).filter((l) => l.deviceId === D),
    ).toEqual([]);
  });
});
