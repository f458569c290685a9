// The MQTT load generator, in its own process (forked by bench/mqtt-ingest.ts) so that its CPU
// is not the broker's. Many connections, each with `window` QoS 1 publishes in flight; a publish
// counts when its PUBACK arrives. Every record is a realistic JSON usage report (unique seq per
// device, so the collector stores every one). Counts PUBACKs only inside the measured window.
//
// MQTT 3.1.1 spoken directly over a socket with mqtt-packet (the codec MQTT.js and aedes use),
// not through an MQTT.js client: with MQTT.js the generator took 43 µs of CPU per message and a
// whole core in the bare aedes run, so the reference measured the generator rather than aedes
// (bench/README.md). Each connection sends CONNECT, then PUBLISHes with QoS 1 and counts PUBACKs.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

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

/** One MQTT connection: PUBLISH at QoS 1, and a callback for each PUBACK. */
interface Conn {
  publish(topic: string, payload: string): void;
  onPuback: () => void;
  end(): void;
}

function connect(url: string, clientId: string): Promise<Conn> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 1883) });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let messageId = 0;
    let ready = false;
    const conn: Conn = {
      publish(topic, payload) {
        messageId = (messageId % 65_535) + 1; // 1..65535; never more than `window` in flight
        socket.write(
          mqttPacket.generate({
            cmd: 'publish',
            topic,
            payload,
            qos: 1,
            messageId,
            retain: false,
            dup: false,
          }),
        );
      },
      onPuback: () => {},
      end: () => socket.destroy(),
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${clientId}: no CONNACK in 10 s`));
    }, 10_000);
    parser.on('packet', (packet) => {
      if (packet.cmd === 'puback') conn.onPuback();
      else if (packet.cmd === 'connack') {
        clearTimeout(timer);
        ready = packet.returnCode === 0;
        if (ready) resolve(conn);
        else reject(new Error(`${clientId}: CONNACK return code ${packet.returnCode}`));
      }
    });
    parser.on('error', () => {
      errors++;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      // Before the CONNACK, the caller counts the rejection.
      if (ready) errors++;
      else reject(err);
    });
    socket.on('connect', () =>
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId,
          keepalive: 60,
        }),
      ),
    );
  });
}

async function device(cfg: LoadConfig, i: number, conns: Conn[]): Promise<void> {
  const id = `${cfg.prefix}-d${i}`;
  const conn = await connect(cfg.url, id);
  conns.push(conn);
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
      conn.publish(topic, record(++seq, Date.now()));
    };
    // Each PUBACK frees one of the window's slots.
    conn.onPuback = () => {
      inflight--;
      if (measuring) acked++;
      next();
    };
    for (let k = 0; k < cfg.window; k++) next();
  });
}

async function run(cfg: LoadConfig): Promise<LoadResult> {
  const conns: Conn[] = [];
  const devices = Array.from({ length: cfg.connections }, (_, i) =>
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
