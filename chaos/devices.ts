// The simulated devices, in their own process (forked by chaos/fleet.ts). Each device behaves
// like a real QoS 1 publisher: a record counts as delivered only when its PUBACK arrived; when
// the connection breaks or a PUBACK does not come, it reconnects and sends the same bytes again.
// The ground truth is what was acknowledged: the collector promised it is on disk. They speak
// MQTT through chaos/mqtt-wire.ts, which costs a fraction of an MQTT.js client's CPU.
import { connectWire, type WireClient } from './mqtt-wire.ts';
import {
  deviceId,
  recordBytes,
  recordText,
  type DeviceTruth,
  type FleetConfig,
  type FromDevices,
  type Progress,
  type ToDevices,
} from './fleet.ts';

interface Chunk {
  device: Device;
  first: number;
  count: number;
  /** Brokers that acknowledged it (a chunk is delivered once all of them did). */
  acks: number;
  /** A re-send of an acknowledged chunk: counted as resent, never as new. */
  resend: boolean;
}

const progress: Progress = { sent: 0, acked: 0, resent: 0, faults: {} };
let cfg: FleetConfig;
let creating = true;
let exiting = false;
const devices: Device[] = [];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const send = (m: FromDevices) => process.send?.(m);

class Device {
  readonly id: string;
  readonly lanes: Lane[];
  private nextSeq = 1;
  readonly ackedChunks: Array<[number, number]> = [];
  up = 0;
  down = 0;

  constructor(readonly index: number) {
    this.id = deviceId(cfg.prefix, index);
    this.lanes = cfg.brokers.map((url) => new Lane(this, url));
  }

  get perPublish(): number {
    return cfg.recordsPerPublish[this.index % cfg.recordsPerPublish.length] ?? 1;
  }

  /** A new chunk for every lane, unless creation stopped or a lane is already behind. */
  create(): boolean {
    if (!creating || this.lanes.some((l) => l.queue.length >= cfg.window)) return false;
    const room = cfg.maxRecords === undefined ? Infinity : cfg.maxRecords - progress.sent;
    const count = Math.min(this.perPublish, room);
    if (count <= 0) return false;
    const chunk = { device: this, first: this.nextSeq, count, acks: 0, resend: false };
    this.nextSeq += count;
    progress.sent += count;
    for (const l of this.lanes) l.queue.push(chunk);
    return true;
  }

  delivered(c: Chunk): void {
    if (++c.acks < this.lanes.length) return;
    if (c.resend) {
      progress.resent += c.count;
      return;
    }
    progress.acked += c.count;
    this.ackedChunks.push([c.first, c.first + c.count - 1]);
    for (let s = c.first; s < c.first + c.count; s++) {
      const b = recordBytes(this.index, s);
      this.up += b.up;
      this.down += b.down;
    }
  }

  resendAll(): void {
    for (const [lo, hi] of merge(this.ackedChunks)) {
      for (let first = lo; first <= hi; first += this.perPublish) {
        const count = Math.min(this.perPublish, hi - first + 1);
        const chunk = { device: this, first, count, acks: 0, resend: true };
        for (const l of this.lanes) l.queue.push(chunk);
      }
    }
  }

  get idle(): boolean {
    return this.lanes.every((l) => l.queue.length === 0 && l.inflight === 0);
  }

  truth(): DeviceTruth {
    const acked = merge(this.ackedChunks);
    // Everything created but not acknowledged: the gaps in [1, nextSeq) outside `acked`.
    const unacked: Array<[number, number]> = [];
    let next = 1;
    for (const [lo, hi] of acked) {
      if (lo > next) unacked.push([next, lo - 1]);
      next = hi + 1;
    }
    if (next < this.nextSeq) unacked.push([next, this.nextSeq - 1]);
    return {
      id: this.id,
      index: this.index,
      boot: cfg.boot,
      acked,
      unacked,
      up: this.up,
      down: this.down,
    };
  }

  payload(c: Chunk): string {
    if (this.perPublish === 1) return recordText(cfg, this.index, c.first);
    const records = [];
    for (let s = c.first; s < c.first + c.count; s++) records.push(recordText(cfg, this.index, s));
    return `[${records.join(',')}]`;
  }
}

/** One device's connection to one broker, with `cfg.window` publishes in flight. */
/** Bad reports the devices mix in (FleetConfig.invalidEvery); none has a key that is billed. */
const INVALID_REPORTS = [
  'this is not JSON',
  JSON.stringify({ seq: 1, ts: '2026-01-01T00:00:00Z', up: -5, down: 0 }),
  JSON.stringify({ seq: 1, ts: '2026-02-30T00:00:00Z', up: 1, down: 1 }),
];

class Lane {
  readonly queue: Chunk[] = [];
  inflight = 0;
  private acked = 0;
  private connections = 0;

  constructor(
    private readonly device: Device,
    private readonly url: string,
  ) {}

  private take(): Chunk | undefined {
    if (this.queue.length === 0) this.device.create();
    return this.queue.shift();
  }

  async run(): Promise<void> {
    let backoff = 50;
    while (!exiting) {
      const client = await this.connect();
      if (!client) {
        await sleep(backoff + Math.random() * backoff);
        backoff = Math.min(1000, backoff * 2);
        continue;
      }
      backoff = 50;
      await this.pump(client);
      client.end();
    }
  }

  /** Connects, or returns undefined (counting why) after an error, a close or 5 s. */
  private async connect(): Promise<WireClient | undefined> {
    try {
      return await connectWire(this.url, {
        clientId: `${this.device.id}-${this.connections++}-${this.url.slice(-5)}`,
        connectTimeoutMs: 5000,
      });
    } catch (e) {
      count(`connect:${errCode(e as Error)}`, 1);
      return undefined;
    }
  }

  private async pump(client: WireClient): Promise<void> {
    let broken: string | undefined;
    const lost = client.closed;
    void lost.then((reason) => (broken ??= reason));
    const topic = `usage/${this.device.id}`;
    const worker = async () => {
      while (!broken && !exiting) {
        const chunk = this.take();
        if (!chunk) {
          await Promise.race([sleep(20), lost]);
          continue;
        }
        this.inflight++;
        // 'ok', or why not: 'puback-timeout', or the reason the connection ended.
        const outcome = await client
          .publish(topic, this.device.payload(chunk), cfg.publishTimeoutMs)
          .then(
            () => 'ok',
            (e: Error) => errCode(e),
          );
        this.inflight--;
        if (outcome === 'ok') {
          this.device.delivered(chunk);
          const every = cfg.invalidEvery ?? 0;
          if (every > 0 && ++this.acked % every === 0) {
            const bad = INVALID_REPORTS[(this.acked / every) % INVALID_REPORTS.length] ?? '';
            // Fire and forget: whether it is acknowledged does not change the truth.
            await client.publish(topic, bad, cfg.publishTimeoutMs).catch(() => {});
          }
          if (cfg.paceMs > 0) await sleep(cfg.paceMs);
          continue;
        }
        // No PUBACK: the record may or may not be on the collector's disk. Keep it, reconnect,
        // and send the same bytes again (the rater's dedupe makes a second copy harmless).
        this.queue.unshift(chunk);
        count(`no-puback:${outcome}`, chunk.count);
        broken ??= outcome;
        client.end();
      }
    };
    await Promise.all(Array.from({ length: cfg.window }, worker));
  }
}

/** A short reason for a failure: the socket error code (ECONNREFUSED, …) or 'error'. */
function errCode(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return code === undefined ? 'error' : String(code);
}

function count(reason: string, n: number): void {
  progress.faults[reason] = (progress.faults[reason] ?? 0) + n;
}

/** Sorts and merges [lo, hi] ranges (adjacent ones join). */
function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function report(): void {
  const truth = devices.map((d) => d.truth());
  const complete = devices.every((d) => d.idle) && truth.every((t) => t.unacked.length === 0);
  send({ type: 'truth', truth: { ...progress, complete, devices: truth } });
}

async function waitIdleThenReport(): Promise<void> {
  while (!exiting && !devices.every((d) => d.idle)) await sleep(20);
  report();
}

process.on('message', (m: ToDevices) => {
  if (m.type === 'start') {
    cfg = m.config;
    for (let i = 0; i < cfg.devices; i++) devices.push(new Device(i));
    for (const d of devices) for (const l of d.lanes) void l.run();
  } else if (m.type === 'resend') {
    for (const d of devices) d.resendAll();
  } else if (m.type === 'stop-new') {
    creating = false;
    void waitIdleThenReport();
  } else if (m.type === 'report') {
    report();
  } else if (m.type === 'exit') {
    exiting = true;
    clearInterval(ticker);
    setTimeout(() => process.exit(0), 200).unref();
  }
});

// Progress for the harness's wait conditions; the harness going away ends the devices too.
const ticker = setInterval(() => send({ type: 'progress', progress }), 100);
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (err) => {
  send({ type: 'error', message: err.stack ?? String(err) });
  process.exit(1);
});
