// Bridge mode: the gateway's Mosquitto authenticates devices, and deploy/mosquitto/edgemeter.acl
// (the file we ship) holds each device to its own topics. A private Mosquitto is started on a
// free loopback port with that very ACL file, a password file made by mosquitto_passwd, and a real
// collector bridging from it to a real rater.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import type { Rater } from '../rater/rater.ts';
import {
  freePort,
  report,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  usageTotals,
  waitFor,
} from './helpers/stack.ts';

const MOSQUITTO = '/usr/sbin/mosquitto';
const PASSWD = '/usr/bin/mosquitto_passwd';
const have = existsSync(MOSQUITTO) && existsSync(PASSWD);
if (!have && process.env.EDGEMETER_REQUIRE_SERVICES === '1')
  throw new Error('mosquitto and mosquitto_passwd are required (EDGEMETER_REQUIRE_SERVICES=1)');

const USERS = { 'edgemeter-collector': 'c-secret', 'acl-a': 'a-secret', 'acl-b': 'b-secret' };

describe.skipIf(!have)('bridge mode behind a Mosquitto with the shipped ACL', () => {
  let broker: ChildProcess;
  let rater: Rater;
  let collector: Collector;
  let url: string;
  let cleanup: () => Promise<void>;

  const connect = (user: keyof typeof USERS | 'nobody', password?: string): Promise<MqttClient> =>
    mqtt.connectAsync(url, {
      clientId: `${user}-${Math.random().toString(36).slice(2, 7)}`,
      username: user,
      password: password ?? (USERS as Record<string, string>)[user],
      reconnectPeriod: 0,
    });

  beforeAll(async () => {
    const dir = await tempDir('edgemeter-acl-');
    const passwd = join(dir.path, 'passwd');
    await writeFile(passwd, '');
    for (const [user, pass] of Object.entries(USERS))
      execFileSync(PASSWD, ['-b', passwd, user, pass]);
    const port = await freePort();
    const conf = join(dir.path, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        'user root', // the test's temporary files belong to whoever runs it
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${resolve('deploy/mosquitto/edgemeter.acl')}`,
        'persistence false',
        `listener ${port} 127.0.0.1`,
        '',
      ].join('\n'),
    );
    broker = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    url = `mqtt://127.0.0.1:${port}`;
    await waitFor(
      () =>
        connect('acl-a').then(
          (c) => (c.end(true), true),
          () => undefined,
        ),
      'the private mosquitto',
    );
    rater = await startRater('embedded:memory');
    collector = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: join(dir.path, 'buf'),
      upstream: url,
      clientId: 'edgemeter-acl-test',
      config: {
        mqttUpstreamUsername: 'edgemeter-collector',
        mqttUpstreamPassword: USERS['edgemeter-collector'],
      },
    });
    cleanup = async () => {
      await collector.close();
      await rater.close();
      broker.kill('SIGTERM');
      await dir.remove();
    };
  });
  afterAll(() => cleanup?.());

  it('refuses a device with a wrong password', async () => {
    await expect(connect('acl-a', 'wrong')).rejects.toThrow(/Not authorized|Bad user/i);
    await expect(connect('nobody', 'x')).rejects.toThrow(/Not authorized|Bad user/i);
  });

  it("bills a device's own usage and drops what it publishes for another device", async () => {
    const a = await connect('acl-a');
    await a.publishAsync('usage/acl-a', report(1, 100, 200), { qos: 1 });
    await a.publishAsync('usage/acl-b', report(1, 999_999, 999_999), { qos: 1 });
    await a.publishAsync('usage/acl-a', report(2, 10, 20), { qos: 1 });
    a.end(true);
    // Mosquitto delivers in order: once A's later report is billed, the forged one would have been
    // too, had the ACL let it through.
    expect(await settledTotals(rater, 'acl-a', 2)).toEqual({ up: 110, down: 220, records: 2 });
    expect((await usageTotals(rater, 'acl-b')).records).toBe(0);
  });

  it("does not let a device read another device's rejection answers", async () => {
    const a = await connect('acl-a');
    const b = await connect('acl-b');
    const seenByA: string[] = [];
    a.on('message', (t) => seenByA.push(t));
    await a.subscribeAsync(['usage/acl-b/rejected', 'usage/acl-a/rejected'], { qos: 1 });
    await b.subscribeAsync('usage/acl-b/rejected', { qos: 1 });
    const bAnswer = new Promise<string>((r) => b.once('message', (t) => r(t)));
    await b.publishAsync('usage/acl-b', 'not json', { qos: 1 });
    expect(await bAnswer).toBe('usage/acl-b/rejected');
    // A's own answer comes after B's through the same collector and broker, so by the time it
    // arrives B's would have too.
    const aAnswer = new Promise<string>((r) => a.once('message', (t) => r(t)));
    await a.publishAsync('usage/acl-a', 'not json either', { qos: 1 });
    expect(await aAnswer).toBe('usage/acl-a/rejected');
    expect(seenByA).toEqual(['usage/acl-a/rejected']);
    a.end(true);
    b.end(true);
  });
});
