// The rater's ingest contract over real gRPC and its HTTP API over real HTTP: a rater on the
// embedded database (in memory), a real @grpc/grpc-js client, fetch. No mocks.
import * as grpc from '@grpc/grpc-js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { encodeBatch, RaterClient } from '../collector/forward/client.ts';
import {
  INGEST_BATCH_PATH,
  IngestBatchResponse,
  UsageRecord,
  type IngestBatchResponseMsg,
  type UsageRecordMsg,
} from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import { silentLogger } from '../common/logger.ts';
import type { UsageRecord as Usage } from '../common/usage.ts';
import { IngestService, fromWire } from '../rater/ingest/service.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { openStore } from '../rater/storage/open.ts';
import { startRater, T0, usageTotals } from './helpers/stack.ts';

const RECEIVED = T0 + 3_600_000;
const min = (n: number) => T0 + n * 60_000;

/** A valid wire record for `deviceId`, seq `seq`, overridable field by field. */
function wire(
  deviceId: string,
  seq: number | null,
  over: Partial<UsageRecordMsg> = {},
): UsageRecordMsg {
  const m: UsageRecordMsg = {
    deviceId,
    endMs: min(seq ?? 0),
    up: 1000 + (seq ?? 0),
    down: 2000 + (seq ?? 0),
    receivedMs: RECEIVED,
    ...over,
  };
  if (seq !== null) m.seq = seq;
  return m;
}
const enc = (m: UsageRecordMsg): Uint8Array => UsageRecord.encode(m).finish();

interface CallResult {
  err: grpc.ServiceError | null;
  res: IngestBatchResponseMsg | undefined;
}

describe('rater gRPC ingest and HTTP API', () => {
  let rater: Rater;
  let raw: grpc.Client;
  let client: RaterClient;
  let http: string;

  /** Sends arbitrary request bytes on the IngestBatch method; never throws. */
  const call = (request: Buffer): Promise<CallResult> =>
    new Promise((resolve) => {
      raw.makeUnaryRequest(
        INGEST_BATCH_PATH,
        (b: Buffer) => b,
        (b: Buffer) => IngestBatchResponse.decode(b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, res) => resolve({ err, res }),
      );
    });

  /** Sends a well-formed batch through the collector's own client. */
  const send = (
    records: UsageRecordMsg[],
    batchId: string,
    collectorId = 'gw-a',
  ): Promise<IngestBatchResponseMsg> =>
    client.send(encodeBatch(collectorId, batchId, records.map(enc)), 10_000);

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${http}${path}`, { headers });

  beforeAll(async () => {
    rater = await startRater('embedded:memory');
    raw = new grpc.Client(`127.0.0.1:${rater.grpcPort}`, grpc.credentials.createInsecure());
    client = new RaterClient(`127.0.0.1:${rater.grpcPort}`);
    http = `http://127.0.0.1:${rater.httpPort}`;
  });
  afterAll(async () => {
    raw?.close();
    client?.close();
    await rater?.close();
  });

  it('accepts a valid batch and serves its records through the usage API', async () => {
    const records = [1, 2, 3, 4, 5].map((s) => wire('dev-valid', s));
    const res = await send(records, 'valid-1');
    expect(res).toMatchObject({ accepted: 5, duplicates: 0, conflicts: 0 });
    expect(res.rejected ?? []).toEqual([]);
    // up = 1001..1005, down = 2001..2005
    expect(await usageTotals(rater, 'dev-valid')).toEqual({ up: 5015, down: 10015, records: 5 });
  });

  it('counts a resend of the same batch, and the same records from another collector, as duplicates', async () => {
    const records = [10, 11, 12].map((s) =>
      wire('dev-dup', s, { meters: { sms: 2 }, dims: { zone: 'eu' } }),
    );
    expect(await send(records, 'dup-1')).toMatchObject({
      accepted: 3,
      duplicates: 0,
      conflicts: 0,
    });
    const before = await usageTotals(rater, 'dev-dup');
    expect(before).toEqual({ up: 1010 + 1011 + 1012, down: 2010 + 2011 + 2012, records: 3 });

    // The same batch again (a retry after a lost answer).
    expect(await send(records, 'dup-1')).toMatchObject({
      accepted: 0,
      duplicates: 3,
      conflicts: 0,
    });
    // The same records through a second collector, under another batch id, received later.
    const later = records.map((r) => ({ ...r, receivedMs: RECEIVED + 60_000 }));
    expect(await send(later, 'other-batch-7', 'gw-b')).toMatchObject({
      accepted: 0,
      duplicates: 3,
      conflicts: 0,
    });
    // Inside one batch, a record repeated is one record.
    const fresh = wire('dev-dup', 13);
    expect(await send([fresh, fresh], 'dup-2')).toMatchObject({
      accepted: 1,
      duplicates: 1,
      conflicts: 0,
    });

    expect(await usageTotals(rater, 'dev-dup')).toEqual({
      up: before.up + 1013,
      down: before.down + 2013,
      records: 4,
    });
  });

  it('keeps the first content for a reused key, counts a conflict and lists it', async () => {
    const first = wire('dev-conflict', 1, { up: 100, down: 200 });
    expect(await send([first], 'c-1')).toMatchObject({ accepted: 1, duplicates: 0, conflicts: 0 });

    const second = wire('dev-conflict', 1, { up: 999, down: 200 });
    const res = await send([second], 'c-2', 'gw-b');
    expect(res).toMatchObject({ accepted: 0, duplicates: 0, conflicts: 1 });
    expect(res.rejected ?? []).toEqual([]);

    expect(await usageTotals(rater, 'dev-conflict')).toEqual({ up: 100, down: 200, records: 1 });

    const r = await get('/v1/conflicts?device=dev-conflict');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { conflicts: Array<Record<string, unknown>> };
    expect(body.conflicts).toHaveLength(1);
    const c = body.conflicts[0]!;
    expect(c).toMatchObject({
      deviceId: 'dev-conflict',
      key: 's::1',
      collectorId: 'gw-b',
      batchId: 'c-2',
    });
    expect(c.existingHash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.incomingHash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.incomingHash).not.toBe(c.existingHash);
    expect(c.incoming).toMatchObject({ deviceId: 'dev-conflict', seq: 1, up: 999, down: 200 });
    // The record as it came, with its key and hash; nothing of ingest's internal working.
    expect(Object.keys(c.incoming as object).sort()).toEqual([
      'contentHash',
      'deviceId',
      'dims',
      'down',
      'endMs',
      'key',
      'meters',
      'receivedMs',
      'seq',
      'up',
    ]);
    expect(typeof c.detectedAt).toBe('string');

    // Other devices' conflict lists do not show it.
    const other = (await (await get('/v1/conflicts?device=dev-valid')).json()) as {
      conflicts: unknown[];
    };
    expect(other.conflicts).toEqual([]);
  });

  it('rejects invalid records alone, with their index and a specific reason, and stores the valid ones', async () => {
    const D = 'dev-mixed';
    const records: UsageRecordMsg[] = [
      wire(D, 1), // 0 ok
      wire('bad id!', 2), // 1
      wire(D, null), // 2: neither seq nor id
      wire(D, 3, { id: 'also-an-id' }), // 3: both
      wire(D, 4, { endMs: Date.UTC(1970, 0, 2) }), // 4
      wire(D, 5), // 5 ok
      wire(D, 6, { meters: { sms: NaN } }), // 6
      wire(D, 7, { meters: { sessions: -1 } }), // 7
      wire(D, 8, { startMs: min(9), endMs: min(8) }), // 8
      wire(D, 9, { up: 2 ** 60 }), // 9: beyond 2^53, would lose precision
      wire(D, 10, { receivedMs: 0 }), // 10
      wire(D, null, { id: 'rec-11' }), // 11 ok (keyed by id)
    ];
    const res = await send(records, 'mixed-1');
    expect(res).toMatchObject({ accepted: 3, duplicates: 0, conflicts: 0 });
    expect(res.rejected).toEqual([
      {
        index: 1,
        code: 'INVALID_RECORD',
        reason: 'deviceId must be 1-128 characters of [A-Za-z0-9._:-]',
      },
      { index: 2, code: 'INVALID_RECORD', reason: 'exactly one of seq and id is required' },
      { index: 3, code: 'INVALID_RECORD', reason: 'exactly one of seq and id is required' },
      {
        index: 4,
        code: 'INVALID_RECORD',
        reason: 'ts must be a time between 2000-01-01 and 2100-01-01',
      },
      { index: 6, code: 'INVALID_RECORD', reason: 'meter sms must be a finite number >= 0' },
      { index: 7, code: 'INVALID_RECORD', reason: 'meter sessions must be a finite number >= 0' },
      { index: 8, code: 'INVALID_RECORD', reason: 'start must not be after ts' },
      { index: 9, code: 'INVALID_RECORD', reason: 'up must be an integer number of bytes >= 0' },
      { index: 10, code: 'INVALID_RECORD', reason: 'receivedMs must be a valid time' },
    ]);
    // Stored: seq 1, seq 5 and id rec-11 (whose endMs is min(0)).
    expect(await usageTotals(rater, D)).toEqual({
      up: 1001 + 1005 + 1000,
      down: 2001 + 2005 + 2000,
      records: 3,
    });

    // A batch of nothing but invalid records is answered, not failed.
    const allBad = await send([wire(D, null), wire(D, 20, { endMs: 0 })], 'mixed-2');
    expect(allBad).toMatchObject({ accepted: 0, duplicates: 0, conflicts: 0 });
    expect(allBad.rejected?.map((r) => r.index)).toEqual([0, 1]);
  });

  it('answers INVALID_ARGUMENT naming the problem for bytes that are not an IngestBatchRequest, and keeps serving', async () => {
    const good = encodeBatch('gw-a', 'malformed-ok', [enc(wire('dev-after-garbage', 1))]);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['text', Buffer.from('this is not protobuf at all'), /invalid wire type 4/],
      ['bad varint', Buffer.alloc(11, 0xff), /invalid tag encoding/],
      ['wire type 7', Buffer.from([0x0f, 0x01]), /invalid wire type 7/],
      ['truncated', good.subarray(0, good.length - 3), /index out of range/],
    ];
    for (const [name, bytes, detail] of cases) {
      const { err, res } = await call(bytes);
      expect(res, name).toBeUndefined();
      expect(err?.code, name).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details, name).toContain(
        'INVALID_BATCH: request is not an edgemeter.v1.IngestBatchRequest',
      );
      expect(err?.details, name).toMatch(detail);
    }

    const { err, res } = await call(good);
    expect(err).toBeNull();
    expect(res).toMatchObject({ accepted: 1, duplicates: 0, conflicts: 0 });
    expect(await usageTotals(rater, 'dev-after-garbage')).toEqual({
      up: 1001,
      down: 2001,
      records: 1,
    });
  });

  it('refuses a batch with a bad collector_id or batch_id as INVALID_ARGUMENT and stores none of it', async () => {
    const recs = [enc(wire('dev-badbatch', 1))];
    const cases: Array<[string, Buffer, string]> = [
      [
        'empty collector id',
        encodeBatch('', 'b-1', recs),
        'INVALID_BATCH: collector_id must be 1-128 characters of [A-Za-z0-9._:-]',
      ],
      [
        'collector id with a space',
        encodeBatch('gw 1', 'b-1', recs),
        'INVALID_BATCH: collector_id must be',
      ],
      [
        'collector id too long',
        encodeBatch('g'.repeat(129), 'b-1', recs),
        'INVALID_BATCH: collector_id must be',
      ],
      [
        'empty batch id',
        encodeBatch('gw-a', '', recs),
        'INVALID_BATCH: batch_id must be 1-300 characters',
      ],
      [
        'batch id too long',
        encodeBatch('gw-a', 'b'.repeat(301), recs),
        'INVALID_BATCH: batch_id must be 1-300 characters',
      ],
      ['empty request', Buffer.alloc(0), 'INVALID_BATCH: collector_id must be'],
    ];
    for (const [name, bytes, details] of cases) {
      const { err } = await call(bytes);
      expect(err?.code, name).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details, name).toContain(details);
    }
    expect(await usageTotals(rater, 'dev-badbatch')).toEqual({ up: 0, down: 0, records: 0 });
  });

  describe('HTTP API', () => {
    const expectError = async (path: string, status: number, code: string, message?: RegExp) => {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('content-type'), path).toMatch(/application\/json/);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code, path).toBe(code);
      expect(typeof body.error.message).toBe('string');
      if (message) expect(body.error.message, path).toMatch(message);
    };
    const q = `from=${T0 - 86_400_000}&to=${T0 + 86_400_000}`;

    it('answers 400 BAD_REQUEST naming the bad parameter', async () => {
      await expectError(`/v1/devices/bad id!/usage?${q}`, 400, 'BAD_REQUEST', /device id/);
      await expectError(
        `/v1/devices/dev-valid/usage?${q}&step=7m`,
        400,
        'BAD_REQUEST',
        /step must be 5m, 1h or 1d/,
      );
      await expectError(
        `/v1/devices/dev-valid/usage?${q}&tz=Mars/Olympus`,
        400,
        'BAD_REQUEST',
        /tz must be an IANA time zone/,
      );
      await expectError(
        `/v1/devices/dev-valid/usage?from=${T0 + 1000}&to=${T0}`,
        400,
        'BAD_REQUEST',
        /from must be before to/,
      );
      await expectError(
        `/v1/devices/dev-valid/usage?from=${T0}&to=${T0}`,
        400,
        'BAD_REQUEST',
        /from must be before to/,
      );
      await expectError(
        `/v1/devices/dev-valid/usage?from=yesterday&to=${T0}`,
        400,
        'BAD_REQUEST',
        /from must be an RFC 3339 time/,
      );
      await expectError(`/v1/conflicts?device=bad%20id`, 400, 'BAD_REQUEST', /device/);
      await expectError(`/v1/conflicts?limit=0`, 400, 'BAD_REQUEST', /limit/);
    });

    // Regression: fastify's default maxParamLength (100) once answered 414 for ids of 101-128.
    it('serves usage for a device id of 128 characters, the contract maximum', async () => {
      const D = `long-${'x'.repeat(123)}`;
      expect(D).toHaveLength(128);
      expect(await send([wire(D, 1)], 'long-id-1')).toMatchObject({ accepted: 1 });
      const r = await get(`/v1/devices/${D}/usage?${q}&step=1d`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { totals: unknown }).totals).toMatchObject({
        up: 1001,
        down: 2001,
        records: 1,
      });
      // One character more is a client error in the API's own shape.
      await expectError(`/v1/devices/${D}x/usage?${q}`, 400, 'BAD_REQUEST', /device id/);
    });

    it('answers 404 NOT_FOUND for an unknown route', async () => {
      await expectError('/v1/nothing-here', 404, 'NOT_FOUND', /no route GET \/v1\/nothing-here/);
      await expectError('/v2/devices/dev-valid/usage', 404, 'NOT_FOUND');
    });

    it('serves /healthz, /readyz with database info, and /metrics', async () => {
      const h = await get('/healthz');
      expect(h.status).toBe(200);
      expect(await h.json()).toEqual({ status: 'ok' });

      const r = await get('/readyz');
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({
        status: 'ready',
        database: { driver: 'pglite', timescale: true },
      });

      const m = await get('/metrics');
      expect(m.status).toBe(200);
      expect(m.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await m.text();
      expect(text).toContain('edgemeter_rater_records_total');
      // Earlier tests in this file stored and rejected records.
      expect(text).toMatch(/edgemeter_rater_records_total\{[^}]*result="accepted"[^}]*\} [1-9]/);
      expect(text).toMatch(/edgemeter_rater_records_total\{[^}]*result="rejected"[^}]*\} [1-9]/);
    });

    // Regression: `totals()` in rater/api/usage.ts once summed meters into a plain
    // `{}` with `meters[k] ?? new Decimal(0)`. For a meter named after an Object.prototype member
    // (constructor, toString, valueOf, hasOwnProperty, __proto__: all valid meter names) that
    // reads the inherited function, `.plus` is not a function, and the JSON usage API answers
    // 500 INTERNAL for every range covering the record, although ingest accepted and stored it
    // (CSV, which does not sum, still works). Devices can trigger it over plain MQTT JSON:
    // {"seq":1,"ts":…,"meters":{"constructor":3}}. It now sums into a Map.
    it('serves usage for meters named like Object.prototype members', async () => {
      const D = 'dev-proto-meter';
      const res = await send(
        [wire(D, 1, { endMs: T0 + 60_000, up: 1, down: 2, meters: { constructor: 3, sms: 1 } })],
        'proto-meter-1',
      );
      expect(res).toMatchObject({ accepted: 1 });
      const r = await get(`/v1/devices/${D}/usage?${q}&step=1d`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { totals: unknown }).totals).toEqual({
        up: 1,
        down: 2,
        total: 3,
        records: 1,
        meters: { constructor: '3', sms: '1' },
      });
    });

    it('serves the usage series as JSON and as CSV with Accept: text/csv', async () => {
      // Two records in the 08:00 hour, one in the 09:00 hour, one with a fractional meter.
      const D = 'dev-csv';
      const res = await send(
        [
          wire(D, 1, { endMs: T0 + 60_000, up: 10, down: 20, meters: { sms: 1.5 } }),
          wire(D, 2, { endMs: T0 + 120_000, up: 30, down: 40, meters: { sms: 2 } }),
          wire(D, 3, { endMs: T0 + 3_600_000 + 60_000, up: 5, down: 6 }),
        ],
        'csv-1',
      );
      expect(res).toMatchObject({ accepted: 3 });
      const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 2 * 3_600_000).toISOString()}&step=1h`;

      const j = await get(`/v1/devices/${D}/usage?${range}`);
      expect(j.status).toBe(200);
      expect(await j.json()).toEqual({
        deviceId: D,
        from: '2026-11-02T08:00:00.000Z',
        to: '2026-11-02T10:00:00.000Z',
        step: '1h',
        timeZone: 'UTC',
        totals: { up: 45, down: 66, total: 111, records: 3, meters: { sms: '3.5' } },
        series: [
          {
            start: '2026-11-02T08:00:00.000Z',
            up: 40,
            down: 60,
            total: 100,
            records: 2,
            meters: { sms: '3.5' },
          },
          { start: '2026-11-02T09:00:00.000Z', up: 5, down: 6, total: 11, records: 1, meters: {} },
        ],
      });

      const c = await get(`/v1/devices/${D}/usage?${range}`, { accept: 'text/csv' });
      expect(c.status).toBe(200);
      expect(c.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(await c.text()).toBe(
        [
          'start,up,down,total,records,sms',
          '2026-11-02T08:00:00.000Z,40,60,100,2,3.5',
          '2026-11-02T09:00:00.000Z,5,6,11,1,0',
          '',
        ].join('\n'),
      );

      // A device with no usage: a header and no rows.
      const empty = await get(`/v1/devices/dev-never-seen/usage?${range}`, { accept: 'text/csv' });
      expect(empty.status).toBe(200);
      expect(await empty.text()).toBe('start,up,down,total,records\n');
    });
  });
});

describe('ingest of neighbouring records with equal and different dims', () => {
  // Ingest works out the dims' canonical key once per run of equal dims: each record must still
  // be stored, hashed and rolled up with its own dims.
  it('stores each record with its own dims, content hash and rollup group', async () => {
    const store = await openStore('embedded:memory');
    try {
      await store.migrate();
      const service = new IngestService({
        store,
        metrics: new RaterMetrics(),
        logger: silentLogger(),
        maxBatchRecords: 100,
      });
      const dims: Record<string, string>[] = [
        { zone: 'eu' },
        { zone: 'eu' },
        { zone: 'us' },
        {},
        { zone: 'us', apn: 'x' },
        { apn: 'x', zone: 'us' },
        { zone: 'us' },
        { zone: 'eu' },
        {},
      ];
      const records = dims.map((d, i) => wire('dev-dims', i + 1, { dims: d }));
      const res = await service.ingest({ collectorId: 'gw', batchId: 'dims-1', records });
      expect(res).toMatchObject({ accepted: dims.length, duplicates: 0, conflicts: 0 });

      const stored = await store.sql.query<{ seq: number; dims: unknown; content_hash: string }>(
        `SELECT split_part(record_key, ':', 3)::int AS seq, dims, content_hash
         FROM usage_records WHERE device_id = 'dev-dims' ORDER BY 1`,
      );
      expect(stored.rows.map((r) => r.dims)).toEqual(dims);
      stored.rows.forEach((r, i) =>
        expect(r.content_hash).toBe(contentHash(fromWire(records[i] as UsageRecordMsg) as Usage)),
      );

      const groups = await store.sql.query<{ dims_key: string; records: number }>(
        `SELECT dims_key, sum(records)::int AS records FROM usage_5m
         WHERE device_id = 'dev-dims' GROUP BY dims_key ORDER BY dims_key`,
      );
      expect(groups.rows).toEqual([
        { dims_key: '', records: 2 },
        { dims_key: '[["apn","x"],["zone","us"]]', records: 2 },
        { dims_key: '[["zone","eu"]]', records: 3 },
        { dims_key: '[["zone","us"]]', records: 2 },
      ]);
    } finally {
      await store.close();
    }
  });
});
