// Quotas at the edge, end to end with real processes' parts: a real rater (gRPC Watch over the
// PostgreSQL change log), real collectors (embedded aedes, LevelDB), real MQTT devices. The
// rater's decisions are played by appending statuses to the change log, as its tracker would.
import { join } from 'node:path';
import mqtt, { ErrorWithSubackPacket, type MqttClient } from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { CredentialsFile } from '../collector/auth/credentials.ts';
import type { Collector } from '../collector/collector.ts';
import type { QuotaNotice } from '../collector/quota/keeper.ts';
import type { DeviceQuotaStatus } from '../common/quota.ts';
import type { Rater } from '../rater/rater.ts';
import { openStore } from '../rater/storage/open.ts';
import { SqlQuotaLog } from '../rater/storage/quota-log.ts';
import { quota, rule, status } from './helpers/quota.ts';
import { freshPostgresDatabase, hasMosquitto, hasPostgres, MQTT_URL } from './helpers/services.ts';
import {
  cleanupAfterAll,
  device,
  freePort,
  report,
  startCollector,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

interface Seen {
  topic: string;
  body: DeviceQuotaStatus & QuotaNotice;
  retain: boolean;
}

/** Every message on `filter` as it arrives, parsed. */
async function watch(client: MqttClient, filter: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    if (payload.length === 0) return; // a retained message being cleared
    seen.push({
      topic,
      body: JSON.parse(payload.toString()) as Seen['body'],
      retain: packet.retain,
    });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return seen;
}

const lookup = async (c: Collector, path: string) => {
  const res = await fetch(`http://127.0.0.1:${c.httpPort}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** SUBACK return codes per topic (128 = refused); mqtt.js rejects when any topic is refused. */
async function subscribeCodes(dev: MqttClient, topics: string[]): Promise<number[]> {
  try {
    return (await dev.subscribeAsync(topics, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    if (err instanceof ErrorWithSubackPacket) return err.packet.granted as number[];
    throw err;
  }
}

const last = (seen: Seen[], topic: string) => seen.filter((s) => s.topic === topic).at(-1)?.body;

/**
 * The tests play the rater's decisions. The rater's own tracker decides too: these devices are
 * in no plan, so once their usage is forwarded it appends a cleared status (state ok, no quotas)
 * that replaces the played one at the collectors, a tick (200 ms) after it or even before it.
 * Its ticks are put off past every test (it still evaluates once when the rater closes).
 */
const RATER_FLAGS = { quotaEvalIntervalMs: 60_000 };

describe.skipIf(!hasPostgres)('quotas at the edge', () => {
  const cleanup = cleanupAfterAll();
  let dbUrl: string;
  let raterPort: number;
  let rater: Rater | undefined;
  let dir: string;

  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    dbUrl = db.url;
    cleanup.push(db.drop);
    const tmp = await tempDir();
    dir = tmp.path;
    cleanup.push(tmp.remove);
    raterPort = await freePort();
    rater = await startRater(dbUrl, raterPort, RATER_FLAGS);
    cleanup.push(async () => {
      await rater?.close();
    });
  });

  /** Appends while the rater is down: straight into the database's change log. */
  async function appendOffline(statuses: Parameters<SqlQuotaLog['append']>[0]) {
    const store = await openStore(dbUrl, { poolSize: 1 });
    try {
      return await new SqlQuotaLog(store.sql).append(statuses);
    } finally {
      await store.close();
    }
  }

  async function restartRater(whileDown: () => Promise<void>): Promise<void> {
    await rater?.close();
    rater = undefined;
    await whileDown();
    rater = await startRater(dbUrl, raterPort, RATER_FLAGS);
  }

  async function collector(id: string, config: Record<string, unknown> = {}) {
    const c = await startCollector({
      raterPort,
      bufferDir: join(dir, id),
      collectorId: id,
      config,
    });
    cleanup.push(() => c.close());
    return c;
  }

  it('a device subscribing to quota/{its id} gets its retained state; GET /v1/quota answers locally', async () => {
    const gw = await collector('gw-retained');
    const r = rule();
    await rater!.quotaLog.append([
      status('ret-1', [quota(r, 600)]),
      status('ret-2', [quota(r, 10)]),
    ]);
    await waitFor(() => gw.quota?.view('ret-2'), 'the statuses at the collector');

    const dev = await device(gw.mqttPort, 'ret-1');
    cleanup.push(() => dev.endAsync());
    const seen = await watch(dev, 'quota/ret-1');
    const got = await waitFor(() => last(seen, 'quota/ret-1'), 'the retained quota state');
    expect(seen[0]!.retain).toBe(true);
    const raterMetrics = await (await fetch(`http://127.0.0.1:${rater!.httpPort}/metrics`)).text();
    expect(raterMetrics).toMatch(/^edgemeter_rater_quota_watch_streams [1-9]/m);
    const gwMetrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    expect(gwMetrics).toMatch(/^edgemeter_collector_quota_watch_connected 1$/m);
    expect(gwMetrics).toMatch(/^edgemeter_collector_quota_updates_total [1-9]/m);
    expect(got).toMatchObject({ deviceId: 'ret-1', state: 'warning', source: 'rater' });
    expect(got.quotas[0]).toMatchObject({ used: '600', limit: '1000', remaining: '400', level: 0 });

    const one = await lookup(gw, '/v1/quota/ret-1');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ deviceId: 'ret-1', state: 'warning', seq: got.seq });
    expect((await lookup(gw, '/v1/quota/nobody')).status).toBe(404);
    expect((await lookup(gw, '/v1/quota/bad%20id')).status).toBe(400);

    const page1 = await lookup(gw, '/v1/quota?limit=1');
    expect((page1.body.devices as DeviceQuotaStatus[]).map((d) => d.deviceId)).toEqual(['ret-1']);
    expect(page1.body.next).toBe('ret-1');
    const page2 = await lookup(gw, '/v1/quota?limit=1&after=ret-1');
    expect((page2.body.devices as DeviceQuotaStatus[]).map((d) => d.deviceId)).toEqual(['ret-2']);
    const end = await lookup(gw, '/v1/quota?limit=5&after=ret-2');
    expect(end.body).toEqual({ devices: [] });
    expect((await lookup(gw, '/v1/quota?limit=0')).status).toBe(400);

    // A device cannot overwrite its quota state, even without authentication: no PUBACK, the
    // connection is closed, the retained state stays.
    const rogue = await device(gw.mqttPort, 'ret-1-rogue');
    const outcome = await new Promise<string>((resolve) => {
      rogue.once('close', () => resolve('closed'));
      rogue.publishAsync('quota/ret-1', '{"state":"ok"}', { qos: 1, retain: true }).then(
        () => resolve('acked'),
        () => resolve('closed'),
      );
    });
    expect(outcome).toBe('closed');
    rogue.end(true);
    const again = await device(gw.mqttPort, 'ret-1-again');
    cleanup.push(() => again.endAsync());
    const reread = await watch(again, 'quota/ret-1');
    expect(await waitFor(() => reread[0], 'the retained state')).toMatchObject({
      body: { state: 'warning', source: 'rater' },
    });
    expect((await lookup(gw, '/v1/quota/ret-1')).body.state).toBe('warning');
  });

  it('with authentication on, a device reads only its own quota topic and notices', async () => {
    const creds = new CredentialsFile(join(dir, 'devices.credentials'));
    const secretA = await creds.add('auth-a');
    await creds.add('auth-b');
    const gw = await collector('gw-auth', { deviceCredentials: creds.file });
    await rater!.quotaLog.append([status('auth-b', [quota(rule(), 900)])]);
    await waitFor(() => gw.quota?.view('auth-b'), 'auth-b status at the collector');

    const a = await device(gw.mqttPort, 'auth-a', { username: 'auth-a', password: secretA });
    cleanup.push(() => a.endAsync());
    const codes = await subscribeCodes(a, [
      'quota/auth-b',
      'quota/auth-b/notice',
      'quota/+',
      'quota/auth-a',
      'quota/auth-a/notice',
    ]);
    expect(codes).toEqual([128, 128, 128, 1, 1]);
  });

  it('resumes after a rater restart: every change made meanwhile arrives, in order', async () => {
    const gw = await collector('gw-resume');
    const obs = await device(gw.mqttPort, 'resume-observer');
    cleanup.push(() => obs.endAsync());
    const seen = await watch(obs, 'quota/+');
    const r = rule();
    const [first] = await rater!.quotaLog.append([status('res-1', [quota(r, 100)])]);
    await waitFor(() => seen.find((s) => s.body.seq === String(first!.seq)), 'the first change');

    let appended: bigint[] = [];
    await restartRater(async () => {
      const changes = await appendOffline([
        status('res-1', [quota(r, 200)]),
        status('res-2', [quota(r, 300)]),
        status('res-1', [quota(r, 550)]),
      ]);
      const more = await appendOffline([status('res-2', [quota(r, 850)])]);
      appended = [...changes, ...more].map((c) => c.seq);
    });
    const after = await rater!.quotaLog.append([status('res-1', [quota(r, 1000)])]);
    const all = [first!.seq, ...appended, after[0]!.seq].map(String);

    await waitFor(
      () => (seen.some((s) => s.body.seq === all.at(-1)) ? true : undefined),
      'the change appended after the restart',
    );
    // Updates from the rater are published as they come (each one refreshes `used`).
    const fromRater = seen.filter((s) => s.body.source === 'rater' && all.includes(s.body.seq));
    expect(fromRater.map((s) => s.body.seq)).toEqual(all);
    expect(last(seen, 'quota/res-1')).toMatchObject({ state: 'blocked', source: 'rater' });
    expect(last(seen, 'quota/res-2')).toMatchObject({ state: 'throttled', throttleBps: 64000 });
  });

  it('enforces offline from the last decision plus local usage, across a collector restart, and reconciles', async () => {
    const id = 'off-1';
    let gw = await collector('gw-offline');
    const r = rule();
    await rater!.quotaLog.append([status(id, [quota(r, 400)])]);
    await waitFor(() => gw.quota?.view(id), 'the rater decision');

    const obs = await device(gw.mqttPort, 'off-observer');
    const seen = await watch(obs, 'quota/#');
    const dev = await device(gw.mqttPort, id);

    await rater!.close();
    rater = undefined;
    // 400 + 90 = 490 (ok), + 130 = 620 of 1000: past the 50 % notify threshold.
    await dev.publishAsync(`usage/${id}`, report(1, 60, 30), { qos: 1 });
    await dev.publishAsync(`usage/${id}`, report(2, 60, 70), { qos: 1 });
    const warned = await waitFor(
      () => seen.find((s) => s.topic === `quota/${id}` && s.body.state === 'warning'),
      'the local warning',
    );
    expect(warned.body).toMatchObject({ source: 'collector', state: 'warning' });
    expect(warned.body.quotas[0]).toMatchObject({ used: '620', level: 0 });
    const notices = () => seen.filter((s) => s.topic === `quota/${id}/notice`).map((s) => s.body);
    // The notice follows the retained state (a notified device finds the state agreeing).
    await waitFor(() => (notices().length > 0 ? true : undefined), 'the local notice');
    expect(notices()).toMatchObject([{ level: 0, threshold: '50', source: 'collector' }]);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^edgemeter_collector_quota_watch_connected 0$/m);
    expect(metrics).toMatch(
      /^edgemeter_collector_quota_messages_total\{kind="notice",source="collector"\} 1$/m,
    );
    // A retransmission of an accepted report (a lost PUBACK) does not count twice.
    await dev.publishAsync(`usage/${id}`, report(2, 60, 70), { qos: 1 });

    // Restart the collector while the rater is still down: the local count survives.
    await obs.endAsync();
    await dev.endAsync();
    await gw.close();
    gw = await collector('gw-offline');
    const dev2 = await device(gw.mqttPort, id);
    cleanup.push(() => dev2.endAsync());
    const seen2 = await watch(dev2, `quota/${id}/#`);
    const own = await device(gw.mqttPort, `${id}-again`);
    const retained = await watch(own, `quota/${id}`);
    // aedes sends the retained message after the SUBACK: wait for it before disconnecting.
    await waitFor(() => retained[0], 'the retained state after the restart');
    await own.endAsync();
    expect(retained[0]).toMatchObject({
      retain: true,
      body: { state: 'warning', source: 'collector' },
    });

    await dev2.publishAsync(`usage/${id}`, report(3, 200, 50), { qos: 1 });
    const throttled = await waitFor(
      () => (gw.quota?.view(id)?.state === 'throttled' ? gw.quota.view(id) : undefined),
      'the local throttle',
    );
    expect(throttled).toMatchObject({ source: 'collector', throttleBps: 64000 });
    expect(throttled.quotas[0]!.used).toBe('870');
    const lookedUp = await lookup(gw, `/v1/quota/${id}`);
    expect(lookedUp.body).toMatchObject({ state: 'throttled', source: 'collector' });
    await waitFor(() => seen2.find((s) => s.body.level === 1), 'the throttle notice');

    // The rater is back and says 700 (its own count, e.g. some records still in flight): its
    // status replaces the estimate, and its crossing of 50 % was already noticed here.
    await restartRater(async () => {});
    await rater!.quotaLog.append([
      status(
        id,
        [quota(r, 700)],
        [
          {
            type: 'threshold_crossed',
            key: r.key,
            id: r.id,
            level: 0,
            threshold: '50',
            action: 'notify',
            used: '600',
            limit: '1000',
            windowStart: quota(r, 0).windowStart,
            at: new Date().toISOString(),
          },
        ],
      ),
    ]);
    const reconciled = await waitFor(
      () => seen2.find((s) => s.topic === `quota/${id}` && s.body.source === 'rater'),
      'the rater status after reconnection',
    );
    expect(reconciled.body).toMatchObject({ state: 'warning', source: 'rater' });
    expect(reconciled.body.quotas[0]!.used).toBe('700');
    expect((await lookup(gw, `/v1/quota/${id}`)).body).toMatchObject({ source: 'rater' });
    expect(seen2.filter((s) => s.topic.endsWith('/notice')).map((s) => s.body.level)).toEqual([1]);
  });

  it('pooled quota across two collectors: both get the account status; offline each adds only its own devices', async () => {
    const pool = rule({ key: 'fleet/pool', id: 'pool', scope: 'account' });
    const gwA = await collector('gw-pool-a');
    const gwB = await collector('gw-pool-b');
    const acct = (used: number) => quota(pool, used, 'acct-1');
    await rater!.quotaLog.append([
      status('pa-1', [acct(300)]),
      status('pa-2', [acct(300)]),
      status('pb-1', [acct(300)]),
    ]);
    // Each collector receives every status; the account's pool is the same on both.
    for (const gw of [gwA, gwB])
      await waitFor(() => gw.quota?.view('pb-1'), 'the pooled status on both collectors');

    const devA = await device(gwA.mqttPort, 'pa-1');
    const devB = await device(gwB.mqttPort, 'pb-1');
    cleanup.push(() => devA.endAsync());
    cleanup.push(() => devB.endAsync());
    await rater!.close();
    rater = undefined;
    await devA.publishAsync('usage/pa-1', report(1, 200, 100), { qos: 1 });
    await devB.publishAsync('usage/pb-1', report(1, 50, 50), { qos: 1 });
    await waitFor(
      () => (gwA.quota?.view('pa-2')?.state === 'warning' ? true : undefined),
      'pa-1 usage raising the pool of pa-2 on gateway A',
    );
    await waitFor(
      () => (gwB.quota?.view('pb-1')?.quotas[0]?.used === '400' ? true : undefined),
      'pb-1 usage on gateway B',
    );
    // A counts its own devices (300 + 300); B its own (300 + 100); neither knows the other's.
    expect(gwA.quota!.view('pa-1')!.quotas[0]).toMatchObject({ used: '600', level: 0 });
    expect(gwA.quota!.view('pa-2')!.quotas[0]).toMatchObject({ used: '600' });
    expect(gwA.quota!.view('pb-1')!.quotas[0]).toMatchObject({ used: '600' });
    expect(gwB.quota!.view('pb-1')!.quotas[0]).toMatchObject({ used: '400', level: -1 });
    expect(gwB.quota!.view('pb-1')!.state).toBe('ok');

    // Back online: the rater's pooled figure (both gateways' usage) replaces both estimates.
    await restartRater(async () => {});
    await rater!.quotaLog.append([status('pa-1', [acct(700)]), status('pb-1', [acct(700)])]);
    for (const [gw, dev] of [
      [gwA, 'pa-2'],
      [gwB, 'pb-1'],
    ] as const)
      await waitFor(
        () => (gw.quota?.view(dev)?.quotas[0]?.used === '700' ? true : undefined),
        `the reconciled pool on ${dev}`,
      );
    expect(gwA.quota!.view('pa-2')).toMatchObject({ state: 'warning', source: 'rater' });
    expect(gwB.quota!.view('pb-1')).toMatchObject({ state: 'warning', source: 'rater' });
  });
  it.skipIf(!hasMosquitto)(
    'bridge mode: states and notices are published on the upstream broker (Mosquitto)',
    async () => {
      const run = Math.random().toString(36).slice(2, 8);
      const id = `br-${run}`;
      const clientId = `edgemeter-quota-test-${run}`;
      const gw = await startCollector({
        raterPort,
        bufferDir: join(dir, `bridge-${run}`),
        collectorId: `gw-br-${run}`,
        upstream: MQTT_URL,
        clientId,
      });
      const upstream = () =>
        mqtt.connectAsync(MQTT_URL, {
          clientId: `obs-${run}-${Math.random()}`,
          reconnectPeriod: 0,
        });
      const dev = await upstream();
      try {
        await rater!.quotaLog.append([status(id, [quota(rule(), 450)])]);
        await waitFor(() => gw.quota?.view(id), 'the status at the bridge collector');
        const seen = await watch(dev, `quota/${id}/#`);
        const retained = await waitFor(
          () => last(seen, `quota/${id}`),
          'the retained state upstream',
        );
        expect(retained).toMatchObject({ state: 'ok', source: 'rater' });

        // Usage through the upstream broker moves the local state and sends one notice.
        await dev.publishAsync(`usage/${id}`, report(1, 50, 50), { qos: 1 });
        const notice = await waitFor(() => last(seen, `quota/${id}/notice`), 'the notice upstream');
        expect(notice).toMatchObject({ deviceId: id, level: 0, source: 'collector' });
        // The state and the notice are two messages: either may arrive first.
        const state = await waitFor(
          () => seen.find((s) => s.topic === `quota/${id}` && s.body.source === 'collector'),
          'the local state upstream',
        );
        expect(state.body).toMatchObject({ state: 'warning' });
      } finally {
        // The shared broker keeps retained messages and sessions: leave nothing behind.
        await dev.publishAsync(`quota/${id}`, '', { qos: 1, retain: true });
        await dev.endAsync();
        await gw.close();
        const c = await mqtt.connectAsync(MQTT_URL, { clientId, clean: true, reconnectPeriod: 0 });
        await c.endAsync();
      }
    },
  );
});
