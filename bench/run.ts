// `npm run bench`: runs every benchmark module present in bench/, one after another, prints
// each table, and ends with ONE JSON line holding every figure (null when a benchmark is missing
// or failed). `BENCH_QUICK=1 npm run bench` (or `-- --quick`) runs the reduced versions.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { killAllChildren, REPO } from '../chaos/procs.ts';
import { calibrate } from './calibrate.ts';
import type { Benchmark, BenchResult } from './types.ts';

const BENCHMARKS: Array<{ id: string; keys: string[] }> = [
  { id: 'mqtt-ingest', keys: ['aedes_qos1_msgs_s', 'collector_qos1_msgs_s', 'collector_ratio'] },
  { id: 'e2e', keys: ['e2e_events_s', 'e2e_p50_ms', 'e2e_p99_ms', 'lost', 'duplicated'] },
  { id: 'rater-ingest', keys: ['rater_rows_s', 'raw_insert_rows_s', 'rater_ratio'] },
  { id: 'rating', keys: ['rating_month_1000_devices_s'] },
  { id: 'footprint', keys: ['collector_rss_mb_1m_backlog', 'drain_records_s'] },
  { id: 'quota-latency', keys: ['quota_latency_p50_ms', 'quota_latency_p99_ms'] },
];

const KEYS = [
  'aedes_qos1_msgs_s',
  'collector_qos1_msgs_s',
  'collector_ratio',
  'e2e_events_s',
  'e2e_p50_ms',
  'e2e_p99_ms',
  'rater_rows_s',
  'raw_insert_rows_s',
  'rater_ratio',
  'rating_month_1000_devices_s',
  'collector_rss_mb_1m_backlog',
  'drain_records_s',
  'quota_latency_p50_ms',
  'quota_latency_p99_ms',
  'lost',
  'duplicated',
];

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });

const args = process.argv.slice(2);
const quick = process.env.BENCH_QUICK === '1' || args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));
const log = (line: string) => console.log(line);
const figures: Record<string, number | null> = Object.fromEntries(KEYS.map((k) => [k, null]));
const status: Record<string, string> = {};
const started = Date.now();

log(`edgemeter bench: ${quick ? 'quick' : 'full'} run`);
// The machine's speed before and after (bench/calibrate.ts): figures of runs far apart compare
// only alongside it.
const machineStart = calibrate();
log(`machine: ${machineStart} µs of CPU per calibration unit (bench/calibrate.ts)`);
for (const { id, keys } of BENCHMARKS) {
  if (only.length > 0 && !only.includes(id)) continue;
  const file = join(REPO, 'bench', `${id}.ts`);
  if (!existsSync(file)) {
    status[id] = 'missing';
    log(`\n■ ${id}: not present (bench/${id}.ts), figures null`);
    continue;
  }
  log(`\n■ ${id}`);
  const t0 = Date.now();
  try {
    const mod = (await import(file)) as { default?: Benchmark };
    if (typeof mod.default !== 'function') throw new Error('no default export');
    const r: BenchResult = await mod.default({ quick, log });
    for (const [k, v] of Object.entries(r.figures)) figures[k] = Number.isFinite(v) ? v : null;
    log('');
    log(r.table);
    for (const n of r.notes ?? []) log(`  · ${n}`);
    status[id] = `ok in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  } catch (err) {
    for (const k of keys) figures[k] = null;
    status[id] = `failed: ${err instanceof Error ? err.message : String(err)}`;
    log(`  ✘ ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    // Whatever a benchmark left behind does not run into the next one.
    killAllChildren();
  }
}

const machineEnd = calibrate();
log('');
log(`machine: ${machineStart} µs per calibration unit at the start, ${machineEnd} at the end`);
for (const [id, s] of Object.entries(status)) log(`${id}: ${s}`);
const seconds = (Date.now() - started) / 1000;
log(`total ${seconds.toFixed(1)} s`);
console.log(
  JSON.stringify({
    ...figures,
    quick,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    machine_us_start: machineStart,
    machine_us_end: machineEnd,
    seconds,
  }),
);
killAllChildren();
process.exit(0);
