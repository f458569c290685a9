// Rater A/B: two real rater processes, another checkout's (A) and this one's (B), each on its own
// fresh PostgreSQL database, fed by gRPC in alternated rounds (4 streams, batches of 2,000), each
// process's CPU read from /proc per round. Both see the same machine minute by minute, which the
// whole benchmark runs cannot give on a shared machine whose speed swings by 2× within minutes
// (bench/README.md, results of the 2026-11-22 session). Not part of `npm run bench`.
//
//   node --import tsx bench/rater-ab.ts --base /path/to/other/checkout [--rounds 30] [--dims]
//     [--embedded] [--env-a NAME=VALUE,…] [--env-b NAME=VALUE,…]
//
// The other checkout must be installed and built (`npm ci && npm run build`). --dims gives every
// record meters and dims, as the mqtt-ingest load generator sends them. --embedded puts each
// rater on an embedded database of its own (a fresh directory) instead. --env-a / --env-b add
// rater options to one side (EDGEMETER_EMBEDDED_THREAD=main, say): with --base naming this very
// checkout, the two sides then differ in those options alone. Besides CPU per row it reports
// rows/s per round (the wall time of a round's 8 batches), which a change that moves work to
// another thread improves while CPU per row need not move.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EdgemeterProcess } from '../chaos/procs.ts';
import { RaterClient, encodeBatch } from '../collector/forward/client.ts';
import { UsageRecord } from '../proto/index.ts';
import { serverDatabase, type FreshDb } from './util.ts';

type Procs = typeof import('../chaos/procs.ts');

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const BASE = arg('base');
const ROUNDS = Number(arg('rounds') ?? 30);
const DIMS = process.argv.includes('--dims');
const EMBEDDED = process.argv.includes('--embedded');
/** `NAME=VALUE,…` of --env-a / --env-b. */
const sideEnv = (name: string): Record<string, string> =>
  Object.fromEntries(
    (arg(name) ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const BATCHES_PER_ROUND = 8;
const STREAMS = 4;
const RECORDS = 2000; // 20 devices × 100, a collector's full batch
const T0 = Date.UTC(2026, 9, 1);

interface Side {
  name: 'A' | 'B';
  proc: EdgemeterProcess;
  db?: FreshDb;
  pid: number;
  client: RaterClient;
  cpuS: number;
  rows: number;
  rounds: number[];
  /** Rows per second of each measured round. */
  rates: number[];
}

/** User + system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
}

let serial = 0;
/** A batch of its own devices: every record new, no two batches sharing a key or rollup row. */
function batch(side: string): Buffer {
  const b = serial++;
  const records: Uint8Array[] = [];
  for (let d = 0; d < 20; d++)
    for (let s = 0; s < RECORDS / 20; s++) {
      const endMs = T0 + (s + 1) * 15_000;
      const extra = DIMS
        ? { meters: { sms: s % 3 }, dims: { zone: 'eu', apn: 'iot.example' } }
        : {};
      const msg = {
        deviceId: `ab${side}-b${b}-d${d}`,
        seq: s,
        boot: '1',
        startMs: endMs - 15_000,
        endMs,
        up: 100 + ((s * 7919 + d) % 50_000),
        down: 1000 + ((s * 104_729 + b) % 200_000),
        receivedMs: endMs + 40,
        ...extra,
      };
      records.push(UsageRecord.encode(msg).finish());
    }
  return encodeBatch('ab-gw', `ab-gw:${side}:${b}`, records);
}

async function round(side: Side, measured: boolean): Promise<void> {
  const bufs = Array.from({ length: BATCHES_PER_ROUND }, () => batch(side.name));
  const cpu0 = cpuSeconds(side.pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      for (let i = next++; i < bufs.length; i = next++) {
        const res = await side.client.send(bufs[i] as Buffer, 60_000);
        if (res.accepted !== RECORDS) throw new Error(`rater ${side.name}: ${JSON.stringify(res)}`);
      }
    }),
  );
  if (!measured) return;
  side.rates.push((BATCHES_PER_ROUND * RECORDS * 1000) / (performance.now() - t0));
  const cpu = cpuSeconds(side.pid) - cpu0;
  side.cpuS += cpu;
  side.rows += BATCHES_PER_ROUND * RECORDS;
  side.rounds.push((cpu * 1e6) / (BATCHES_PER_ROUND * RECORDS));
}

const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  if (!BASE)
    throw new Error('usage: bench/rater-ab.ts --base <other checkout> [--rounds N] [--dims]');
  const roots = { A: resolve(BASE), B: resolve(import.meta.dirname, '..') };
  const logDir = await mkdtemp(join(tmpdir(), 'edgemeter-rater-ab-'));
  const sides: Side[] = [];
  try {
    for (const name of ['A', 'B'] as const) {
      const procs = (await import(join(roots[name], 'chaos/procs.ts'))) as Procs;
      const db = EMBEDDED ? undefined : await serverDatabase(`ab_${name.toLowerCase()}`);
      const grpcPort = await procs.freePort();
      const url = db?.url ?? `embedded:${join(logDir, `db-${name}`)}`;
      const proc = await procs.raterProcess({ name: `rater-${name}`, db: url, grpcPort }, logDir);
      Object.assign(proc.env, sideEnv(name === 'A' ? 'env-a' : 'env-b'));
      await proc.start(60_000);
      const pid = (proc as unknown as { child?: { pid?: number } }).child?.pid;
      if (pid === undefined) throw new Error(`rater ${name} has no process`);
      const client = new RaterClient(`127.0.0.1:${grpcPort}`);
      sides.push({ name, proc, db, pid, client, cpuS: 0, rows: 0, rounds: [], rates: [] });
    }
    for (const s of sides) await round(s, false); // warm-up
    for (let r = 0; r < ROUNDS; r++)
      for (const s of r % 2 === 0 ? sides : [...sides].reverse()) await round(s, true);

    const kind = DIMS ? 'records with dims and meters' : 'plain records';
    console.log(
      `rater CPU per row, ${kind}, ${EMBEDDED ? 'embedded databases' : 'PostgreSQL'}, ` +
        `${ROUNDS} alternated rounds of ${BATCHES_PER_ROUND} × ${RECORDS}:`,
    );
    for (const s of sides) {
      const sorted = [...s.rounds].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
      const overall = (s.cpuS * 1e6) / s.rows;
      console.log(
        `  ${s.name} (${roots[s.name]}): ${overall.toFixed(2)} µs overall, median round ` +
          `${median.toFixed(2)}, fastest ${(sorted[0] ?? NaN).toFixed(2)} (${s.rows} rows); ` +
          `rows/s median round ${Math.round(medianOf(s.rates))}`,
      );
    }
  } finally {
    for (const s of sides) {
      s.client.close();
      await s.proc.stop();
      await s.db?.drop().catch(() => {});
    }
    await rm(logDir, { recursive: true, force: true });
  }
}

await main();
