// Bad payloads are acknowledged (so devices do not retry them forever), dead-lettered with their
// reason, counted, answered on usage/{id}/rejected, and never stop the good ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import type { Rater } from '../rater/rater.ts';
import {
  device,
  report,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

describe('bad input over MQTT', () => {
  let rater: Rater;
  let collector: Collector;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir();
    removeDir = dir.remove;
    rater = await startRater('embedded:memory');
    collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: dir.path });
  });
  afterAll(async () => {
    await collector?.close();
    await rater?.close();
    await removeDir?.();
  });

  const bad: Array<[string, string | Buffer, string, string]> = [
    ['not JSON', '{"seq": 1, "ts": ', 'INVALID_JSON', 'not valid JSON'],
    [
      'wrong type',
      JSON.stringify({ seq: 'one', ts: '2026-11-02T08:00:00Z' }),
      'INVALID_RECORD',
      'seq must be an integer',
    ],
    [
      'negative bytes',
      JSON.stringify({ seq: 2, ts: '2026-11-02T08:00:00Z', up: -1 }),
      'INVALID_RECORD',
      'up must be an integer number of bytes',
    ],
    [
      'non-integer bytes',
      JSON.stringify({ seq: 3, ts: '2026-11-02T08:00:00Z', down: 1.5 }),
      'INVALID_RECORD',
      'down must be an integer number of bytes',
    ],
    [
      'missing seq and id',
      JSON.stringify({ ts: '2026-11-02T08:00:00Z', up: 1 }),
      'INVALID_RECORD',
      'seq or id is required',
    ],
    ['oversized', Buffer.alloc(300 * 1024, 0x20), 'PAYLOAD_TOO_LARGE', 'limit is 262144'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'INVALID_UTF8', 'UTF-8'],
    [
      'protobuf that is not a record',
      Buffer.from([0xff, 0xff, 0xff]),
      'INVALID_PROTOBUF',
      'DeviceReport',
    ],
  ];

  it('dead-letters each with a specific reason, answers the device, and keeps the good reports flowing', async () => {
    const dev = await device(collector.mqttPort, 'bad-1');
    const answers: Array<{ rejected: Array<{ code: string; reason: string }> }> = [];
    dev.on('message', (_t, msg) => answers.push(JSON.parse(msg.toString())));
    await dev.subscribeAsync('usage/bad-1/rejected', { qos: 1 });

    let seq = 100;
    for (const [, payload, code] of bad) {
      const topic = code === 'INVALID_PROTOBUF' ? 'usage/bad-1/pb' : 'usage/bad-1';
      await dev.publishAsync(topic, payload, { qos: 1 }); // acknowledged although invalid
      await dev.publishAsync('usage/bad-1', report(++seq, 10, 10), { qos: 1 }); // good ones still flow
    }
    // One array with good and bad elements: the good ones are kept.
    await dev.publishAsync(
      'usage/bad-1',
      JSON.stringify([
        JSON.parse(report(++seq, 10, 10)),
        { seq: 999, ts: 'soon', up: 1 },
        JSON.parse(report(++seq, 10, 10)),
      ]),
      { qos: 1 },
    );
    // A topic trick: an illegal device id. Acknowledged and dead-lettered (no one to answer).
    await dev.publishAsync('usage/bad$id', report(1, 1, 1), { qos: 1 });

    const good = seq - 100;
    expect(await settledTotals(rater, 'bad-1', good)).toEqual({
      up: 10 * good,
      down: 10 * good,
      records: good,
    });

    const letters = await waitFor(async () => {
      const l = await collector.deadLetters.list({ limit: 100 });
      return l.length >= bad.length + 2 ? l : undefined;
    }, 'dead letters');
    for (const [name, , code, reason] of bad) {
      expect(letters, name).toContainEqual(
        expect.objectContaining({
          code,
          deviceId: 'bad-1',
          reason: expect.stringContaining(reason),
        }),
      );
    }
    expect(letters).toContainEqual(
      expect.objectContaining({
        code: 'INVALID_RECORD',
        reason: expect.stringMatching(/^\[1\] .*ts/),
      }),
    );
    expect(letters).toContainEqual(
      expect.objectContaining({ code: 'INVALID_TOPIC', topic: 'usage/bad$id' }),
    );
    // The dead letter keeps the payload for inspection.
    const notJson = letters.find((l) => l.code === 'INVALID_JSON');
    expect(notJson?.payload?.toString()).toBe('{"seq": 1, "ts": ');

    await waitFor(() => (answers.length >= bad.length + 1 ? true : undefined), 'rejected answers');
    expect(answers.flatMap((a) => a.rejected.map((r) => r.code))).toEqual([
      ...bad.map((b) => b[2]),
      'INVALID_RECORD',
    ]);

    // Operators read the dead letters live over the collector's HTTP endpoint.
    const http = `http://127.0.0.1:${collector.httpPort}`;
    const listed = (await (await fetch(`${http}/v1/dead-letters?limit=1000`)).json()) as {
      deadLetters: Array<{ code: string; payloadBase64?: string }>;
    };
    expect(listed.deadLetters).toHaveLength(letters.length);
    const json = listed.deadLetters.find((l) => l.code === 'INVALID_JSON');
    expect(Buffer.from(json?.payloadBase64 ?? '', 'base64').toString()).toBe('{"seq": 1, "ts": ');
    expect((await fetch(`${http}/v1/dead-letters?limit=0`)).status).toBe(400);
    expect(await (await fetch(`${http}/metrics`)).text()).toContain(
      'edgemeter_collector_records_rejected_total{code="INVALID_JSON"} 1',
    );
    expect((await fetch(`${http}/readyz`)).status).toBe(200);

    const rejected = await collector.metrics.recordsRejected.get();
    const byCode = Object.fromEntries(rejected.values.map((v) => [v.labels.code, v.value]));
    expect(byCode).toMatchObject({
      INVALID_JSON: 1,
      INVALID_RECORD: 5,
      PAYLOAD_TOO_LARGE: 1,
      INVALID_TOPIC: 1,
    });
    await dev.endAsync();
  });

  it('refuses a device that publishes on another usage/{id}/rejected topic', async () => {
    const dev = await device(collector.mqttPort, 'bad-2');
    const closed = new Promise<void>((resolve) => dev.once('close', () => resolve()));
    void dev
      .publishAsync('usage/bad-1/rejected', '{"fake":true}', { qos: 1 })
      .catch(() => undefined);
    await closed;
    const refused = await collector.metrics.publishesRefused.get();
    expect(refused.values).toEqual([
      expect.objectContaining({ labels: { code: 'NOT_AUTHORIZED' }, value: 1 }),
    ]);
    expect(await collector.deadLetters.list({ limit: 1000 })).not.toContainEqual(
      expect.objectContaining({ topic: 'usage/bad-1/rejected' }),
    );
    dev.end(true);
  });
});
