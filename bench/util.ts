// Shared helpers of the benchmarks: a fresh PostgreSQL database per run, a throw-away chaos
// environment for chaos/stage.ts, CPU accounting of the processes under test (read from /proc,
// so "what bounds a figure" is an observation), and table rendering.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { renderTable } from '../common/table.ts';
import { PROFILES } from '../chaos/profiles.ts';
import type { ChaosEnv } from '../chaos/stage.ts';

export const PG_ADMIN_URL =
  process.env.BENCH_PG_URL ??
  process.env.EDGEMETER_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDb {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates `edgemeter_bench_<tag>_<pid>_<random>`; undefined when no server answers (the caller
 * decides whether it can fall back to the embedded database).
 */
export async function freshDatabase(
  tag = 'run',
  adminUrl = PG_ADMIN_URL,
): Promise<FreshDb | undefined> {
  const connect = async () => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      return c;
    } catch {
      return undefined;
    }
  };
  const client = await connect();
  if (!client) return undefined;
  const name = `edgemeter_bench_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = await connect();
      await c?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c?.end();
    },
  };
}

/** freshDatabase for benchmarks that need the PostgreSQL server: a clear error without one. */
export async function serverDatabase(tag: string): Promise<FreshDb> {
  const db = await freshDatabase(tag);
  if (!db) throw new Error(`no PostgreSQL server at ${PG_ADMIN_URL} (set BENCH_PG_URL)`);
  return db;
}

/** A temporary directory and a chaos environment (chaos/stage.ts) for one benchmark. */
export async function benchEnv(pgUrl: string | undefined, tag: string): Promise<ChaosEnv> {
  const root = await mkdtemp(join(tmpdir(), `edgemeter-bench-${tag}-`));
  const logDir = join(root, 'logs');
  await mkdir(logDir);
  return {
    profile: { ...PROFILES.full, settleTimeoutMs: 120_000, scenarioTimeoutMs: 300_000 },
    root,
    logDir,
    pgUrl,
  };
}

// ── CPU accounting ────────────────────────────────────────────────────────────────────────
const TICK = 100; // USER_HZ on Linux

interface Proc {
  pid: number;
  ppid: number;
  ticks: number;
  label: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(rest[1]);
    const ticks = Number(rest[11]) + Number(rest[12]);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    let label = comm;
    if (cmd.includes('edgemeter.js rater')) label = 'rater';
    else if (cmd.includes('edgemeter.js collector')) label = 'collector';
    else if (cmd.includes('chaos/devices.ts')) label = 'devices';
    else if (cmd.includes('bench/mqtt-load.ts')) label = 'load-generator';
    else if (cmd.includes('bench/aedes-broker.ts')) label = 'bare-aedes';
    else if (pid === process.pid) label = 'bench';
    return { pid, ppid, ticks, label };
  } catch {
    return undefined;
  }
}

/** CPU ticks so far of this process, its descendants, and every postgres process. */
export function cpuSnapshot(): Map<number, Proc> {
  const all: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) all.push(p);
  }
  const ours = new Set<number>([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all)
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
  }
  return new Map(
    all.filter((p) => ours.has(p.pid) || p.label === 'postgres').map((p) => [p.pid, p]),
  );
}

/** Per label, the share of one core used between two snapshots: "collector 98%, …". */
export function cpuUse(
  before: Map<number, Proc>,
  after: Map<number, Proc>,
  seconds: number,
): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [pid, a] of after) {
    const d = a.ticks - (before.get(pid)?.ticks ?? 0);
    by[a.label] = (by[a.label] ?? 0) + d;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(by)) {
    const pct = Math.round((v / TICK / seconds) * 100);
    if (pct > 0) out[k] = pct;
  }
  return out;
}

/**
 * Where the cores went: the machine's busy share (all processes, from /proc/stat) and, per
 * process of ours, its main thread's time running, runnable but waiting for a core, and asleep
 * (/proc/<pid>/schedstat). A JavaScript program's event loop is its main thread: "waits" is time
 * it had work and no core, "asleep" time it had nothing to do (an event loop starved of input, a
 * stall in the pipeline).
 */
export interface SchedSnapshot {
  atNs: bigint;
  busyTicks: number;
  allTicks: number;
  /** pid → its label and its main thread's run and run-queue wait so far, in nanoseconds. */
  mains: Map<number, { label: string; runNs: number; waitNs: number }>;
}

export function schedSnapshot(): SchedSnapshot {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1);
  const t = (fields ?? []).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the cores' idle time.
  const allTicks = t.slice(0, 8).reduce((a, b) => a + b, 0);
  const busyTicks = allTicks - (t[3] ?? 0) - (t[4] ?? 0);
  const mains = new Map<number, { label: string; runNs: number; waitNs: number }>();
  for (const [pid, p] of cpuSnapshot()) {
    if (p.label === 'postgres') continue; // many short-lived backends: the process CPU says enough
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
      mains.set(pid, { label: p.label, runNs: run ?? 0, waitNs: wait ?? 0 });
    } catch {
      // exited
    }
  }
  return { atNs: process.hrtime.bigint(), busyTicks, allTicks, mains };
}

/** "machine 92 % busy; main threads: collector runs 68 %, waits 28 %, asleep 4 %; …" */
export function schedText(a: SchedSnapshot, b: SchedSnapshot, labels: string[]): string {
  const ns = Number(b.atNs - a.atNs);
  const all = b.allTicks - a.allTicks;
  const busy = all > 0 ? Math.round((100 * (b.busyTicks - a.busyTicks)) / all) : NaN;
  const by = new Map<string, { run: number; wait: number; n: number }>();
  for (const [pid, x] of b.mains) {
    const y = a.mains.get(pid);
    if (!y || !labels.includes(x.label)) continue;
    const s = by.get(x.label) ?? { run: 0, wait: 0, n: 0 };
    by.set(x.label, {
      run: s.run + x.runNs - y.runNs,
      wait: s.wait + x.waitNs - y.waitNs,
      n: s.n + 1,
    });
  }
  const parts = labels.flatMap((l) => {
    const s = by.get(l);
    if (!s || ns <= 0) return [];
    const run = Math.round((100 * s.run) / s.n / ns);
    const wait = Math.round((100 * s.wait) / s.n / ns);
    return [
      `${l} runs ${run} %, waits for a core ${wait} %, asleep ${Math.max(0, 100 - run - wait)} %`,
    ];
  });
  return `machine ${busy} % busy; main threads: ${parts.join('; ') || 'none measured'}`;
}

export const cpuText = (use: Record<string, number>): string =>
  Object.entries(use)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}%`)
    .join(', ') || 'nothing measurable';

// ── tables ────────────────────────────────────────────────────────────────────────────────
export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Numbers as the tables show them: grouped above 100, 1–2 decimals below. */
function cell(c: string | number): string {
  if (typeof c === 'string') return c;
  if (!Number.isFinite(c)) return String(c);
  return Math.abs(c) >= 100 ? fmt(c) : fmt(c, Math.abs(c) >= 10 ? 1 : 2);
}

/** The project's table (common/table.ts): first column left, the others right-aligned. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  return renderTable(
    head,
    rows.map((r) => r.map(cell)),
    head.map((_, i) => i > 0),
  );
}
