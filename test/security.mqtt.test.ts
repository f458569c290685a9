// Devices → collector: authentication against the credentials file or a client certificate, and
// authorization by topic. The device id in the topic is the identity, so a device cannot bill
// another one. Real collectors, real MQTT clients, real TLS; no rater (records stay in the
// outbox, where they are counted).
import { join } from 'node:path';
import mqtt, { ErrorWithSubackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsFile } from '../collector/auth/credentials.ts';
import type { Collector } from '../collector/collector.ts';
import { capturingLogger, labPki, type LabPki } from './helpers/security.ts';
import { freePort, report, startCollector, tempDir } from './helpers/stack.ts';

async function counter(
  c: Collector,
  metric: 'publishesRefused' | 'authFailures',
  labels: Record<string, string>,
): Promise<number> {
  const got = await c.metrics[metric].get();
  return (
    got.values.find((v) => {
      const have = v.labels as Record<string, unknown>;
      return Object.entries(labels).every(([k, x]) => have[k] === x);
    })?.value ?? 0
  );
}

function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: `t-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
}

/** SUBACK return codes per topic (128 = refused); mqtt.js rejects when any topic is refused. */
async function subscribeCodes(dev: MqttClient, topics: string[]): Promise<number[]> {
  try {
    return (await dev.subscribeAsync(topics)).map((g) => g.qos);
  } catch (err) {
    if (err instanceof ErrorWithSubackPacket) return err.packet.granted as number[];
    throw err;
  }
}

/** Publishes once; resolves 'acked' on PUBACK or 'closed' when the collector drops the client. */
function publishOutcome(dev: MqttClient, topic: string, body: string): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    dev.once('close', () => resolve('closed'));
    dev.publishAsync(topic, body, { qos: 1 }).then(
      () => resolve('acked'),
      () => resolve('closed'),
    );
  });
}

describe('device authentication with a credentials file', () => {
  let collector: Collector;
  let creds: CredentialsFile;
  let secretA: string;
  let secretB: string;
  let url: string;
  const log = capturingLogger();
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir();
    creds = new CredentialsFile(join(dir.path, 'devices.credentials'));
    secretA = await creds.add('dev-a');
    secretB = await creds.add('dev-b');
    collector = await startCollector(
      {
        raterPort: await freePort(),
        bufferDir: join(dir.path, 'buf'),
        config: { deviceCredentials: creds.file },
      },
      { logger: log.logger },
    );
    url = `mqtt://127.0.0.1:${collector.mqttPort}`;
    cleanup = async () => {
      await collector.close();
      await dir.remove();
    };
  });
  afterAll(() => cleanup?.());

  it('refuses a wrong password and an unknown device, and logs neither secret', async () => {
    await expect(connect(url, { username: 'dev-a', password: secretB })).rejects.toThrow(
      /Bad username or password/i,
    );
    await expect(connect(url, { username: 'dev-zz', password: secretA })).rejects.toThrow(
      /Bad username or password/i,
    );
    await expect(connect(url, {})).rejects.toThrow(/Bad username or password/i);
    expect(await counter(collector, 'authFailures', { reason: 'bad_secret' })).toBe(1);
    expect(await counter(collector, 'authFailures', { reason: 'unknown_device' })).toBe(1);
    expect(await counter(collector, 'authFailures', { reason: 'no_credentials' })).toBe(1);
    expect(log.text()).not.toContain(secretA);
    expect(log.text()).not.toContain(secretB);
  });

  it('accepts the right secret and stores what the device publishes on its own topic', async () => {
    const dev = await connect(url, { username: 'dev-a', password: secretA });
    const before = collector.outboxStats().records;
    expect(await publishOutcome(dev, 'usage/dev-a', report(1, 10, 20))).toBe('acked');
    expect(collector.outboxStats().records).toBe(before + 1);
    dev.end(true);
  });

  it("refuses device A publishing to B's topic: no PUBACK, nothing recorded, counted", async () => {
    const dev = await connect(url, { username: 'dev-a', password: secretA });
    const records = collector.outboxStats().records;
    const deadLetters = collector.outboxStats().deadLetters;
    const refused = await counter(collector, 'publishesRefused', { code: 'NOT_AUTHORIZED' });
    expect(await publishOutcome(dev, 'usage/dev-b', report(2, 999, 999))).toBe('closed');
    expect(collector.outboxStats().records).toBe(records);
    expect(collector.outboxStats().deadLetters).toBe(deadLetters);
    expect(await counter(collector, 'publishesRefused', { code: 'NOT_AUTHORIZED' })).toBe(
      refused + 1,
    );
    dev.end(true);
  });

  it('refuses topics outside usage/{id} too, including the /pb form of another device', async () => {
    for (const topic of ['usage/dev-b/pb', 'telemetry/dev-a', 'usage/dev-a/rejected']) {
      const dev = await connect(url, { username: 'dev-a', password: secretA });
      expect(await publishOutcome(dev, topic, report(3, 1, 1))).toBe('closed');
      dev.end(true);
    }
  });

  it("grants a device its own answers and quota topics but not another device's", async () => {
    const dev = await connect(url, { username: 'dev-a', password: secretA });
    const topics = [
      'usage/dev-a/rejected',
      'quota/dev-a',
      'usage/dev-b/rejected',
      'quota/dev-b',
      'usage/+/rejected',
      '#',
    ];
    expect(await subscribeCodes(dev, topics)).toEqual([0, 0, 128, 128, 128, 128]);
    expect((await collector.metrics.subscribesRefused.get()).values[0]?.value).toBe(4);
    dev.end(true);
  });

  it("does not deliver B's rejection answers to A", async () => {
    const a = await connect(url, { username: 'dev-a', password: secretA });
    const b = await connect(url, { username: 'dev-b', password: secretB });
    const seenByA: string[] = [];
    a.on('message', (topic) => seenByA.push(topic));
    expect(await subscribeCodes(a, ['usage/dev-b/rejected', 'usage/dev-a/rejected'])).toEqual([
      128, 0,
    ]);
    const answer = new Promise<string>((resolve) => b.on('message', (t) => resolve(t)));
    await b.subscribeAsync('usage/dev-b/rejected');
    await b.publishAsync('usage/dev-b', 'not json', { qos: 1 });
    expect(await answer).toBe('usage/dev-b/rejected');
    expect(seenByA).toEqual([]);
    a.end(true);
    b.end(true);
  });

  it('rereads the file: a device added later connects, a removed one no longer can', async () => {
    const secretC = await creds.add('dev-c');
    const c = await connect(url, { username: 'dev-c', password: secretC });
    c.end(true);
    await creds.remove('dev-c');
    await expect(connect(url, { username: 'dev-c', password: secretC })).rejects.toThrow(
      /Bad username or password/i,
    );
    // A rotated secret replaces the old one at once, even for a device seen before.
    const rotated = await creds.add('dev-b', { replace: true });
    await expect(connect(url, { username: 'dev-b', password: secretB })).rejects.toThrow(
      /Bad username or password/i,
    );
    (await connect(url, { username: 'dev-b', password: rotated })).end(true);
    secretB = rotated;
  });
});

describe('a collector without credentials', () => {
  it('still runs for lab use and says loudly that devices are unauthenticated', async () => {
    const dir = await tempDir();
    const log = capturingLogger('info');
    const collector = await startCollector(
      { raterPort: await freePort(), bufferDir: dir.path },
      { logger: log.logger },
    );
    try {
      const warning = log.lines().find((l) => /NOT AUTHENTICATED/.test(String(l.msg)));
      expect(warning?.level).toBe(40); // pino's warn
      const dev = await connect(`mqtt://127.0.0.1:${collector.mqttPort}`, {});
      expect(await publishOutcome(dev, 'usage/anyone', report(1, 1, 1))).toBe('acked');
      dev.end(true);
    } finally {
      await collector.close();
      await dir.remove();
    }
  });

  it('refuses to start with a credentials file that is invalid, naming the line', async () => {
    const dir = await tempDir();
    const file = join(dir.path, 'bad.credentials');
    await (await import('node:fs/promises')).writeFile(file, 'dev-1:plaintext-secret\n');
    await expect(
      startCollector({
        raterPort: await freePort(),
        bufferDir: join(dir.path, 'buf'),
        config: { deviceCredentials: file },
      }),
    ).rejects.toThrow(/line 1: dev-1: not a scrypt hash/);
    await dir.remove();
  });
});

describe('MQTT over TLS', () => {
  let collector: Collector;
  let pki: LabPki;
  let stranger: LabPki;
  let secret: string;
  let tlsUrl: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir();
    pki = await labPki(join(dir.path, 'pki'), { collectors: ['gw-tls'], devices: ['dev-t1'] });
    // A second, untrusted CA issuing a certificate with a valid-looking device id.
    stranger = await labPki(join(dir.path, 'stranger'), { devices: ['dev-t1'] });
    const creds = new CredentialsFile(join(dir.path, 'devices.credentials'));
    secret = await creds.add('dev-t2');
    collector = await startCollector({
      raterPort: await freePort(),
      bufferDir: join(dir.path, 'buf'),
      collectorId: 'gw-tls',
      config: {
        mqttListen: 'off',
        mqttTlsListen: '127.0.0.1:0',
        mqttTlsCert: pki.file('collector-gw-tls.crt'),
        mqttTlsKey: pki.file('collector-gw-tls.key'),
        mqttTlsCa: pki.file('ca.crt'),
        deviceCredentials: creds.file,
      },
    });
    tlsUrl = `mqtts://127.0.0.1:${collector.mqttTlsPort}`;
    cleanup = async () => {
      await collector.close();
      await dir.remove();
    };
  });
  afterAll(() => cleanup?.());

  it('serves TLS only when the plain listener is off', () => {
    expect(collector.mqttPort).toBe(0);
    expect(collector.mqttTlsPort).toBeGreaterThan(0);
  });

  it('authenticates a device by its client certificate (CN = device id)', async () => {
    const dev = await connect(tlsUrl, {
      ca: await pki.pem('ca.crt'),
      cert: await pki.pem('device-dev-t1.crt'),
      key: await pki.pem('device-dev-t1.key'),
    });
    const before = collector.outboxStats().records;
    expect(await publishOutcome(dev, 'usage/dev-t1', report(1, 5, 5))).toBe('acked');
    expect(collector.outboxStats().records).toBe(before + 1);
    dev.end(true);
  });

  it('holds a certificate device to its own topic', async () => {
    const dev = await connect(tlsUrl, {
      ca: await pki.pem('ca.crt'),
      cert: await pki.pem('device-dev-t1.crt'),
      key: await pki.pem('device-dev-t1.key'),
    });
    const before = collector.outboxStats().records;
    expect(await publishOutcome(dev, 'usage/dev-t2', report(2, 5, 5))).toBe('closed');
    expect(collector.outboxStats().records).toBe(before);
    dev.end(true);
  });

  it('refuses a certificate from an untrusted CA, and a user name that contradicts the CN', async () => {
    await expect(
      connect(tlsUrl, {
        ca: await pki.pem('ca.crt'),
        cert: await stranger.pem('device-dev-t1.crt'),
        key: await stranger.pem('device-dev-t1.key'),
      }),
    ).rejects.toThrow(/Not authorized/i);
    await expect(
      connect(tlsUrl, {
        ca: await pki.pem('ca.crt'),
        cert: await pki.pem('device-dev-t1.crt'),
        key: await pki.pem('device-dev-t1.key'),
        username: 'dev-t2',
        password: secret,
      }),
    ).rejects.toThrow(/Not authorized/i);
    expect(await counter(collector, 'authFailures', { reason: 'bad_certificate' })).toBe(1);
    expect(await counter(collector, 'authFailures', { reason: 'name_mismatch' })).toBe(1);
  });

  it('lets a device without a certificate log in with its secret over TLS', async () => {
    const dev = await connect(tlsUrl, {
      ca: await pki.pem('ca.crt'),
      username: 'dev-t2',
      password: secret,
    });
    expect(await publishOutcome(dev, 'usage/dev-t2', report(3, 5, 5))).toBe('acked');
    dev.end(true);
  });

  it('is refused by a device that verifies the server against another CA', async () => {
    await expect(
      connect(tlsUrl, { ca: await stranger.pem('ca.crt'), username: 'dev-t2', password: secret }),
    ).rejects.toThrow(/certificate/i);
  });
});
