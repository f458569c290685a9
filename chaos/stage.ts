// The scaffolding every scenario shares: it starts raters, collectors, proxies and the devices,
// remembers all of them, settles the run (devices flushed, outboxes drained), reads the bill
// back, and always tears everything down — also when a scenario fails or runs out of time.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Fleet, type FleetConfig, type Truth } from './fleet.ts';
import { ChaosProxy } from './proxy.ts';
import { deadLettersByCode, drained } from './observe.ts';
import { collectorProcess, freePort, raterProcess, type EdgemeterProcess } from './procs.ts';
import { checkBilling, openSql, type Sql } from './verify.ts';
import type { Profile } from './profiles.ts';

export interface ChaosEnv {
  profile: Profile;
  /** Temporary directory of this run (buffers, embedded databases, logs). */
  root: string;
  logDir: string;
  /** This run's PostgreSQL database, or undefined when the raters use the embedded one. */
  pgUrl: string | undefined;
}

export interface ScenarioResult {
  name: string;
  trials: number;
  sent: number;
  acked: number;
  billed: number;
  lost: number;
  duplicated: number;
  /** Records the pipeline refused, by reason (dead letters by code; 0 for valid records). */
  rejected: Record<string, number>;
  bytesExact: boolean;
  ok: boolean;
  seconds: number;
  /** What went wrong as the devices saw it (publishes without PUBACK, failed connects). */
  faults: Record<string, number>;
  /** Scenario-specific measurements (drain rate, UNAVAILABLE answers, …). */
  measured: Record<string, number | string>;
  problems: string[];
  skipped?: string;
}

export class Stage {
  readonly procs: EdgemeterProcess[] = [];
  readonly proxies: ChaosProxy[] = [];
  readonly measured: Record<string, number | string> = {};
  fleet: Fleet | undefined;
  readonly started = Date.now();
  private probe: Promise<Sql> | undefined;

  constructor(
    readonly env: ChaosEnv,
    readonly name: string,
    /** Device id prefix: keeps this scenario's rows apart from the others' in the database. */
    readonly prefix: string,
  ) {}

  /** The database of this scenario's raters (embedded: one directory per scenario). */
  get db(): string {
    return this.env.pgUrl ?? `embedded:${join(this.env.root, `${this.prefix}-db`)}`;
  }

  get embedded(): boolean {
    return this.env.pgUrl === undefined;
  }

  /** A connection of the harness's own to the run's PostgreSQL database (to watch the rater). */
  sql(): Promise<Sql> {
    if (!this.env.pgUrl) throw new Error('no PostgreSQL server in this run');
    this.probe ??= openSql(this.env.pgUrl);
    return this.probe;
  }

  async dir(name: string): Promise<string> {
    const path = join(this.env.root, `${this.prefix}-${name}`);
    await mkdir(path, { recursive: true });
    return path;
  }

  async rater(
    name: string,
    opts: { grpcPort?: number; db?: string; start?: boolean } = {},
  ): Promise<EdgemeterProcess> {
    const grpcPort = opts.grpcPort ?? (await freePort());
    const proc = await raterProcess(
      { name: `${this.prefix}-${name}`, db: opts.db ?? this.db, grpcPort },
      this.env.logDir,
    );
    this.procs.push(proc);
    if (opts.start !== false) await proc.start(60_000);
    return proc;
  }

  /** `rater`: a loopback port, or an EDGEMETER_RATER value such as a list of addresses. */
  async collector(
    name: string,
    rater: number | string,
    opts: { bufferDir?: string; collectorId?: string } = {},
  ): Promise<EdgemeterProcess> {
    const proc = await collectorProcess(
      {
        name: `${this.prefix}-${name}`,
        ...(opts.collectorId ? { collectorId: `${this.prefix}-${opts.collectorId}` } : {}),
        mqttPort: await freePort(),
        ...(typeof rater === 'number' ? { raterPort: rater } : { raterPort: 0, rater }),
        bufferDir: opts.bufferDir ?? (await this.dir(name)),
      },
      this.env.logDir,
    );
    this.procs.push(proc);
    await proc.start(120_000);
    return proc;
  }

  async proxy(targetPort: number): Promise<ChaosProxy> {
    // A fixed port from freePort: refuse() and reopen() bind it again mid-scenario.
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: targetPort }, await freePort());
    this.proxies.push(proxy);
    await proxy.start();
    return proxy;
  }

  /** Starts the devices process, publishing to the given collectors. */
  async devices(
    collectors: EdgemeterProcess[],
    config: Partial<FleetConfig> & Pick<FleetConfig, 'devices'>,
  ): Promise<Fleet> {
    this.fleet = await Fleet.start({
      prefix: this.prefix,
      brokers: collectors.map((c) => `mqtt://127.0.0.1:${c.ports.mqtt}`),
      boot: '7',
      // Device time ends a few minutes in the past: inside any clock-skew tolerance and never
      // in the future, so the collector's skew policy accepts every record.
      baseTsMs: Date.now() - 20 * 60_000,
      stepMs: 10,
      recordsPerPublish: [1],
      window: 2,
      publishTimeoutMs: 5000,
      // Full speed would starve the processes under test of the two cores; this still makes
      // thousands of publishes a second.
      paceMs: 5,
      ...config,
    });
    return this.fleet;
  }

  /** Devices stop creating records and deliver everything; the collectors' outboxes drain. */
  async settle(collectors: EdgemeterProcess[]): Promise<Truth> {
    if (!this.fleet) throw new Error('no devices');
    const timeout = this.env.profile.settleTimeoutMs;
    const truth = await this.fleet.finish(timeout);
    await drained(collectors, timeout);
    return truth;
  }

  /** Reads the bill back and judges it against the truth. */
  async result(truth: Truth, trials: number, collectors: EdgemeterProcess[]) {
    const rejected: Record<string, number> = {};
    for (const c of collectors)
      for (const [code, n] of Object.entries(await deadLettersByCode(c)))
        rejected[code] = (rejected[code] ?? 0) + n;
    // PGlite serves one process: the raters let go of the directory before we read it.
    if (this.embedded) for (const p of this.procs) await p.stop();
    const sql = await openSql(this.db);
    try {
      const bill = await checkBilling(sql, this.prefix, truth);
      const problems = [...bill.problems];
      if (!truth.complete) problems.push('devices still had unacknowledged records at the end');
      if (bill.conflicts > 0) problems.push(`${bill.conflicts} conflicting versions recorded`);
      // "Never crashes a process" (Guarantee 3): an exit nobody asked for fails the scenario.
      for (const p of this.procs)
        for (const crash of p.crashes) problems.push(`${p.name} crashed (${crash})`);
      const result: ScenarioResult = {
        name: this.name,
        trials,
        sent: truth.sent,
        acked: truth.acked,
        billed: bill.billed,
        lost: bill.lost,
        duplicated: bill.duplicated,
        rejected,
        bytesExact: bill.bytesExact,
        ok: problems.length === 0,
        seconds: (Date.now() - this.started) / 1000,
        faults: truth.faults,
        measured: { ...this.measured, resent: truth.resent, unackedBilled: bill.unackedBilled },
        problems,
      };
      return result;
    } finally {
      await sql.close();
    }
  }

  async cleanup(): Promise<void> {
    await this.fleet?.close().catch(() => {});
    await Promise.all(this.procs.map((p) => p.retire().catch(() => {})));
    await Promise.all(this.proxies.map((p) => p.close().catch(() => {})));
    const probe = this.probe;
    this.probe = undefined;
    await probe?.then((sql) => sql.close()).catch(() => {});
  }
}

/**
 * Runs one scenario with a hard time limit. Whatever happens, every process it started is
 * killed before this returns; a failure or a timeout becomes a failed result, not a crash.
 */
export async function runScenario(
  env: ChaosEnv,
  name: string,
  prefix: string,
  body: (stage: Stage) => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  const stage = new Stage(env, name, prefix);
  let timer: NodeJS.Timeout | undefined;
  const limit = env.profile.scenarioTimeoutMs;
  try {
    return await Promise.race([
      body(stage),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hard timeout after ${limit} ms`)), limit);
      }),
    ]);
  } catch (err) {
    const crashes = stage.procs.flatMap((p) => p.crashes.map((c) => `${p.name} crashed (${c})`));
    return failed(name, stage, [
      err instanceof Error ? err.message : String(err),
      ...crashes,
      `process logs: ${env.logDir}/${prefix}-*.log`,
    ]);
  } finally {
    clearTimeout(timer);
    await stage.cleanup();
  }
}

function failed(name: string, stage: Stage, problems: string[]): ScenarioResult {
  const p = stage.fleet?.progress;
  return {
    ...emptyResult(name),
    sent: p?.sent ?? 0,
    acked: p?.acked ?? 0,
    faults: p?.faults ?? {},
    measured: stage.measured,
    seconds: (Date.now() - stage.started) / 1000,
    problems,
  };
}

function emptyResult(name: string): ScenarioResult {
  return {
    name,
    trials: 0,
    sent: 0,
    acked: 0,
    billed: 0,
    lost: 0,
    duplicated: 0,
    rejected: {},
    bytesExact: false,
    ok: false,
    seconds: 0,
    faults: {},
    measured: {},
    problems: [],
  };
}

/** A scenario that cannot run here (e.g. no PostgreSQL server): reported, not failed. */
export function skipped(name: string, reason: string): ScenarioResult {
  return { ...emptyResult(name), ok: true, skipped: reason };
}
