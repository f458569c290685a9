// Runs the chaos scenarios one after another on a fresh database and a fresh temporary
// directory, and formats the summary. Used by `npm run chaos` (chaos/run.ts) and by
// test/chaos.test.ts.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Profile } from './profiles.ts';
import { collectorKill, dbOutage, flakyNetwork, raterKill } from './scenarios.ts';
import { backlog, duplicateStorm } from './scenarios-volume.ts';
import type { ChaosEnv, ScenarioResult } from './stage.ts';

export const SCENARIOS: Array<{ id: string; run: (env: ChaosEnv) => Promise<ScenarioResult> }> = [
  { id: 'collector-kill', run: collectorKill },
  { id: 'rater-kill', run: raterKill },
  { id: 'db-outage', run: dbOutage },
  { id: 'flaky-network', run: flakyNetwork },
  { id: 'duplicate-storm', run: duplicateStorm },
  { id: 'backlog', run: backlog },
];

export const DEFAULT_PG_URL =
  process.env.CHAOS_PG_URL ??
  process.env.EDGEMETER_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export interface ChaosOptions {
  profile: Profile;
  /** Scenario ids to run (default: all). */
  only?: string[];
  /** PostgreSQL server to create the run's database on; null forces the embedded database. */
  pgAdminUrl?: string | null;
  log?: (line: string) => void;
}

export interface ChaosRun {
  profile: string;
  database: 'postgresql' | 'embedded';
  ok: boolean;
  results: ScenarioResult[];
  /** Kept when something failed, with every process's log under logs/. */
  dir: string | undefined;
}

async function admin(url: string): Promise<pg.Client | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return client;
  } catch {
    return undefined;
  }
}

/** Creates `edgemeter_chaos_<pid>_<random>` and returns its URL and a drop function. */
async function freshDatabase(adminUrl: string) {
  const client = await admin(adminUrl);
  if (!client) return undefined;
  const name = `edgemeter_chaos_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`cannot create a database on ${adminUrl}: ${String(err)}`, { cause: err });
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = await admin(adminUrl);
      await c?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c?.end();
    },
  };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosRun> {
  const log = opts.log ?? (() => {});
  const root = await mkdtemp(join(tmpdir(), 'edgemeter-chaos-'));
  const logDir = join(root, 'logs');
  await mkdir(logDir);
  const adminUrl = opts.pgAdminUrl === undefined ? DEFAULT_PG_URL : opts.pgAdminUrl;
  const db = adminUrl ? await freshDatabase(adminUrl) : undefined;
  if (!db) {
    if (process.env.EDGEMETER_REQUIRE_SERVICES === '1')
      throw new Error(`PostgreSQL at ${adminUrl} is required but unreachable`);
    log(
      `PostgreSQL ${adminUrl ? `not reachable at ${adminUrl}` : 'not used'}: the raters use ` +
        `embedded:<dir>; the database-refusal scenario is skipped`,
    );
  }
  const env: ChaosEnv = { profile: opts.profile, root, logDir, pgUrl: db?.url };
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of SCENARIOS) {
      if (opts.only && !opts.only.includes(scenario.id)) continue;
      log(`▶ ${scenario.id} …`);
      const r = await scenario.run(env);
      results.push(r);
      log(
        `  ${verdict(r)} ${r.name} in ${r.seconds.toFixed(1)} s${r.problems.length ? `: ${r.problems.join('; ')}` : ''}`,
      );
    }
  } finally {
    await db
      ?.drop()
      .catch((err: unknown) => log(`could not drop the chaos database: ${String(err)}`));
  }
  const ok = results.every((r) => r.ok);
  if (ok) await rm(root, { recursive: true, force: true });
  return {
    profile: opts.profile.name,
    database: db ? 'postgresql' : 'embedded',
    ok,
    results,
    dir: ok ? undefined : root,
  };
}

function verdict(r: ScenarioResult): string {
  return r.skipped ? 'SKIP' : r.ok ? 'PASS' : 'FAIL';
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pairs = (o: Record<string, number | string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
    .join(' ');

/** The human summary: one row per scenario, then what each measured and what went wrong. */
export function summary(run: ChaosRun): string {
  const head = [
    'scenario',
    'trials',
    'sent',
    'acked',
    'billed',
    'lost',
    'dup',
    'bytes',
    'rejected',
    'verdict',
    'time',
  ];
  const rows = run.results.map((r) => [
    r.name,
    fmt(r.trials),
    fmt(r.sent),
    fmt(r.acked),
    fmt(r.billed),
    fmt(r.lost),
    fmt(r.duplicated),
    r.skipped ? '-' : r.bytesExact ? 'exact' : 'WRONG',
    Object.keys(r.rejected).length ? pairs(r.rejected) : '0',
    verdict(r),
    `${r.seconds.toFixed(1)}s`,
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 9 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  const out = [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line), ''];
  for (const r of run.results) {
    out.push(`${r.name}:`);
    if (r.skipped) out.push(`  skipped: ${r.skipped}`);
    if (Object.keys(r.measured).length) out.push(`  measured: ${pairs(r.measured)}`);
    if (Object.keys(r.faults).length) out.push(`  devices saw: ${pairs(r.faults)}`);
    for (const p of r.problems) out.push(`  PROBLEM: ${p}`);
  }
  out.push('');
  out.push(
    `${run.ok ? '✔' : '✘'} ${run.profile} run on ${run.database === 'postgresql' ? 'PostgreSQL' : 'the embedded database'}: ` +
      (run.ok
        ? 'every acknowledged record billed exactly once, byte totals exact'
        : `failures (logs kept in ${run.dir})`),
  );
  return out.join('\n');
}
