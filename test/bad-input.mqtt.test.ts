// Guarantee 3 (PRODUCT.md) over real MQTT: every kind of bad input a device can send is
// acknowledged (so the device does not retry it forever), dead-lettered with a specific reason,
// answered on usage/{id}/rejected, and never stops the collector or a good record sent in the
// same JSON array or right after it. One table, one row per kind of bad input; a real collector
// (embedded aedes broker, LevelDB outbox) forwarding to a real rater on the embedded database.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { DeviceReport } from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import {
  T0,
  device,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

/** The collector's defaults (collector/config.ts), which this suite runs with. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
const MAX_RECORDS = 1000;
const TS = new Date(T0).toISOString();
const pb = (m: Parameters<typeof DeviceReport.encode>[0]) =>
  Buffer.from(DeviceReport.encode(m).finish());
/** A valid report of the element-level cases' own device (seq 2, so it never collides). */
const okEl = (extra: string) => `{"seq":2,"ts":"${TS}",${extra}}`;

type Case =
  /** `bad` is the JSON text of one array element, sent as `[bad, good]`. */
  | { kind: 'element'; name: string; bad: string; reason: RegExp }
  /** A whole payload on usage/{id} (or usage/{id}/pb), followed by a good report. */
  | {
      kind: 'payload';
      name: string;
      payload: string | Buffer;
      pb?: boolean;
      code: string;
      reason: RegExp;
    }
  /** A publish on a topic under usage/ that names no valid device: INVALID_TOPIC, no answer. */
  | { kind: 'topic'; name: string; topic: string; reason: RegExp }
  /** MQTT forbids it: the broker closes the connection before the collector sees it. */
  | { kind: 'refused'; name: string; topic: string };

const cases: Case[] = [
  // Malformed JSON
  {
    kind: 'payload',
    name: 'truncated JSON',
    payload: '{"seq": 1, "ts": ',
    code: 'INVALID_JSON',
    reason: /^payload is not valid JSON: /,
  },
  {
    kind: 'payload',
    name: 'not JSON at all',
    payload: 'not json',
    code: 'INVALID_JSON',
    reason: /not valid JSON/,
  },
  {
    kind: 'payload',
    name: 'trailing comma',
    payload: `[{"seq":2,"ts":"${TS}"},]`,
    code: 'INVALID_JSON',
    reason: /not valid JSON/,
  },
  {
    kind: 'payload',
    name: 'single quotes',
    payload: `{'seq':2,'ts':'${TS}'}`,
    code: 'INVALID_JSON',
    reason: /not valid JSON/,
  },
  {
    kind: 'payload',
    name: 'NaN literal',
    payload: `{"seq":2,"ts":"${TS}","up":NaN}`,
    code: 'INVALID_JSON',
    reason: /not valid JSON/,
  },
  {
    kind: 'payload',
    name: 'two documents',
    payload: `{"seq":2,"ts":"${TS}"}{"seq":3,"ts":"${TS}"}`,
    code: 'INVALID_JSON',
    reason: /not valid JSON/,
  },
  {
    kind: 'payload',
    name: 'empty payload',
    payload: Buffer.alloc(0),
    code: 'EMPTY_PAYLOAD',
    reason: /^payload is empty$/,
  },
  {
    kind: 'payload',
    name: 'empty array',
    payload: '[]',
    code: 'EMPTY_PAYLOAD',
    reason: /^payload is an empty array$/,
  },
  {
    kind: 'payload',
    name: 'a bare JSON string',
    payload: '"seq"',
    code: 'INVALID_RECORD',
    reason: /^a report must be a JSON object$/,
  },
  {
    kind: 'payload',
    name: 'JSON null',
    payload: 'null',
    code: 'INVALID_RECORD',
    reason: /^a report must be a JSON object$/,
  },

  // Wrong types
  {
    kind: 'element',
    name: 'seq as a string',
    bad: `{"seq":"one","ts":"${TS}"}`,
    reason: /^seq must be an integer >= 0$/,
  },
  {
    kind: 'element',
    name: 'ts as a boolean',
    bad: '{"seq":2,"ts":true}',
    reason: /^ts must be an RFC 3339 string or epoch milliseconds$/,
  },
  {
    kind: 'element',
    name: 'up as a numeric string',
    bad: okEl('"up":"10"'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'down as null',
    bad: okEl('"down":null'),
    reason: /^down must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'id as a number',
    bad: `{"id":42,"ts":"${TS}"}`,
    reason: /^id must be a string$/,
  },
  {
    kind: 'element',
    name: 'boot as an object',
    bad: okEl('"boot":{}'),
    reason: /^boot must be a string of at most 64 characters or an integer$/,
  },
  {
    kind: 'element',
    name: 'boot as a fraction',
    bad: okEl('"boot":1.5'),
    reason: /^boot must be a string of at most 64 characters or an integer$/,
  },
  {
    kind: 'element',
    name: 'meters as an array',
    bad: okEl('"meters":[1,2]'),
    reason: /^meters must be an object of name -> number$/,
  },
  {
    kind: 'element',
    name: 'dims value as a number',
    bad: okEl('"dims":{"zone":5}'),
    reason: /^dims\.zone: dims values must be strings$/,
  },
  {
    kind: 'element',
    name: 'an element that is a number',
    bad: '7',
    reason: /^a report must be a JSON object$/,
  },
  {
    kind: 'element',
    name: 'an element that is null',
    bad: 'null',
    reason: /^a report must be a JSON object$/,
  },
  {
    kind: 'element',
    name: 'unknown field',
    bad: okEl('"rssi":-71'),
    reason: /^unknown field\(s\): rssi$/,
  },
  {
    kind: 'element',
    name: '__proto__ as a field',
    bad: okEl('"__proto__":{"up":5}'),
    reason: /^unknown field\(s\): __proto__$/,
  },
  {
    kind: 'element',
    name: '__proto__ as a meter',
    bad: okEl('"meters":{"__proto__":3}'),
    reason: /^meters names must not start with "__"$/,
  },
  {
    kind: 'element',
    name: '5,000 unknown fields (the reason stays short)',
    bad: okEl(Array.from({ length: 5000 }, (_, i) => `"f${i}":1`).join(',')),
    reason: /^unknown field\(s\): f0, f1, f2, f3, f4 \(and 4995 more\)$/,
  },
  {
    kind: 'element',
    name: 'a 100,000-character field name (the reason stays short)',
    bad: okEl(`"${'k'.repeat(100_000)}":1`),
    reason: /^unknown field\(s\): k{64}…$/,
  },
  {
    kind: 'element',
    name: 'neither seq nor id',
    bad: `{"ts":"${TS}","up":1}`,
    reason: /^seq or id is required/,
  },
  {
    kind: 'element',
    name: 'both seq and id',
    bad: `{"seq":2,"id":"x","ts":"${TS}"}`,
    reason: /^give either seq or id, not both$/,
  },

  // Huge and negative numbers
  {
    kind: 'element',
    name: 'negative up',
    bad: okEl('"up":-1'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'negative down',
    bad: okEl('"down":-5'),
    reason: /^down must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'negative seq',
    bad: `{"seq":-1,"ts":"${TS}"}`,
    reason: /^seq must be an integer >= 0$/,
  },
  {
    kind: 'element',
    name: 'negative meter',
    bad: okEl('"meters":{"sms":-1}'),
    reason: /^meter sms must be a finite number >= 0$/,
  },
  {
    kind: 'element',
    name: 'up of 2^53',
    bad: okEl('"up":9007199254740992'),
    reason: /^up must be an integer number of bytes >= 0 \(at most 2\^53-1\)$/,
  },
  {
    kind: 'element',
    name: 'up of 1e308',
    bad: okEl('"up":1e308'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'up of 1e999 (Infinity once parsed)',
    bad: okEl('"up":1e999'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'seq of 1e300',
    bad: `{"seq":1e300,"ts":"${TS}"}`,
    reason: /^seq must be an integer >= 0$/,
  },
  {
    kind: 'element',
    name: 'meter of 1e999',
    bad: okEl('"meters":{"sms":1e999}'),
    reason: /^meters\.sms: meter values must be numbers >= 0$/,
  },

  // NaN / Infinity as strings
  {
    kind: 'element',
    name: 'up "NaN"',
    bad: okEl('"up":"NaN"'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'down "Infinity"',
    bad: okEl('"down":"Infinity"'),
    reason: /^down must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'meter "-Infinity"',
    bad: okEl('"meters":{"sms":"-Infinity"}'),
    reason: /^meters\.sms: meter values must be numbers >= 0$/,
  },
  {
    kind: 'element',
    name: 'ts "NaN"',
    bad: '{"seq":2,"ts":"NaN"}',
    reason: /^ts must be an RFC 3339 time such as/,
  },
  {
    kind: 'element',
    name: 'ts "Infinity"',
    bad: '{"seq":2,"ts":"Infinity"}',
    reason: /^ts must be an RFC 3339 time such as/,
  },

  // Non-integer bytes
  {
    kind: 'element',
    name: 'up 1.5',
    bad: okEl('"up":1.5'),
    reason: /^up must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'down 0.000001',
    bad: okEl('"down":0.000001'),
    reason: /^down must be an integer number of bytes >= 0/,
  },
  {
    kind: 'element',
    name: 'fractional epoch ms',
    bad: `{"seq":2,"ts":${T0 + 0.5}}`,
    reason: /^ts in epoch milliseconds must be an integer$/,
  },

  // Timestamps far in the past, and absurd ones (far-future ones are the clock-skew policy's)
  {
    kind: 'element',
    name: 'ts at the Unix epoch',
    bad: '{"seq":2,"ts":"1970-01-01T00:00:00Z"}',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'ts in year 1',
    bad: '{"seq":2,"ts":"0001-01-01T00:00:00Z"}',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'ts of 0 ms',
    bad: '{"seq":2,"ts":0}',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'ts of -1e12 ms',
    bad: '{"seq":2,"ts":-1000000000000}',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'ts of 1e300 ms',
    bad: '{"seq":2,"ts":1e300}',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'ts just before 2000',
    bad: '{"seq":2,"ts":"1999-12-31T23:59:59.999Z"}',
    reason: /^ts must be a time between/,
  },
  {
    kind: 'element',
    name: 'start far in the past',
    bad: `{"seq":2,"ts":"${TS}","start":"1960-01-01T00:00:00Z"}`,
    reason: /^start must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'element',
    name: 'start after ts',
    bad: `{"seq":2,"ts":"${TS}","start":${T0 + 1}}`,
    reason: /^start must not be after ts$/,
  },
  {
    kind: 'element',
    name: 'February 30th',
    bad: '{"seq":2,"ts":"2026-02-30T00:00:00Z"}',
    reason: /^ts "2026-02-30T00:00:00Z" is not a valid calendar date and time$/,
  },
  {
    kind: 'element',
    name: 'hour 24',
    bad: '{"seq":2,"ts":"2026-11-01T24:00:00Z"}',
    reason: /^ts "2026-11-01T24:00:00Z" is not a valid calendar date and time$/,
  },
  {
    kind: 'element',
    name: 'month 13',
    bad: '{"seq":2,"ts":"2026-13-01T00:00:00Z"}',
    reason: /is not a valid calendar date and time$/,
  },
  {
    kind: 'element',
    name: 'no offset',
    bad: '{"seq":2,"ts":"2026-11-01T10:00:00"}',
    reason: /^ts must be an RFC 3339 time such as/,
  },

  // Text that storage cannot hold
  {
    kind: 'element',
    name: 'NUL in id',
    bad: `{"id":"a\\u0000b","ts":"${TS}"}`,
    reason: /^id must not contain the NUL character \(U\+0000\)$/,
  },
  {
    kind: 'element',
    name: 'NUL in boot',
    bad: okEl('"boot":"7\\u0000"'),
    reason: /^boot must not contain the NUL character/,
  },
  {
    kind: 'element',
    name: 'NUL in a dim value',
    bad: okEl('"dims":{"zone":"e\\u0000u"}'),
    reason: /^dim zone must not contain the NUL character/,
  },
  {
    kind: 'element',
    name: 'unpaired surrogate in id',
    bad: `{"id":"\\ud800","ts":"${TS}"}`,
    reason: /^id must be well-formed Unicode/,
  },

  // Deep nesting
  {
    kind: 'element',
    name: '10,000 nested arrays',
    bad: '['.repeat(10_000) + ']'.repeat(10_000),
    reason: /^a report must be a JSON object$/,
  },
  {
    kind: 'element',
    name: '10,000 nested objects in a meter',
    bad: okEl(`"meters":{"sms":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`),
    reason: /^meters\.sms: meter values must be numbers >= 0$/,
  },
  {
    kind: 'payload',
    name: '120,000 nested arrays (near the payload limit)',
    payload: '['.repeat(120_000) + ']'.repeat(120_000),
    code: 'INVALID_RECORD',
    reason: /^\[0\] a report must be a JSON object$|^a report must be a JSON object$/,
  },

  // Invalid UTF-8
  {
    kind: 'payload',
    name: 'invalid UTF-8 (C3 28)',
    payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
    code: 'INVALID_UTF8',
    reason: /^payload is not valid UTF-8$/,
  },
  {
    kind: 'payload',
    name: 'invalid UTF-8 inside a string of a good report',
    payload: Buffer.concat([
      Buffer.from(`{"id":"`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","ts":"${TS}"}`),
    ]),
    code: 'INVALID_UTF8',
    reason: /UTF-8/,
  },
  {
    kind: 'payload',
    name: 'overlong UTF-8 encoding of "/"',
    payload: Buffer.from([0x22, 0xc0, 0xaf, 0x22]),
    code: 'INVALID_UTF8',
    reason: /UTF-8/,
  },
  {
    kind: 'payload',
    name: 'UTF-8-encoded surrogate',
    payload: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
    code: 'INVALID_UTF8',
    reason: /UTF-8/,
  },
  {
    kind: 'payload',
    name: 'UTF-8 cut mid-character',
    payload: Buffer.from([0x22, 0xe2, 0x82]),
    code: 'INVALID_UTF8',
    reason: /UTF-8/,
  },

  // Oversized payloads and arrays
  {
    kind: 'payload',
    name: `payload of maxPayloadBytes + 1 (${MAX_PAYLOAD_BYTES + 1} bytes)`,
    payload: `[${`{"seq":9,"ts":"${TS}"}`.padEnd(MAX_PAYLOAD_BYTES - 1, ' ')}]`,
    code: 'PAYLOAD_TOO_LARGE',
    reason: new RegExp(
      `^payload is ${MAX_PAYLOAD_BYTES + 1} bytes; the limit is ${MAX_PAYLOAD_BYTES}$`,
    ),
  },
  {
    kind: 'payload',
    name: `array of maxRecordsPerPayload + 1 (${MAX_RECORDS + 1}) reports`,
    payload: JSON.stringify(
      Array.from({ length: MAX_RECORDS + 1 }, (_, i) => ({ seq: 10 + i, ts: TS })),
    ),
    code: 'TOO_MANY_RECORDS',
    reason: new RegExp(`^array holds ${MAX_RECORDS + 1} reports; the limit is ${MAX_RECORDS}$`),
  },

  // Protobuf payloads that are not a record
  {
    kind: 'payload',
    name: 'protobuf: garbage bytes',
    pb: true,
    payload: Buffer.from([0xff, 0xff, 0xff]),
    code: 'INVALID_PROTOBUF',
    reason: /^payload is not an edgemeter\.v1\.DeviceReport: /,
  },
  {
    kind: 'payload',
    name: 'protobuf: JSON sent to /pb',
    pb: true,
    payload: `{"seq":2,"ts":"${TS}"}`,
    code: 'INVALID_PROTOBUF',
    reason: /^payload is not an edgemeter\.v1\.DeviceReport: index out of range/,
  },
  {
    kind: 'payload',
    name: 'protobuf: field number 0',
    pb: true,
    payload: Buffer.from([0x00, 0x01]),
    code: 'INVALID_PROTOBUF',
    reason: /illegal tag: field number 0/,
  },
  {
    kind: 'payload',
    name: 'protobuf: 100,000 nested groups',
    pb: true,
    payload: Buffer.alloc(100_000, 0x7b),
    code: 'INVALID_PROTOBUF',
    reason: /max depth exceeded/,
  },
  {
    kind: 'payload',
    name: 'protobuf: invalid UTF-8 in id',
    pb: true,
    payload: Buffer.concat([Buffer.from([0x12, 0x02, 0xc3, 0x28]), pb({ tsMs: T0 })]),
    code: 'INVALID_PROTOBUF',
    reason: /not valid for encoding utf-8/,
  },
  {
    kind: 'payload',
    name: 'protobuf: an unknown field only',
    pb: true,
    payload: Buffer.from([0x78, 0x01]),
    code: 'INVALID_RECORD',
    reason: /^seq or id is required/,
  },
  {
    kind: 'payload',
    name: 'protobuf: no ts_ms',
    pb: true,
    payload: pb({ seq: 2, up: 1 }),
    code: 'INVALID_RECORD',
    reason: /^ts_ms is required$/,
  },
  {
    kind: 'payload',
    name: 'protobuf: negative ts_ms',
    pb: true,
    payload: pb({ seq: 2, tsMs: -5 }),
    code: 'INVALID_RECORD',
    reason: /^ts must be a time between 2000-01-01 and 2100-01-01$/,
  },
  {
    kind: 'payload',
    name: 'protobuf: up beyond 2^53',
    pb: true,
    payload: pb({ seq: 2, tsMs: T0, up: 2 ** 60 }),
    code: 'INVALID_RECORD',
    reason: /^up must be an integer number of bytes >= 0$/,
  },
  {
    kind: 'payload',
    name: 'protobuf: NaN meter',
    pb: true,
    payload: pb({ seq: 2, tsMs: T0, meters: { sms: NaN } }),
    code: 'INVALID_RECORD',
    reason: /^meter sms must be a finite number >= 0$/,
  },
  {
    kind: 'payload',
    name: 'protobuf: __proto__ meter',
    pb: true,
    payload: pb({
      seq: 2,
      tsMs: T0,
      meters: JSON.parse('{"__proto__":1}') as Record<string, number>,
    }),
    code: 'INVALID_RECORD',
    reason: /^meter name "__proto__" is invalid$/,
  },

  // Device ids with illegal characters, and topic tricks
  {
    kind: 'topic',
    name: 'extra level usage/a/b',
    topic: 'usage/a/b',
    reason: /^topic must be usage\/\{deviceId\} or usage\/\{deviceId\}\/pb$/,
  },
  {
    kind: 'topic',
    name: 'no device usage/',
    topic: 'usage/',
    reason: /^device id in topic must be 1-128 characters/,
  },
  {
    kind: 'topic',
    name: 'empty device usage//pb',
    topic: 'usage//pb',
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'trailing slash usage/a/',
    topic: 'usage/a/',
    reason: /^topic must be usage\/\{deviceId\}/,
  },
  {
    kind: 'topic',
    name: 'path trick usage/../x',
    topic: 'usage/../x',
    reason: /^topic must be usage\/\{deviceId\}/,
  },
  {
    kind: 'topic',
    name: 'another device’s answer topic, one level down',
    topic: 'usage/a/rejected/x',
    reason: /^topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id of 129 characters',
    topic: `usage/${'x'.repeat(129)}`,
    reason: /^device id in topic must be 1-128 characters/,
  },
  {
    kind: 'topic',
    name: 'topic of 65,000 characters',
    topic: `usage/${'x'.repeat(64_994)}`,
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id with a space',
    topic: 'usage/dev 1',
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id with unicode',
    topic: 'usage/dévice',
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id with an emoji',
    topic: 'usage/\u{1F600}',
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id with a NUL',
    topic: 'usage/a\u0000b',
    reason: /^device id in topic must be/,
  },
  {
    kind: 'topic',
    name: 'device id with $',
    topic: 'usage/dev$1',
    reason: /^device id in topic must be/,
  },
  { kind: 'refused', name: 'wildcard usage/+', topic: 'usage/+' },
  { kind: 'refused', name: 'wildcard usage/#', topic: 'usage/#' },
  { kind: 'refused', name: 'wildcard inside an id usage/dev+1', topic: 'usage/dev+1' },
];

interface Answer {
  topic: string;
  accepted: number;
  rejected: Array<{ index?: number; code: string; reason: string }>;
}

/** Rejects after `ms` instead of waiting forever for a PUBACK (bounded waits only). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms),
    ),
  ]);
}

describe('bad input over MQTT: acknowledged, dead-lettered, answered, harmless', () => {
  let rater: Rater;
  let collector: Collector;
  let removeDir: () => Promise<void>;
  let listener: MqttClient;
  const answers = new Map<string, Answer[]>();

  beforeAll(async () => {
    const dir = await tempDir();
    removeDir = dir.remove;
    rater = await startRater('embedded:memory');
    collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: dir.path });
    expect(collector.config).toMatchObject({
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      maxRecordsPerPayload: MAX_RECORDS,
    });
    // One subscriber sees every answer the collector publishes.
    listener = await device(collector.mqttPort, 'listener');
    listener.on('message', (topic, msg) => {
      const list = answers.get(topic) ?? [];
      list.push(JSON.parse(msg.toString()) as Answer);
      answers.set(topic, list);
    });
    await listener.subscribeAsync('usage/+/rejected', { qos: 1 });
  });
  afterAll(async () => {
    await listener?.endAsync();
    await collector?.close();
    await rater?.close();
    await removeDir?.();
  });

  const deadLetters = () => collector.deadLetters.list({ limit: 100_000 });

  it.each(cases.map((c, i) => [c.name, c, `bi-${i}`] as const))('%s', async (_name, c, dev) => {
    const good = { seq: 1, ts: TS, up: 7, down: 11 };
    const client = await device(collector.mqttPort, dev);
    let closed = false;
    client.on('close', () => (closed = true));
    client.on('error', () => undefined);
    try {
      if (c.kind === 'refused') {
        // The broker refuses a wildcard in PUBLISH (MQTT 3.1.1, 3.3.2-2) before any hook runs:
        // no PUBACK, the connection is closed, nothing reaches the collector's intake.
        void client.publishAsync(c.topic, JSON.stringify(good), { qos: 1 }).catch(() => {});
        await waitFor(
          () => (closed ? true : undefined),
          'the broker to close the connection',
          10_000,
        );
      } else if (c.kind === 'element') {
        // The bad element and a good report in one array: one PUBACK for both.
        const payload = `[${c.bad},${JSON.stringify(good)}]`;
        await within(client.publishAsync(`usage/${dev}`, payload, { qos: 1 }), 10_000, 'PUBACK');
      } else {
        const topic = c.kind === 'topic' ? c.topic : `usage/${dev}${c.pb ? '/pb' : ''}`;
        const payload = c.kind === 'topic' ? JSON.stringify(good) : c.payload;
        await within(client.publishAsync(topic, payload, { qos: 1 }), 10_000, 'PUBACK');
      }
      // The good report right after: the collector still takes reports (on a new connection
      // where the broker closed the old one).
      const sender = closed ? await device(collector.mqttPort, `${dev}-again`) : client;
      await within(
        sender.publishAsync(`usage/${dev}`, JSON.stringify(good), { qos: 1 }),
        10_000,
        'PUBACK of the good report',
      );
      if (sender !== client) await sender.endAsync();
    } finally {
      client.end(true);
    }

    // Stored exactly once: the good report and nothing of the bad input.
    expect(await settledTotals(rater, dev, 1)).toEqual({ up: 7, down: 11, records: 1 });

    const letters = await deadLetters();
    if (c.kind === 'refused') {
      expect(letters.filter((l) => l.topic === c.topic)).toEqual([]);
      return;
    }
    if (c.kind === 'topic') {
      // Kept with its reason; no device to answer.
      expect(letters).toContainEqual(
        expect.objectContaining({
          code: 'INVALID_TOPIC',
          topic: c.topic,
          reason: expect.stringMatching(c.reason),
        }),
      );
      return;
    }

    const code = c.kind === 'element' ? 'INVALID_RECORD' : c.code;
    const mine = letters.filter((l) => l.deviceId === dev);
    expect(mine, 'one dead letter').toHaveLength(1);
    const letter = mine[0];
    expect(letter?.code).toBe(code);
    if (c.kind === 'element') {
      expect(letter?.reason).toMatch(/^\[0\] /);
      expect(letter?.reason.slice(4)).toMatch(c.reason);
      // The dead letter keeps the offending element alone, not the whole array.
      expect(letter?.payload?.toString()).not.toContain('"up":7');
    } else {
      expect(letter?.reason).toMatch(c.reason);
      // The dead letter keeps the payload as received (cut at 64 KiB), or for an element of an
      // array the element alone.
      const sent = Buffer.from(c.payload);
      if (letter?.reason.startsWith('[0] ')) expect(letter.payload?.length).toBeGreaterThan(0);
      else expect(Buffer.from(letter?.payload ?? [])).toEqual(sent.subarray(0, 64 * 1024));
    }
    expect(letter?.reason.length, 'a reason of bounded length').toBeLessThan(300);

    const topic = `usage/${dev}/rejected`;
    const [answer] = await waitFor(() => answers.get(topic), `an answer on ${topic}`, 10_000);
    expect(answer?.topic).toBe(c.kind === 'payload' && c.pb ? `usage/${dev}/pb` : `usage/${dev}`);
    expect(answer?.accepted).toBe(c.kind === 'element' ? 1 : 0);
    expect(answer?.rejected).toHaveLength(1);
    expect(answer?.rejected[0]).toMatchObject({
      code,
      reason: expect.stringMatching(c.reason),
      ...(c.kind === 'element' ? { index: 0 } : {}),
    });
  });

  it('still serves after all of it: health, readiness, metrics, a new device', async () => {
    const http = `http://127.0.0.1:${collector.httpPort}`;
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    expect((await fetch(`${http}/readyz`)).status).toBe(200);

    // Every rejection was counted by its code.
    const rejected = await collector.metrics.recordsRejected.get();
    const byCode = Object.fromEntries(rejected.values.map((v) => [v.labels.code, v.value]));
    const expected: Record<string, number> = {};
    for (const c of cases) {
      if (c.kind === 'refused') continue;
      const code =
        c.kind === 'element' ? 'INVALID_RECORD' : c.kind === 'topic' ? 'INVALID_TOPIC' : c.code;
      expected[code] = (expected[code] ?? 0) + 1;
    }
    expect(byCode).toEqual(expected);

    // Answers went to the devices that sent bad reports, one each, and to no one else.
    const answered = cases.flatMap((c, i) =>
      c.kind === 'element' || c.kind === 'payload' ? [`usage/bi-${i}/rejected`] : [],
    );
    expect([...answers.keys()].sort()).toEqual(answered.sort());
    for (const list of answers.values()) expect(list).toHaveLength(1);

    const dev = await device(collector.mqttPort, 'after-all');
    await within(
      dev.publishAsync('usage/after-all', JSON.stringify({ seq: 1, ts: TS, up: 1, down: 2 }), {
        qos: 1,
      }),
      10_000,
      'PUBACK',
    );
    await dev.endAsync();
    expect(await settledTotals(rater, 'after-all', 1)).toEqual({ up: 1, down: 2, records: 1 });
  });
});
