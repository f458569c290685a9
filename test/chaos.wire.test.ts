// The minimal MQTT publisher of the simulated devices and the bench's load generator
// (chaos/mqtt-wire.ts). The chaos scenarios' ground truth rests on it: a publish counts as
// delivered only on its PUBACK, and every way of not getting one must surface with its reason.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { connectWire, WireError } from '../chaos/mqtt-wire.ts';
import { freePort } from './helpers/stack.ts';

interface FakeBroker {
  url: string;
  /** Topics of the PUBLISHes received, as mqtt-packet decodes them. */
  published: string[];
  payloads: string[];
  /** Sockets of the accepted connections, to cut them. */
  sockets: net.Socket[];
  close: () => Promise<void>;
}

/**
 * A broker that answers CONNECT with `connackCode` and PUBACKs only topics `ack` accepts; with
 * `byteByByte`, it writes its answers one byte per write, as the worst chunking a socket may give.
 */
async function fakeBroker(
  connackCode: number,
  ack: (topic: string) => boolean,
  byteByByte = false,
): Promise<FakeBroker> {
  const published: string[] = [];
  const payloads: string[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const send = (packet: Buffer) => {
      if (!byteByByte) socket.write(packet);
      else for (const byte of packet) socket.write(Buffer.of(byte));
    };
    parser.on('packet', (p) => {
      if (p.cmd === 'connect')
        send(
          mqttPacket.generate({ cmd: 'connack', returnCode: connackCode, sessionPresent: false }),
        );
      else if (p.cmd === 'publish') {
        expect({ qos: p.qos, retain: p.retain, dup: p.dup }).toEqual({
          qos: 1,
          retain: false,
          dup: false,
        });
        published.push(p.topic);
        payloads.push(p.payload.toString());
        if (ack(p.topic)) send(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId ?? 0 }));
      }
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    published,
    payloads,
    sockets,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof WireError ? e.code : `not a WireError: ${String(e)}`),
  );

describe('chaos/mqtt-wire: the simulated devices’ MQTT publisher', () => {
  const brokers: FakeBroker[] = [];
  afterEach(async () => {
    for (const b of brokers.splice(0)) await b.close();
  });

  it('resolves a publish on its PUBACK, many in flight', async () => {
    const b = await fakeBroker(0, () => true);
    brokers.push(b);
    const c = await connectWire(b.url, { clientId: 'w1', connectTimeoutMs: 5000 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => code(c.publish(`usage/d${i}`, `{"seq":${i}}`))),
    );
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => 'ok'));
    expect(b.published).toHaveLength(20);
    c.end();
    expect(await c.closed).toBe('closed');
  });

  it('frames PUBLISH as MQTT says, whatever the sizes, and reads PUBACKs however chunked', async () => {
    const b = await fakeBroker(0, () => true, true);
    brokers.push(b);
    const c = await connectWire(b.url, { clientId: 'w1b', connectTimeoutMs: 5000 });
    // Remaining lengths of one, two and three bytes; a UTF-8 topic and payload.
    const sent = [
      ['usage/é', '{"ü":1}'],
      ['usage/m', 'x'.repeat(300)],
      ['usage/l', 'y'.repeat(20_000)],
    ] as const;
    for (const [topic, payload] of sent) expect(await code(c.publish(topic, payload))).toBe('ok');
    expect(b.published).toEqual(sent.map(([t]) => t));
    expect(b.payloads).toEqual(sent.map(([, p]) => p));
    c.end();
  });

  it('fails a publish without PUBACK after its timeout, and only that one', async () => {
    const b = await fakeBroker(0, (t) => t !== 'usage/silent');
    brokers.push(b);
    const c = await connectWire(b.url, { clientId: 'w2', connectTimeoutMs: 5000 });
    const silent = code(c.publish('usage/silent', '{}', 200));
    expect(await code(c.publish('usage/loud', '{}', 200))).toBe('ok');
    expect(await silent).toBe('puback-timeout');
    c.end();
  });

  it('fails what is in flight with the reason when the connection is cut', async () => {
    const b = await fakeBroker(0, () => false);
    brokers.push(b);
    const c = await connectWire(b.url, { clientId: 'w3', connectTimeoutMs: 5000 });
    const inFlight = [code(c.publish('usage/a', '{}')), code(c.publish('usage/b', '{}'))];
    await new Promise<void>((r) => {
      const wait = () => (b.published.length === 2 ? r() : setTimeout(wait, 10));
      wait();
    });
    for (const s of b.sockets) s.destroy();
    expect(await Promise.all(inFlight)).toEqual(['closed', 'closed']);
    expect(await c.closed).toBe('closed');
    // After the end, a publish fails at once with the same reason.
    expect(await code(c.publish('usage/c', '{}'))).toBe('closed');
  });

  it('says why a connection was not made: refused, CONNACK refusal, no CONNACK in time', async () => {
    const port = await freePort();
    expect(
      await code(
        connectWire(`mqtt://127.0.0.1:${port}`, { clientId: 'w4', connectTimeoutMs: 5000 }),
      ),
    ).toBe('ECONNREFUSED');

    const refusing = await fakeBroker(5, () => true);
    brokers.push(refusing);
    expect(await code(connectWire(refusing.url, { clientId: 'w5', connectTimeoutMs: 5000 }))).toBe(
      'connack-5',
    );

    // A listener that never speaks MQTT.
    const mute = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const { port: mutePort } = mute.address() as net.AddressInfo;
    try {
      expect(
        await code(
          connectWire(`mqtt://127.0.0.1:${mutePort}`, { clientId: 'w6', connectTimeoutMs: 200 }),
        ),
      ).toBe('timeout');
    } finally {
      mute.close();
    }
  });
});
