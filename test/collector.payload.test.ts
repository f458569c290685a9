// The device contract: topics and payloads → records or specific rejections. Pure functions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonPayload, parseProtobufPayload, parseTopic } from '../collector/mqtt/payload.ts';
import { DeviceReport } from '../proto/index.ts';

const limits = { maxPayloadBytes: 64 * 1024, maxRecordsPerPayload: 100 };
const NOW = Date.UTC(2026, 10, 21, 12);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const one = (v: unknown) => parseJsonPayload('dev-1', json(v), NOW, limits);

describe('topics', () => {
  it.each([
    ['usage/dev-1', { kind: 'usage', deviceId: 'dev-1', format: 'json' }],
    ['usage/a.b:c_d-9/pb', { kind: 'usage', deviceId: 'a.b:c_d-9', format: 'pb' }],
    ['usage/dev-1/rejected', { kind: 'rejected-answer', deviceId: 'dev-1' }],
    ['telemetry/dev-1', { kind: 'other' }],
  ])('%s', (topic, expected) => expect(parseTopic(topic)).toEqual(expected));

  it.each([
    'usage/',
    'usage/bad id',
    'usage/dev/1/2',
    'usage/dev-1/xml',
    `usage/${'x'.repeat(129)}`,
    'usage/dev$1',
  ])('rejects %s', (topic) => {
    expect(parseTopic(topic).kind).toBe('invalid');
  });
});

describe('JSON reports', () => {
  it('accepts a full report', () => {
    const r = one({
      seq: 7,
      boot: 3,
      ts: '2026-11-21T12:00:00Z',
      start: 1_795_000_000_000,
      up: 10,
      down: 20,
      meters: { sms: 2 },
      dims: { zone: 'eu' },
    });
    expect(r.rejections).toEqual([]);
    expect(r.records).toEqual([
      {
        deviceId: 'dev-1',
        seq: 7,
        boot: '3',
        endMs: Date.UTC(2026, 10, 21, 12),
        startMs: 1_795_000_000_000,
        up: 10,
        down: 20,
        meters: { sms: 2 },
        dims: { zone: 'eu' },
        receivedMs: NOW,
      },
    ]);
  });

  it('accepts an id instead of seq, and RFC 3339 offsets', () => {
    const r = one({ id: 'session-42', ts: '2026-11-21T13:00:00.5+01:00', up: 1, down: 0 });
    expect(r.records[0]).toMatchObject({
      id: 'session-42',
      endMs: Date.UTC(2026, 10, 21, 12, 0, 0, 500),
    });
  });

  it('takes each element of an array on its own: good ones kept, bad ones rejected with their index', () => {
    const r = one([
      { seq: 1, ts: NOW, up: 1, down: 1 },
      { seq: 2, ts: NOW, up: -1, down: 1 },
      { seq: 3, ts: NOW, up: 3, down: 3 },
    ]);
    expect(r.records.map((x) => x.seq)).toEqual([1, 3]);
    expect(r.rejections).toEqual([
      expect.objectContaining({
        code: 'INVALID_RECORD',
        index: 1,
        reason: expect.stringContaining('up'),
      }),
    ]);
  });

  it.each([
    [{ ts: NOW, up: 1, down: 1 }, 'seq or id is required'],
    [{ seq: 1, id: 'x', ts: NOW, up: 1, down: 1 }, 'either seq or id'],
    [{ seq: 1, up: 1, down: 1 }, 'ts'],
    [{ seq: 1, ts: 'yesterday', up: 1 }, 'RFC 3339'],
    [{ seq: 1, ts: NOW, up: 1.5 }, 'up must be an integer'],
    [{ seq: 1, ts: NOW, up: '10' }, 'up must be an integer'],
    [{ seq: 1, ts: NOW, down: -3 }, 'down must be an integer'],
    [{ seq: 1, ts: NOW, up: 2 ** 60 }, 'up must be an integer'],
    [{ seq: -1, ts: NOW }, 'seq must be an integer'],
    [{ seq: 1.5, ts: NOW }, 'seq must be an integer'],
    [{ seq: 1, ts: NOW, up: 'NaN' }, 'up must be an integer'],
    [{ seq: 1, ts: NOW, dwn: 5 }, 'unknown field(s): dwn'],
    [{ seq: 1, ts: NOW, meters: { sms: -1 } }, 'meter sms'],
    [{ seq: 1, ts: NOW, meters: { sms: 'Infinity' } }, 'meter values must be numbers'],
    [{ seq: 1, ts: NOW, dims: { zone: 5 } }, 'dims values must be strings'],
    [
      JSON.parse('{"seq":1,"ts":1795000000000,"meters":{"__proto__":3}}'),
      'meters names must not start with "__"',
    ],
    [{ seq: 1, ts: NOW, meters: { __x: 3 } }, 'meter name "__x" is invalid'],
    [{ seq: 1, ts: Date.UTC(2150, 0, 1) }, 'ts must be a time between'],
    [{ seq: 1, ts: NOW, start: NOW + 1 }, 'start must not be after ts'],
    [{ seq: 1, ts: NOW, id: 'x'.repeat(129) }, 'id must be at most 128'],
    ['just a string', 'a report must be a JSON object'],
    [[[{ seq: 1 }]], 'a report must be a JSON object'],
  ])('rejects %j: %s', (report, reason) => {
    const r = one(report);
    expect(r.records).toEqual([]);
    expect(r.rejections[0]?.code).toBe('INVALID_RECORD');
    expect(r.rejections[0]?.reason).toContain(reason);
  });

  it.each([
    [Buffer.from('{"seq": 1,'), 'INVALID_JSON'],
    [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'INVALID_UTF8'],
    [Buffer.alloc(0), 'EMPTY_PAYLOAD'],
    [Buffer.from('[]'), 'EMPTY_PAYLOAD'],
    [Buffer.from('['.repeat(20_000) + ']'.repeat(20_000)), 'INVALID_RECORD'],
    [Buffer.from(' '.repeat(70_000)), 'PAYLOAD_TOO_LARGE'],
    [json(Array.from({ length: 101 }, (_, i) => ({ seq: i, ts: NOW }))), 'TOO_MANY_RECORDS'],
  ])('rejects a whole payload: %#', (payload, code) => {
    const r = parseJsonPayload('dev-1', payload, NOW, limits);
    expect(r.records).toEqual([]);
    expect(r.rejections[0]?.code).toBe(code);
  });

  it('never throws and never accepts an invalid record, whatever the bytes (fuzz, fixed budget)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((s) => new TextEncoder().encode(s)),
        ),
        (bytes) => {
          const r = parseJsonPayload('dev-1', Buffer.from(bytes), NOW, limits);
          for (const rec of r.records) {
            expect(Number.isSafeInteger(rec.up) && rec.up >= 0).toBe(true);
            expect(rec.seq !== undefined || rec.id !== undefined).toBe(true);
          }
          expect(r.records.length + r.rejections.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 3000, seed: 20261121 },
    );
  });

  it('accepts every well-formed report (property)', () => {
    const report = fc.record({
      seq: fc.nat(),
      ts: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }),
      up: fc.maxSafeNat(),
      down: fc.maxSafeNat(),
    });
    fc.assert(
      fc.property(fc.array(report, { minLength: 1, maxLength: 20 }), (reports) => {
        const r = parseJsonPayload('dev-1', json(reports), NOW, limits);
        expect(r.rejections).toEqual([]);
        expect(r.records.map((x) => [x.seq, x.endMs, x.up, x.down])).toEqual(
          reports.map((x) => [x.seq, x.ts, x.up, x.down]),
        );
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('protobuf reports', () => {
  const pb = (m: Parameters<typeof DeviceReport.encode>[0]) =>
    Buffer.from(DeviceReport.encode(m).finish());

  it('accepts a DeviceReport', () => {
    const r = parseProtobufPayload(
      'dev-1',
      pb({ seq: 5, tsMs: NOW, up: 100, down: 200, dims: { zone: 'us' } }),
      NOW,
      limits,
    );
    expect(r.records).toEqual([
      {
        deviceId: 'dev-1',
        seq: 5,
        endMs: NOW,
        up: 100,
        down: 200,
        meters: {},
        dims: { zone: 'us' },
        receivedMs: NOW,
      },
    ]);
  });

  it.each([
    [Buffer.from('{"seq":1}'), 'INVALID'],
    [Buffer.from([0x08, 0x96]), 'INVALID_PROTOBUF'],
    [pb({ tsMs: NOW, up: 1 }), 'INVALID_RECORD'],
    [pb({ seq: 1, up: 1 }), 'INVALID_RECORD'],
  ])('rejects %#', (payload, code) => {
    const r = parseProtobufPayload('dev-1', payload, NOW, limits);
    expect(r.records).toEqual([]);
    expect(r.rejections[0]?.code).toContain(code);
  });

  it('never throws on arbitrary bytes (fuzz, fixed budget)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseProtobufPayload('dev-1', Buffer.from(bytes), NOW, limits);
        expect(r.records.length + r.rejections.length).toBe(1);
      }),
      { numRuns: 3000, seed: 99 },
    );
  });
});
