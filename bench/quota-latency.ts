// Benchmark 6, quota latency (issue 7): from the PUBACK of the record that crosses a quota
// threshold to `quota/{deviceId}` changing at that device's collector, with the rater under the
// end-to-end load (bench/e2e.ts's device fleet at full speed, through the same collector).
//
// A real rater on a fresh PostgreSQL database and a real collector (quota Watch on, the default)
// are started through chaos/stage.ts. Over the rater's HTTP API (loopback, no API keys: admin)
// a plan gets a device-scope quota of 1,000,000 bytes with a notify threshold at 50 %, and the
// probe devices are assigned to an account on it. Each probe device is one MQTT connection in
// this process, subscribed to its own `quota/{id}`; it publishes one record of 60 % of the limit
// and times the first message on `quota/{id}` whose state is `warning`. Same process, same clock.
//
// Two paths, reported apart, because the collector decides alone only when it knows a device:
//   rater: the device has no status yet; only the rater can decide (ingest commit → tracker →
//          change log → Watch stream → retained publish).
//   local: the device got a status first (a 10 % record before the load, state ok); the
//          collector adds the crossing record to it just after the PUBACK and publishes itself.
// The `source` of the first warning message is counted, so a path that was not taken shows.
import { rm } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { Stage } from '../chaos/stage.ts';
import { openSql } from '../chaos/verify.ts';
import type { Benchmark, BenchResult } from './types.ts';
import { benchEnv, cpuSnapshot, cpuText, cpuUse, fmt, serverDatabase, table } from './util.ts';

const WINDOW = 4;
const LIMIT = 1_000_000;
const PLAN = `
plan: qbench
currency: EUR
effective_from: '2020-01-01'
charges:
  - { id: fee, type: fixed, per: account, amount: '1.00' }
quotas:
  - id: cap
    meter: total
    scope: device
    limit: ${LIMIT}
    window: period
    thresholds:
      - { at: 50%, action: notify }
`;
/** How long a probe waits for its warning before it counts as missed. */
const PROBE_TIMEOUT_MS = 20_000;

type Path = 'rater' | 'local';

interface Probe {
  id: string;
  path: Path;
  client: MqttClient;
  seq: number;
  /** Messages on quota/{id}, as they arrive: arrival time, state, source. */
  seen: Array<{ at: number; state: string; source: string }>;
}

interface Sample {
  id: string;
  path: Path;
  /** Wall-clock time of the PUBACK, to compare with the rater's ingested_at. */
  ackedAt: number;
  ms: number;
  source: string;
}

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s.at(-1) ?? NaN };
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function api(base: string, method: string, path: string, body: string, type: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': type },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

async function openProbe(mqttPort: number, id: string, path: Path): Promise<Probe> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    clientId: id,
    clean: true,
    reconnectPeriod: 0,
  });
  const probe: Probe = { id, path, client, seq: 0, seen: [] };
  client.on('message', (_topic, payload) => {
    if (payload.length === 0) return;
    const s = JSON.parse(payload.toString()) as { state: string; source: string };
    probe.seen.push({ at: performance.now(), state: s.state, source: s.source });
  });
  await client.subscribeAsync(`quota/${id}`, { qos: 1 });
  return probe;
}

/** Publishes one record of `bytes` (split up/down) and resolves with the PUBACK's time. */
async function report(p: Probe, bytes: number): Promise<number> {
  const rec = {
    seq: ++p.seq,
    boot: 1,
    ts: new Date().toISOString(),
    up: bytes / 2,
    down: bytes / 2,
  };
  await p.client.publishAsync(`usage/${p.id}`, JSON.stringify(rec), { qos: 1 });
  return performance.now();
}

/** One crossing: PUBACK → first warning on quota/{id}; undefined when it never came. */
async function cross(p: Probe, bytes: number): Promise<Sample | undefined> {
  const before = p.seen.length;
  const acked = await report(p, bytes);
  const ackedAt = Date.now();
  const end = Date.now() + PROBE_TIMEOUT_MS;
  while (Date.now() < end) {
    const hit = p.seen.slice(before).find((s) => s.state === 'warning');
    if (hit) return { id: p.id, path: p.path, ackedAt, ms: hit.at - acked, source: hit.source };
    await sleep(5);
  }
  return undefined;
}

const quotaLatency: Benchmark = async ({ quick, log }) => {
  const perPath = quick ? 20 : 100;
  const devices = quick ? 50 : 100;
  const warmMs = quick ? 3_000 : 5_000;
  // Crossings alternate between the paths, spread over the load: ~8 s quick, ~30 s full.
  const spacingMs = quick ? 200 : 150;

  const db = await serverDatabase('quota_latency');
  const env = await benchEnv(db.url, 'quota-latency');
  const prefix = 'qlat';
  const stage = new Stage(env, 'quota-latency', prefix);
  const probes: Probe[] = [];
  // Every wait below has its own limit; this one bounds the whole run whatever happens, and the
  // cleanup in `finally` kills the processes a body still running past it waits on.
  const limitMs = quick ? 180_000 : 360_000;
  let timer: NodeJS.Timeout | undefined;
  const body = async (): Promise<BenchResult> => {
    const rater = await stage.rater('rater');
    const collector = await stage.collector('collector', rater.ports.grpc ?? 0);
    const base = `http://127.0.0.1:${rater.httpPort}`;
    const json = 'application/json';
    await api(base, 'PUT', '/v1/plans/qbench', PLAN, 'application/yaml');
    const acct = JSON.stringify({ currency: 'EUR', time_zone: 'UTC', plan: 'qbench' });
    await api(base, 'PUT', '/v1/accounts/qbench', acct, json);

    const mqttPort = collector.ports.mqtt ?? 0;
    for (let i = 0; i < perPath; i++)
      for (const path of ['rater', 'local'] as const) {
        const id = `qprobe-${path}-${i}`;
        await api(base, 'PUT', `/v1/devices/${id}`, JSON.stringify({ account: 'qbench' }), json);
        probes.push(await openProbe(mqttPort, id, path));
      }
    // The local path needs a status at the collector first: 10 %, state ok, from the rater.
    const local = probes.filter((p) => p.path === 'local');
    await Promise.all(local.map((p) => report(p, LIMIT / 10)));
    await until(
      () => (local.every((p) => p.seen.some((s) => s.state === 'ok')) ? true : undefined),
      'an initial status for every local-path probe device',
      60_000,
    );
    log(
      `quota-latency: ${devices} load devices at full speed, ${perPath} crossings per path, ` +
        `one every ${spacingMs} ms after ${warmMs / 1000} s`,
    );

    const fleet = await stage.devices([collector], {
      devices,
      window: WINDOW,
      paceMs: 0,
      publishTimeoutMs: 10_000,
    });
    await sleep(warmMs);
    const t0 = Date.now();
    const acked0 = fleet.progress.acked;
    const cpu0 = cpuSnapshot();
    const runs: Array<Promise<Sample | undefined>> = [];
    // `probes` alternates rater, local, rater, … (the order they were opened in).
    for (const p of probes) {
      runs.push(cross(p, (LIMIT * 6) / 10 - (p.path === 'local' ? LIMIT / 10 : 0)));
      await sleep(spacingMs);
    }
    const probeEnd = Date.now();
    const ackRate = (fleet.progress.acked - acked0) / ((probeEnd - t0) / 1000);
    const cpu = cpuText(cpuUse(cpu0, cpuSnapshot(), (probeEnd - t0) / 1000));
    const results = await Promise.all(runs);
    const samples = results.filter((s): s is Sample => s !== undefined);

    // What the rater committed while the crossings were made (its transaction times).
    const sql = await openSql(db.url);
    let eventsS: number;
    let toIngest: Stats;
    let toLog: Stats;
    try {
      const [row] = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM usage_records
         WHERE ingested_at >= $1 AND ingested_at < $2 AND device_id LIKE $3`,
        [new Date(t0), new Date(probeEnd), `${prefix}%`],
      );
      eventsS = Number(row?.n ?? 0) / ((probeEnd - t0) / 1000);
      // The rater path's first part: PUBACK → the start of the transaction that stored the
      // crossing record (forwarding and the queue in front of it); the rest is the decision.
      const ingested = await sql.query<{ device_id: string; at: Date }>(
        `SELECT device_id, max(ingested_at) AS at FROM usage_records
         WHERE device_id LIKE 'qprobe-rater-%' GROUP BY device_id`,
      );
      const at = new Map(ingested.map((r) => [r.device_id, new Date(r.at).getTime()]));
      const appended = await sql.query<{ device_id: string; at: Date }>(
        `SELECT device_id, min(created_at) AS at FROM quota_changes
         WHERE device_id LIKE 'qprobe-rater-%' AND status->>'state' = 'warning'
         GROUP BY device_id`,
      );
      const logAt = new Map(appended.map((r) => [r.device_id, new Date(r.at).getTime()]));
      toLog = stats(
        samples
          .filter((x) => x.path === 'rater' && logAt.has(x.id))
          .map((x) => (logAt.get(x.id) as number) - x.ackedAt),
      );
      toIngest = stats(
        samples
          .filter((x) => x.path === 'rater' && at.has(x.id))
          .map((x) => (at.get(x.id) as number) - x.ackedAt),
      );
    } finally {
      await sql.close();
    }

    const by = (path: Path) => stats(samples.filter((s) => s.path === path).map((s) => s.ms));
    const sources = (path: Path) => {
      const n: Record<string, number> = {};
      for (const s of samples.filter((x) => x.path === path)) n[s.source] = (n[s.source] ?? 0) + 1;
      return Object.entries(n)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    };
    const all = stats(samples.map((s) => s.ms));
    const rows = (['rater', 'local'] as const).map((path): Array<string | number> => {
      const s = by(path);
      return [
        path,
        String(perPath),
        String(s.n),
        String(perPath - s.n),
        s.p50,
        s.p99,
        s.max,
        sources(path) || '-',
      ];
    });
    rows.push([
      'both',
      String(2 * perPath),
      String(all.n),
      String(2 * perPath - all.n),
      all.p50,
      all.p99,
      all.max,
      '',
    ]);
    const rs = by('rater');
    const ls = by('local');
    return {
      figures: {
        quota_latency_p50_ms: Math.round(all.p50),
        quota_latency_p99_ms: Math.round(all.p99),
        quota_latency_rater_p50_ms: Math.round(rs.p50),
        quota_latency_rater_p99_ms: Math.round(rs.p99),
        quota_latency_local_p50_ms: Math.round(ls.p50),
        quota_latency_local_p99_ms: Math.round(ls.p99),
        quota_latency_rater_ingest_p99_ms: Math.round(toIngest.p99),
        quota_latency_rater_log_p99_ms: Math.round(toLog.p99),
        quota_latency_missed: 2 * perPath - all.n,
        quota_latency_load_events_s: Math.round(eventsS),
      },
      table: [
        `Quota latency: PUBACK of the crossing record → first warning on quota/{id}, under ` +
          `${devices} load devices × ${WINDOW} QoS 1 publishes in flight (full speed); load ` +
          `during the crossings: ${fmt(eventsS)} events/s committed by the rater, ` +
          `${fmt(ackRate)} PUBACK/s`,
        table(
          ['path', 'crossings', 'seen', 'missed', 'p50 ms', 'p99 ms', 'max ms', 'source'],
          rows,
        ),
        `rater path, of which PUBACK → the rater's ingest transaction of the crossing record ` +
          `(ingested_at): p50 ${fmt(toIngest.p50)} ms, p99 ${fmt(toIngest.p99)} ms, ` +
          `max ${fmt(toIngest.max)} ms (${toIngest.n} records); PUBACK → the transaction ` +
          `appending the warning to the change log (created_at): p50 ${fmt(toLog.p50)} ms, ` +
          `p99 ${fmt(toLog.p99)} ms, max ${fmt(toLog.max)} ms (${toLog.n})`,
      ].join('\n'),
      notes: [
        'rater path: the device had no status, so only the rater can decide (commit → ' +
          'tracker → change log → Watch → retained publish); local path: the device had a ' +
          'status (ok, 10 %), the collector adds the record after its PUBACK and publishes',
        `missed = no warning within ${PROBE_TIMEOUT_MS / 1000} s; p99 is nearest-rank over ` +
          `${perPath} samples per path (quick: the p99 is the maximum)`,
        `CPU during the crossings (share of one core): ${cpu}`,
        ...stage.procs.flatMap((p) => p.crashes.map((c) => `PROBLEM: ${p.name} crashed (${c})`)),
      ],
    };
  };
  try {
    return await Promise.race([
      body(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hard timeout after ${limitMs} ms`)), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await Promise.all(probes.map((p) => p.client.endAsync(true).catch(() => {})));
    await stage.cleanup();
    await db.drop().catch(() => {});
    await rm(env.root, { recursive: true, force: true });
  }
};

export default quotaLatency;
