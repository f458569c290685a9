// Benchmark 1, MQTT ingest: the same load generator (bench/mqtt-load.ts, its own process)
// against (a) a bare aedes broker in its own process that does nothing with the messages, the
// reference, and (b) a real `edgemeter collector` (durable LevelDB outbox, forwarding to a real
// `edgemeter rater` on a fresh PostgreSQL database, embedded when no server answers).
// Target: collector ≥ 0.8 × bare aedes messages/s. The two are loaded in alternated rounds.
import { fork, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DEPLOYED_ENV, freePort, REPO, track } from '../chaos/procs.ts';
import { drained, outboxRecords } from '../chaos/observe.ts';
import { Stage } from '../chaos/stage.ts';
import type { LoadConfig, LoadResult } from './mqtt-load.ts';
import type { Benchmark } from './types.ts';
import {
  benchEnv,
  cpuSnapshot,
  cpuText,
  cpuUse,
  fmt,
  freshDatabase,
  schedSnapshot,
  schedText,
  table,
} from './util.ts';

function forkTs(file: string, args: string[] = [], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = fork(join(REPO, file), args, {
    cwd: REPO,
    execArgv: ['--import', 'tsx'],
    ...(env ? { env } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  return child;
}

function message<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: process exited (${code})`));
    });
  });
}

interface Run extends LoadResult {
  rate: number;
  cpu: Record<string, number>;
  /** schedText over the measured window (bench/util.ts). */
  sched: string;
}

/** The processes that work in each run (the other broker's stand idle beside it). */
const AEDES_RUN = ['bare-aedes', 'load-generator', 'bench'];
const COLLECTOR_RUN = ['collector', 'rater', 'postgres', 'load-generator', 'bench'];

/** `r` with the CPU of the processes in `labels` only. */
function only(r: Run, labels: string[]): Run {
  return {
    ...r,
    cpu: Object.fromEntries(Object.entries(r.cpu).filter(([l]) => labels.includes(l))),
  };
}

/** The slices of one broker as one run: messages and seconds summed, CPU shares time-weighted. */
function merge(runs: Run[]): Run {
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const acked = runs.reduce((n, r) => n + r.acked, 0);
  const cpu: Record<string, number> = {};
  for (const r of runs)
    for (const [label, share] of Object.entries(r.cpu))
      cpu[label] = (cpu[label] ?? 0) + (share * r.seconds) / seconds;
  for (const label of Object.keys(cpu)) cpu[label] = Math.round(cpu[label] ?? 0);
  return {
    acked,
    seconds,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    connected: Math.min(...runs.map((r) => r.connected)),
    rate: acked / seconds,
    cpu,
    sched: `${runs[runs.length - 1]?.sched ?? ''} (last slice)`,
  };
}

/** Runs the generator against `url`; CPU of every process is sampled over the measured window. */
async function load(cfg: LoadConfig): Promise<Run> {
  const gen = forkTs('bench/mqtt-load.ts');
  try {
    gen.send(cfg);
    await new Promise((r) => setTimeout(r, cfg.warmupMs));
    const before = cpuSnapshot();
    const sched0 = schedSnapshot();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, cfg.durationMs));
    const cpu = cpuUse(before, cpuSnapshot(), (performance.now() - t0) / 1000);
    const sched = schedText(sched0, schedSnapshot(), [
      'bare-aedes',
      'collector',
      'rater',
      'load-generator',
    ]);
    const m = await message<{ result?: LoadResult; error?: string }>(
      gen,
      cfg.warmupMs + cfg.durationMs + 30_000,
      'the load generator',
    );
    if (!m.result) throw new Error(`load generator: ${m.error}`);
    return { ...m.result, rate: m.result.acked / m.result.seconds, cpu, sched };
  } finally {
    gen.kill('SIGKILL');
  }
}

const mqttIngest: Benchmark = async ({ quick, log }) => {
  const settings = {
    connections: quick ? 50 : 100,
    window: 8,
    warmupMs: quick ? 1500 : 3000,
    durationMs: quick ? 5000 : 15_000,
  };

  // Both brokers run at once and the load goes to one, then the other, in alternated rounds:
  // the machine's speed swings within seconds (bench/README.md), and run one after the other,
  // the collector met a slower machine than its reference. Each slice has devices of its own.
  const rounds = quick ? 2 : 3;
  const slice = { ...settings, durationMs: settings.durationMs / rounds };
  log(`mqtt-ingest: bare aedes and collector → rater, ${rounds} alternated rounds …`);
  const port = await freePort();
  // The reference runs with the environment a deployed collector has (DEPLOYED_ENV: malloc
  // arenas, V8's young generation), so that the ratio compares the work, not the settings.
  const broker = forkTs('bench/aedes-broker.ts', [String(port)], {
    ...process.env,
    ...DEPLOYED_ENV,
  });
  const db = await freshDatabase();
  const env = await benchEnv(db?.url, 'mqtt');
  const stage = new Stage(env, 'mqtt-ingest', 'mq');
  const aedesRuns: Run[] = [];
  const collectorRuns: Run[] = [];
  let backlog = 0;
  try {
    await message(broker, 30_000, 'the bare aedes broker');
    const rater = await stage.rater('rater');
    const c = await stage.collector('collector', rater.ports.grpc ?? 0);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['aedes', 'collector'] : ['collector', 'aedes'];
      for (const which of order) {
        if (which === 'aedes') {
          const run = await load({
            url: `mqtt://127.0.0.1:${port}`,
            prefix: `mq-ref${round}`,
            ...slice,
          });
          aedesRuns.push(only(run, AEDES_RUN));
          continue;
        }
        const run = await load({
          url: `mqtt://127.0.0.1:${c.ports.mqtt}`,
          prefix: `mq${round}`,
          ...slice,
        });
        collectorRuns.push(only(run, COLLECTOR_RUN));
        backlog = Math.max(backlog, (await outboxRecords(c)) ?? 0);
        // What the collector still forwards must not run beside the next slice of the reference.
        await drained([c], 120_000);
      }
    }
  } finally {
    broker.kill('SIGKILL');
    await stage.cleanup();
    await db?.drop().catch(() => {});
    await rm(env.root, { recursive: true, force: true });
  }
  const aedes = merge(aedesRuns);
  const collector = merge(collectorRuns);

  const ratio = collector.rate / aedes.rate;
  // CPU per acknowledged message: what each process spends, whatever the rate the shared cores
  // allowed (a share of one core × 10⁶ µs ÷ messages per second).
  const usPerMsg = (r: Run, label: string) => ((r.cpu[label] ?? 0) * 10_000) / r.rate;
  const perMsg = (r: Run, label: string) => Math.round(usPerMsg(r, label));
  const perMsgText = (r: Run) =>
    Object.keys(r.cpu)
      .map((label) => `${label} ${perMsg(r, label)}`)
      .join(', ');
  // What the cores allow at the CPU costs this run measured: every process of the collector run
  // (generator, collector, rater, database) spends its µs per message on the same cores. The
  // second bound keeps only what a collector cannot avoid: the reference's own MQTT work
  // (generator + bare aedes) and the rater's and the database's, as if the collector's own work
  // cost nothing.
  const cores = cpus().length;
  const totalUs = (r: Run, labels = Object.keys(r.cpu)) =>
    labels.reduce((n, l) => n + usPerMsg(r, l), 0);
  const allUs = totalUs(collector);
  const floorUs =
    totalUs(aedes) +
    totalUs(
      collector,
      Object.keys(collector.cpu).filter((l) => l !== 'collector' && l !== 'load-generator'),
    );
  const ceiling = (cores * 1e6) / allUs;
  const freeCollector = (cores * 1e6) / floorUs;
  const row = (name: string, r: Run) => [
    name,
    fmt(r.rate),
    fmt(r.acked),
    fmt(r.seconds, 1),
    String(r.connected),
    String(r.errors),
  ];
  return {
    figures: {
      aedes_qos1_msgs_s: Math.round(aedes.rate),
      collector_qos1_msgs_s: Math.round(collector.rate),
      collector_ratio: Math.round(ratio * 1000) / 1000,
      aedes_cpu_us_per_msg: perMsg(aedes, 'bare-aedes'),
      collector_cpu_us_per_msg: perMsg(collector, 'collector'),
      collector_ratio_cpu_ceiling: Math.round((ceiling / aedes.rate) * 1000) / 1000,
    },
    table: [
      `MQTT ingest: ${settings.connections} connections × ${settings.window} QoS 1 publishes in ` +
        `flight, one JSON record each, ${settings.durationMs / 1000} s measured per broker in ` +
        `${rounds} alternated slices, each after ${settings.warmupMs / 1000} s warm-up (rater on ` +
        `${db ? 'PostgreSQL' : 'embedded'})`,
      table(
        ['broker', 'msgs/s', 'PUBACKs', 'seconds', 'conns', 'errors'],
        [row('bare aedes (reference)', aedes), row('edgemeter collector', collector)],
      ),
      `collector / aedes = ${ratio.toFixed(3)} (target ≥ 0.8)`,
    ].join('\n'),
    notes: [
      `bare aedes run, CPU (share of one core): ${cpuText(aedes.cpu)}`,
      `collector run, CPU (share of one core): ${cpuText(collector.cpu)}`,
      `bare aedes run, scheduler: ${aedes.sched}`,
      `collector run, scheduler: ${collector.sched}`,
      `CPU per acknowledged message, µs: bare aedes run: ${perMsgText(aedes)}; collector run: ` +
        `${perMsgText(collector)}`,
      `collector outbox backlog at the end of the run: ${fmt(backlog)} records (forwarding kept ` +
        `up when small)`,
      `CPU ceiling on ${cores} cores: all processes of the collector run spend ` +
        `${fmt(allUs, 1)} µs per message, so at most ${fmt(ceiling)} msgs/s = ` +
        `${(ceiling / aedes.rate).toFixed(3)} × aedes (collector_ratio_cpu_ceiling); were the ` +
        `collector's own work free (generator + bare aedes + rater + database, ` +
        `${fmt(floorUs, 1)} µs), ${fmt(freeCollector)} msgs/s = ` +
        `${(freeCollector / aedes.rate).toFixed(3)} × aedes`,
    ],
  };
};

export default mqttIngest;
