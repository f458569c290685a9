// A minimal MQTT 3.1.1 publisher for the simulated devices (chaos/devices.ts) and the bench's
// load generator (bench/mqtt-load.ts): CONNECT, PUBLISH at QoS 1 answered by PUBACK, PINGREQ to
// keep the connection alive; nothing else. Spoken over a plain socket: PUBLISH and the packets
// coming back framed by chaos/mqtt-frames.ts, CONNECT and PINGREQ by mqtt-packet (the codec
// MQTT.js and aedes use). An MQTT.js client cost the bench 25–43 µs of CPU per publish, so the
// process simulating the devices took a whole core and the figures measured it rather than the
// broker or the collector (bench/README.md).
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { CONNACK, FrameReader, PINGRESP, PUBACK, publishFrame } from './mqtt-frames.ts';

export interface WireOptions {
  clientId: string;
  /** No CONNACK after this long: the attempt fails with code 'timeout'. */
  connectTimeoutMs: number;
  /** Seconds; a PINGREQ goes out every half of it. Default 60, as MQTT.js. */
  keepaliveS?: number;
}

/** Why a connection failed or ended: a socket error code (ECONNREFUSED, …), or ours below. */
export class WireError extends Error {
  constructor(readonly code: string) {
    super(`MQTT connection: ${code}`);
  }
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() after which the publish fails with 'puback-timeout'; 0: never. */
  deadline: number;
}

const MAX_MESSAGE_ID = 65_535;

export class WireClient {
  /** Resolves with the reason ('closed', a socket error code, 'protocol') once the link is gone. */
  readonly closed: Promise<string>;
  private readonly pending = new Map<number, Pending>();
  private messageId = 0;
  private reason: string | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private corked = false;
  private onClosed: (reason: string) => void = () => {};

  constructor(private readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
  }

  /**
   * Resolves when the PUBACK arrives; rejects with a WireError if the connection ends first
   * (code: why) or, given `timeoutMs`, if no PUBACK came in that time (code 'puback-timeout',
   * noticed within a quarter of it: one sweep per connection, not a timer per publish).
   */
  publish(topic: string, payload: string | Buffer, timeoutMs = 0): Promise<void> {
    if (this.reason !== undefined) return Promise.reject(new WireError(this.reason));
    const messageId = this.nextId();
    if (timeoutMs > 0) this.sweepEvery(timeoutMs / 4);
    // The publishes of one turn of the event loop (the slots freed by one read of PUBACKs) leave
    // in one write: a syscall per publish was the publisher's largest cost (profile).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    return new Promise((resolve, reject) => {
      const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
      this.pending.set(messageId, { resolve, reject, deadline });
      this.socket.write(publishFrame(topic, payload, messageId));
    });
  }

  /** Drops the connection at once (MQTT.js's `end(true)`): what is in flight is rejected. */
  end(): void {
    this.socket.destroy();
  }

  /** @internal a PUBACK's body: the packet identifier it answers. */
  puback(body: Buffer): void {
    const id = body.length >= 2 ? body.readUInt16BE(0) : 0;
    const waiting = this.pending.get(id);
    this.pending.delete(id);
    waiting?.resolve();
  }

  /** @internal the connection is gone: every publish still waiting fails with the reason. */
  gone(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    clearInterval(this.sweeper);
    const err = new WireError(reason);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onClosed(reason);
  }

  private sweepEvery(ms: number): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const [id, p] of this.pending) {
        if (p.deadline === 0 || p.deadline > now) continue;
        this.pending.delete(id);
        p.reject(new WireError('puback-timeout'));
      }
    }, ms);
  }

  // 1..65535, skipping ids still waiting for their PUBACK.
  private nextId(): number {
    do this.messageId = (this.messageId % MAX_MESSAGE_ID) + 1;
    while (this.pending.has(this.messageId));
    return this.messageId;
  }
}

/** Connects and waits for the CONNACK; rejects with a WireError saying why it did not come. */
export function connectWire(url: string, o: WireOptions): Promise<WireClient> {
  const { hostname, port } = new URL(url);
  const keepaliveS = o.keepaliveS ?? 60;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 1883) });
    const client = new WireClient(socket);
    let connected = false;
    let ping: NodeJS.Timeout | undefined;
    const fail = (code: string) => {
      clearTimeout(timer);
      clearInterval(ping);
      socket.destroy();
      if (connected) client.gone(code);
      else reject(new WireError(code));
    };
    const timer = setTimeout(() => fail('timeout'), o.connectTimeoutMs);
    const reader = new FrameReader((type, body) => {
      if (connected) {
        if (type === PUBACK) client.puback(body);
        else if (type !== PINGRESP) fail('protocol');
        return;
      }
      if (type !== CONNACK || body.length < 2) return fail('protocol');
      if (body[1] !== 0) return fail(`connack-${body[1]}`);
      clearTimeout(timer);
      connected = true;
      if (keepaliveS > 0)
        ping = setInterval(
          () => socket.write(mqttPacket.generate({ cmd: 'pingreq' })),
          (keepaliveS * 1000) / 2,
        );
      resolve(client);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        fail('protocol');
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'error'));
    socket.on('close', () => fail('closed'));
    socket.on('connect', () =>
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: o.clientId,
          keepalive: keepaliveS,
        }),
      ),
    );
  });
}
