// The MQTT load generator, in its own process (forked by bench/mqtt-ingest.ts) so that its CPU
// is not the broker's. Many connections, each with `window` QoS 1 publishes in flight; a publish
// counts when its PUBACK arrives. Every record is a realistic JSON usage report (unique seq per
// device, so the collector stores every one). Counts PUBACKs only inside the measured window.
import mqtt, { type MqttClient } from 'mqtt';

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

function connect(url: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, {
      clientId,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function device(cfg: LoadConfig, i: number, clients: MqttClient[]): Promise<void> {
  const id = `${cfg.prefix}-d${i}`;
  const client = await connect(cfg.url, id);
  client.on('error', () => errors++);
  clients.push(client);
  const topic = `usage/${id}`;
  let seq = 0;
  let inflight = 0;
  await new Promise<void>((done) => {
    const next = () => {
      if (stopping) {
        if (inflight === 0) done();
        return;
      }
      inflight++;
      client.publish(topic, record(++seq, Date.now()), { qos: 1 }, (err) => {
        inflight--;
        if (err) errors++;
        else if (measuring) acked++;
        next();
      });
    };
    for (let k = 0; k < cfg.window; k++) next();
  });
}

async function run(cfg: LoadConfig): Promise<LoadResult> {
  const clients: MqttClient[] = [];
  const devices = Array.from({ length: cfg.connections }, (_, i) =>
    device(cfg, i, clients).catch(() => {
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
  const connected = clients.length;
  for (const c of clients) c.end(true);
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
