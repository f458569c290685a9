// The harness side of the simulated devices (chaos/devices.ts runs them in their own process, so
// a stalled event loop or a crash in the harness cannot pause or fake a device). This file holds
// the protocol between the two, the records' content (a pure function of the key, so a resend
// is byte-identical and the ground truth needs no storage), and `Fleet`, the handle.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { isoTime } from './iso-time.ts';
import { profileArgs, REPO, track, waitFor } from './procs.ts';

export interface FleetConfig {
  /** Device ids are `${prefix}-d${i}`; one prefix per scenario keeps scenarios apart in SQL. */
  prefix: string;
  devices: number;
  /** MQTT URLs; every record is published to each of them (two collectors: a duplicate storm). */
  brokers: string[];
  boot: string;
  /** A record's ts is baseTsMs + seq × stepMs: deterministic, and never ahead of the clock. */
  baseTsMs: number;
  stepMs: number;
  /** Records per publish, cycled over the devices (1 = a JSON object, n > 1 = a JSON array). */
  recordsPerPublish: number[];
  /** Unacknowledged publishes in flight per device and broker. */
  window: number;
  /** Stop creating records after this many in the whole fleet (undefined: until stop-new). */
  maxRecords?: number;
  /** A publish without PUBACK after this long counts as lost: reconnect and send it again. */
  publishTimeoutMs: number;
  /** Pause after each acknowledged publish, per in-flight slot (keeps a steady, modest load). */
  paceMs: number;
  /**
   * Every this many acknowledged publishes a device also sends a bad report (rotating kinds:
   * not JSON, a negative byte count, an impossible time). They must be dead-lettered with their
   * reason and never disturb the good records; the summary's "rejected" counts them by code.
   */
  invalidEvery?: number;
}

export interface Progress {
  /** Distinct records published at least once. */
  sent: number;
  /** Records acknowledged by every broker they were sent to. */
  acked: number;
  /** Acknowledged records published again (duplicate storm). */
  resent: number;
  /**
   * What went wrong as the devices saw it: `no-puback:<why>` counts records whose publish got
   * no PUBACK (they were sent again), `connect:<why>` failed connection attempts.
   */
  faults: Record<string, number>;
}

export interface DeviceTruth {
  id: string;
  index: number;
  boot: string;
  /** Acknowledged seq ranges [first, last], sorted and merged. */
  acked: Array<[number, number]>;
  /** Published but never acknowledged (the run ended first). */
  unacked: Array<[number, number]>;
  up: number;
  down: number;
}

export interface Truth extends Progress {
  /** True when every published record was acknowledged before the report. */
  complete: boolean;
  devices: DeviceTruth[];
}

export type ToDevices =
  | { type: 'start'; config: FleetConfig }
  | { type: 'resend' }
  | { type: 'stop-new' }
  | { type: 'report' }
  | { type: 'exit' };

export type FromDevices =
  | { type: 'progress'; progress: Progress }
  | { type: 'truth'; truth: Truth }
  | { type: 'error'; message: string };

export const deviceId = (prefix: string, index: number): string => `${prefix}-d${index}`;

/** A record's up/down bytes: a pure function of its key, so anyone can recompute the truth. */
export function recordBytes(index: number, seq: number): { up: number; down: number } {
  const h = (Math.imul(seq + 1, 2654435761) ^ Math.imul(index + 7, 40503)) >>> 0;
  return { up: 100 + (h % 50_000), down: 1000 + ((h >>> 8) % 200_000) };
}

/**
 * A record as the device publishes it: JSON.stringify of {seq, boot, ts, up, down}, written
 * directly (the fleet writes one per event, and its CPU is taken from the programs it measures).
 */
export function recordText(cfg: FleetConfig, index: number, seq: number): string {
  const { up, down } = recordBytes(index, seq);
  const ts = isoTime(cfg.baseTsMs + seq * cfg.stepMs);
  return `{"seq":${seq},"boot":${JSON.stringify(cfg.boot)},"ts":"${ts}","up":${up},"down":${down}}`;
}

/** Sum of recordBytes over seq ranges (the ground truth of records not in a device's sums). */
export function rangeBytes(index: number, ranges: Array<[number, number]>) {
  let up = 0;
  let down = 0;
  for (const [lo, hi] of ranges)
    for (let s = lo; s <= hi; s++) {
      const b = recordBytes(index, s);
      up += b.up;
      down += b.down;
    }
  return { up, down };
}

/** The devices process and what it last reported. */
export class Fleet {
  progress: Progress = { sent: 0, acked: 0, resent: 0, faults: {} };
  private truth: Truth | undefined;
  private failure: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly config: FleetConfig,
  ) {
    child.on('message', (m: FromDevices) => {
      if (m.type === 'progress') this.progress = m.progress;
      else if (m.type === 'truth') this.truth = m.truth;
      else this.failure = m.message;
    });
    child.once('exit', (code) => {
      this.failure ??= `devices process exited (${code})`;
    });
  }

  static async start(config: FleetConfig): Promise<Fleet> {
    const child = fork(join(REPO, 'chaos/devices.ts'), [], {
      cwd: REPO,
      execArgv: ['--import', 'tsx', ...profileArgs()],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child);
    const fleet = new Fleet(child, config);
    fleet.send({ type: 'start', config });
    return fleet;
  }

  private send(m: ToDevices): void {
    if (this.child.connected) this.child.send(m);
  }

  private check(): void {
    if (this.failure) throw new Error(`devices: ${this.failure}`);
  }

  /** Waits until `n` records in total were acknowledged. */
  async waitAcked(n: number, timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        this.check();
        return this.progress.acked >= n ? true : undefined;
      },
      `${n} acknowledged records (have ${this.progress.acked})`,
      timeoutMs,
    );
  }

  /** Every device publishes all of its acknowledged records again; resolves when all were. */
  async resend(timeoutMs: number): Promise<number> {
    const target = this.progress.resent + this.progress.acked;
    this.send({ type: 'resend' });
    await waitFor(
      () => {
        this.check();
        return this.progress.resent >= target ? true : undefined;
      },
      `${target} re-sent records`,
      timeoutMs,
    );
    return this.progress.resent;
  }

  /**
   * Stops creating records and waits until everything sent was acknowledged (devices keep
   * retrying, as real ones do). After `timeoutMs` it takes the truth as it stands.
   */
  async finish(timeoutMs: number): Promise<Truth> {
    this.truth = undefined;
    this.send({ type: 'stop-new' });
    const latest = () => {
      this.check();
      return this.truth;
    };
    const complete = await waitFor(latest, 'every sent record to be acknowledged', timeoutMs).catch(
      () => undefined,
    );
    if (complete) return complete;
    // Not everything was acknowledged in time: take the truth as it stands (it says so).
    this.send({ type: 'report' });
    return waitFor(latest, 'the devices report', 10_000);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
