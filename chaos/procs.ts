// Real `edgemeter rater` and `edgemeter collector` processes for the chaos scenarios, started the
// way an operator starts them (node bin/edgemeter.js + EDGEMETER_* variables), so SIGKILL hits
// the real program and not an object in the harness. Every child is registered, and every one
// still alive is SIGKILLed when the harness exits, whatever the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the container image and the systemd unit put in every program's environment
 * (docs/operations.md#memory; test/deploy.manifests.test.ts holds them to it): two malloc
 * arenas, and young-generation semi-spaces of up to 64 MB instead of V8's 16.
 */
export const DEPLOYED_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  NODE_OPTIONS: '--max-semi-space-size=64',
};

export const REPO = fileURLToPath(new URL('..', import.meta.url));

const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

/** SIGKILLs every child this process started that is still running. */
export function killAllChildren(): void {
  for (const c of alive) c.kill('SIGKILL');
}

/**
 * EDGEMETER_PROFILE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): node flags for the
 * programs under test and the device fleet only, to profile them in a benchmark (NODE_OPTIONS
 * refuses --cpu-prof).
 */
export function profileArgs(): string[] {
  return process.env.EDGEMETER_PROFILE_ARGS?.split(' ').filter(Boolean) ?? [];
}

/** Registers a child so that it is killed with the harness. */
export function track(child: ChildProcess): void {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
}

// Listening ports come from below the kernel's ephemeral range. A port from `listen(0)` is an
// ephemeral one: between the probe and the child's bind (seconds, with tsx) any outgoing
// connection on the machine may take it as its source port, and a restarted collector or
// rater must bind the same port again after a kill (EADDRINUSE either way).
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  } catch {
    return 32768;
  }
})();
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// Test files run in parallel worker processes (vitest's VITEST_POOL_ID, 1..n): a port reserved
// by one and bound seconds later must not be drawn meanwhile by another, so each worker draws from
// its own slice of the range.
const SLICES = 4;

/** A free loopback port outside the ephemeral range, not handed out before in this process. */
export async function freePort(): Promise<number> {
  const from = 20_000;
  const to = Math.max(from + 1000 * SLICES, Math.min(EPHEMERAL_LOW, 32_768));
  const width = Math.floor((to - from) / SLICES);
  const slice = Number(process.env.VITEST_POOL_ID ?? 0) % SLICES;
  const lo = from + slice * width;
  const hi = lo + width - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${lo}-${hi}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** GET returning parsed JSON (any status), or undefined when nothing answers. */
export async function getJson<T>(url: string): Promise<{ status: number; body: T } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    return undefined;
  }
}

/** A child running one edgemeter program; restartable with the same settings. */
export class EdgemeterProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private retired = false;
  private signalled = false;
  starts = 0;
  /** Exits nobody asked for (a crash), each with the end of the log at that moment. */
  readonly crashes: string[] = [];

  constructor(
    readonly name: string,
    private readonly command: 'rater' | 'collector',
    readonly env: Record<string, string>,
    readonly ports: { http: number; grpc?: number; mqtt?: number },
    private readonly logDir: string,
  ) {}

  get httpPort(): number {
    return this.ports.http;
  }

  get logFile(): string {
    return join(this.logDir, `${this.name}.log`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.killed;
  }

  /** Spawns the program and waits until its HTTP endpoint says it is ready. */
  async start(readyTimeoutMs = 30_000): Promise<void> {
    if (this.retired) throw new Error(`${this.name} was torn down`);
    if (this.running) throw new Error(`${this.name} is already running`);
    // A clean environment: no EDGEMETER_* from the caller's shell leaks into the scenario.
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEMETER_')),
    );
    const log = openSync(this.logFile, 'a');
    const args = [...profileArgs(), join(REPO, 'bin/edgemeter.js'), this.command];
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      // The environment the deployment files set (docs/operations.md#memory), so the
      // benchmarks measure what a deployed program does.
      env: { ...DEPLOYED_ENV, ...base, EDGEMETER_LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    track(child);
    this.child = child;
    this.signalled = false;
    this.starts++;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.signalled) this.crashes.push(`exit ${code ?? signal}: ${this.crashLines()}`);
        resolve();
      }),
    );
    // /healthz on the collector (up once MQTT listens), /readyz on the rater (schema migrated).
    const path = this.command === 'rater' ? '/readyz' : '/healthz';
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited: ${this.logTail()}`);
        const r = await getJson(`http://127.0.0.1:${this.httpPort}${path}`);
        return r?.status === 200 ? true : undefined;
      },
      `${this.name} to become ready (log: ${this.logFile})`,
      readyTimeoutMs,
    );
  }

  /** SIGKILL: no shutdown hook runs, exactly like a crash or the OOM killer. */
  async kill(): Promise<void> {
    this.signalled = true;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Kills it for good: a scenario that outlived its time limit cannot start it again. */
  async retire(): Promise<void> {
    this.retired = true;
    // A profiled program writes its profile only when it exits by itself.
    if (process.env.EDGEMETER_PROFILE_ARGS) await this.stop();
    await this.kill();
  }

  /** SIGTERM, then SIGKILL if it does not stop within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signalled = true;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(readyTimeoutMs?: number): Promise<void> {
    await this.kill();
    await this.start(readyTimeoutMs);
  }

  /** The lines of the log that say why it died (error, code, emitter), with the log's path. */
  private crashLines(): string {
    const why = this.logTail(40)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /Error|code:|Emitted|"level":(50|60)/.test(l))
      .slice(0, 4);
    return `${why.join(' | ') || 'no error in the log'} (log: ${this.logFile})`;
  }

  logTail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

export interface RaterSpec {
  name: string;
  db: string;
  grpcPort: number;
}

export async function raterProcess(spec: RaterSpec, logDir: string): Promise<EdgemeterProcess> {
  const httpPort = await freePort();
  return new EdgemeterProcess(
    spec.name,
    'rater',
    {
      EDGEMETER_DB: spec.db,
      EDGEMETER_GRPC_LISTEN: `127.0.0.1:${spec.grpcPort}`,
      EDGEMETER_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    },
    { http: httpPort, grpc: spec.grpcPort },
    logDir,
  );
}

export interface CollectorSpec {
  name: string;
  /** Default: the name. */
  collectorId?: string;
  mqttPort: number;
  raterPort: number;
  /** Any EDGEMETER_RATER value (a list, dns:name:port); replaces 127.0.0.1:raterPort. */
  rater?: string;
  bufferDir: string;
}

export async function collectorProcess(
  spec: CollectorSpec,
  logDir: string,
): Promise<EdgemeterProcess> {
  const httpPort = await freePort();
  return new EdgemeterProcess(
    spec.name,
    'collector',
    {
      EDGEMETER_COLLECTOR_ID: spec.collectorId ?? spec.name,
      EDGEMETER_MQTT_LISTEN: `127.0.0.1:${spec.mqttPort}`,
      EDGEMETER_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      EDGEMETER_RATER: spec.rater ?? `127.0.0.1:${spec.raterPort}`,
      EDGEMETER_BUFFER_DIR: spec.bufferDir,
      // The production retry ceiling (30 s) would make every scenario wait out its backoff after
      // a fault; the chaos run checks totals, so it retries at most once a second.
      EDGEMETER_RETRY_INITIAL_MS: '50',
      EDGEMETER_RETRY_MAX_MS: '1000',
      EDGEMETER_FORWARD_DEADLINE_MS: '10000',
    },
    { http: httpPort, mqtt: spec.mqttPort },
    logDir,
  );
}
