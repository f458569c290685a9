// The MQTT load generator, in its own process (forked by bench/mqtt-ingest.ts) so that its CPU
// is not the broker's. Many connections, each with `window` QoS 1 publishes in flight; a publish
// counts when its PUBACK arrives. Every record is a realistic JSON usage report (unique seq per
// device, so the collector stores every one). Counts PUBACKs only inside the measured window.
//
// MQTT goes through chaos/mqtt-wire.ts (mqtt-packet over a socket), not an MQTT.js client: with
// MQTT.js the generator took 43 µs of CPU per message and a whole core in the bare aedes run, so
// the reference measured the generator rather than aedes (bench/README.md).
import { connectWire, type WireClient } from '../chaos/mqtt-wire.ts';

export interface LoadConfig {
  url: string;
  prefix: string;
  connections: number;
  window: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  acked: number;
  seconds: number;
  errors: number;
  connected: number;
}

let stopping = false;
let measuring = false;
let acked = 0;
let errors = 0;

function record(seq: number, now: number): string {
  const ts = new Date(now - 60_000);
  return JSON.stringify({
    seq,
    boot: 7,
    ts: ts.toISOString(),
    start: new Date(ts.getTime() - 300_000).toISOString(),
    up: 1000 + ((seq * 7919) % 1_000_000),
    down: 5000 + ((seq * 104_729) % 8_000_000),
    meters: { sms: seq % 3 },
    dims: { zone: 'eu', apn: 'iot.example' },
  });
}

async function device(cfg: LoadConfig, i: number, conns: WireClient[]): Promise<void> {
  const id = `${cfg.prefix}-d${i}`;
  const conn = await connectWire(cfg.url, { clientId: id, connectTimeoutMs: 10_000 });
  conns.push(conn);
  const topic = `usage/${id}`;
  let seq = 0;
  // `window` publishes in flight; each PUBACK frees its slot for the next record.
  const slot = async () => {
    while (!stopping) {
      await conn.publish(topic, record(++seq, Date.now()));
      if (measuring) acked++;
    }
  };
  await Promise.all(Array.from({ length: cfg.window }, slot));
}

async function run(cfg: LoadConfig): Promise<LoadResult> {
  const conns: WireClient[] = [];
  const devices = Array.from({ length: cfg.connections }, (_, i) =>
    // A refused connection or one that broke: counted, the others go on.
    device(cfg, i, conns).catch(() => {
      errors++;
    }),
  );
  await new Promise((r) => setTimeout(r, cfg.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, cfg.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const counted = acked;
  stopping = true;
  await Promise.race([Promise.all(devices), new Promise((r) => setTimeout(r, 5000))]);
  const connected = conns.length;
  for (const c of conns) c.end();
  return { acked: counted, seconds, errors, connected };
}

process.once('message', (cfg: LoadConfig) => {
  void run(cfg).then(
    (r) => {
      process.send?.({ result: r });
      setTimeout(() => process.exit(0), 100);
    },
    (err: unknown) => {
      process.send?.({ error: String(err) });
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
