// Guarantee 3 at the rater: anyone who can reach the gRPC port may send anything. Malformed
// requests are refused with a specific status and message, invalid records are rejected alone
// (by index, with a reason) while the valid records of the same batch are stored, and the rater
// keeps serving. A real rater on the embedded database; a raw @grpc/grpc-js client whose
// serializer passes arbitrary bytes through.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { encodeBatch } from '../collector/forward/client.ts';
import {
  INGEST_BATCH_PATH,
  IngestBatchResponse,
  MAX_BATCH_MESSAGE_BYTES,
  UsageRecord,
  type IngestBatchResponseMsg,
  type UsageRecordMsg,
} from '../proto/index.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { T0, usageTotals } from './helpers/stack.ts';

const MAX_BATCH_RECORDS = 100;
const RECEIVED = T0 + 3_600_000;

/** A valid wire record, overridable field by field. */
function wire(
  deviceId: string,
  seq: number | null,
  over: Partial<UsageRecordMsg> = {},
): Uint8Array {
  const m: UsageRecordMsg = {
    deviceId,
    endMs: T0 + (seq ?? 0) * 60_000,
    up: 100,
    down: 200,
    receivedMs: RECEIVED,
    ...over,
  };
  if (seq !== null) m.seq = seq;
  return UsageRecord.encode(m).finish();
}

/** A record written field by field, for what UsageRecord.encode cannot produce. */
function rawRecord(write: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  write(w);
  return w.finish();
}
// Field tags of edgemeter.v1.UsageRecord: (field number << 3) | wire type.
const DEVICE_ID = (1 << 3) | 2;
const SEQ = (2 << 3) | 0;
const END_MS = (6 << 3) | 0;
const UP = (7 << 3) | 0;
const METERS = (9 << 3) | 2;
const RECEIVED_MS = (11 << 3) | 0;

interface CallResult {
  err: grpc.ServiceError | null;
  res: IngestBatchResponseMsg | undefined;
}

describe('bad input sent straight to the rater over gRPC', () => {
  let rater: Rater;
  let raw: grpc.Client;
  let batchNo = 0;

  /** Sends arbitrary bytes on the IngestBatch method; never throws. */
  const call = (request: Buffer, path = INGEST_BATCH_PATH): Promise<CallResult> =>
    new Promise((resolve) => {
      raw.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => IngestBatchResponse.decode(b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 20_000 },
        (err, res) => resolve({ err, res }),
      );
    });
  const batch = (records: Uint8Array[], collectorId = 'gw-bad') =>
    encodeBatch(collectorId, `bad-${++batchNo}`, records);

  /** The rater still stores a valid batch, and its HTTP side still answers. */
  async function stillServes(): Promise<void> {
    const D = 'dev-alive';
    const before = await usageTotals(rater, D);
    const { err, res } = await call(batch([wire(D, 1_000 + batchNo)]));
    expect(err).toBeNull();
    expect(res).toMatchObject({ accepted: 1 });
    expect((await usageTotals(rater, D)).records).toBe(before.records + 1);
    expect((await fetch(`http://127.0.0.1:${rater.httpPort}/healthz`)).status).toBe(200);
  }

  beforeAll(async () => {
    const config = loadRaterConfig({
      env: {},
      flags: {
        db: 'embedded:memory',
        grpcListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        maxBatchRecords: MAX_BATCH_RECORDS,
      },
    });
    rater = await new Rater(config, { logger: silentLogger() }).start();
    raw = new grpc.Client(`127.0.0.1:${rater.grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 8 * 1024 * 1024,
    });
  });
  afterAll(async () => {
    raw?.close();
    await rater?.close();
  });

  describe('bytes that are not an IngestBatchRequest: INVALID_ARGUMENT, nothing stored', () => {
    const good = encodeBatch('gw-bad', 'garbage-ok', [wire('dev-garbage', 1)]);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['plain text', Buffer.from('this is not protobuf at all'), /invalid wire type/],
      ['a JSON batch', Buffer.from(JSON.stringify({ collectorId: 'gw', records: [] })), /./],
      ['an unterminated varint', Buffer.alloc(11, 0xff), /invalid tag encoding|index out of range/],
      ['field number 0', Buffer.from([0x00, 0x01]), /illegal tag: field number 0/],
      ['wire type 7', Buffer.from([0x0f, 0x01]), /invalid wire type 7/],
      ['the good batch cut short', good.subarray(0, good.length - 3), /index out of range/],
      ['200,000 nested groups', Buffer.alloc(200_000, 0x0b), /max depth exceeded/],
      [
        'a record whose length runs past the end',
        Buffer.concat([good, Buffer.from([0x1a, 0x7f, 0x0a])]),
        /index out of range/,
      ],
      [
        'a device id that is not UTF-8',
        batch([rawRecord((w) => w.uint32(DEVICE_ID).bytes(Buffer.from([0xc3, 0x28])))]),
        /not valid for encoding utf-8/,
      ],
    ];
    it.each(cases)('%s', async (_name, bytes, detail) => {
      const { err, res } = await call(bytes);
      expect(res).toBeUndefined();
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(
        /^INVALID_BATCH: request is not an edgemeter\.v1\.IngestBatchRequest: /,
      );
      expect(err?.details).toMatch(detail);
      expect(await usageTotals(rater, 'dev-garbage')).toEqual({ up: 0, down: 0, records: 0 });
      await stillServes();
    });

    it('a request above the message size limit: RESOURCE_EXHAUSTED from grpc-js', async () => {
      const { err } = await call(Buffer.alloc(MAX_BATCH_MESSAGE_BYTES + 1024));
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err?.details).toMatch(/larger than max/);
      await stillServes();
    });

    it('an unknown method: UNIMPLEMENTED', async () => {
      const { err } = await call(good, '/edgemeter.v1.IngestService/Nope');
      expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
      await stillServes();
    });
  });

  describe('batches that are malformed as a whole: INVALID_ARGUMENT, nothing stored', () => {
    const recs = () => [wire('dev-badbatch', 1), wire('dev-badbatch', 2)];
    const cases: Array<[string, () => Buffer, RegExp]> = [
      [
        'an empty collector id',
        () => batch(recs(), ''),
        /^INVALID_BATCH: collector_id must be 1-128 characters of \[A-Za-z0-9._:-\]$/,
      ],
      [
        'a collector id with a space',
        () => batch(recs(), 'gw 1'),
        /^INVALID_BATCH: collector_id must be/,
      ],
      [
        'a collector id of 129 characters',
        () => batch(recs(), 'g'.repeat(129)),
        /^INVALID_BATCH: collector_id must be/,
      ],
      [
        'a collector id with a path',
        () => batch(recs(), 'gw/../x'),
        /^INVALID_BATCH: collector_id must be/,
      ],
      [
        'a collector id with unicode',
        () => batch(recs(), 'gwé'),
        /^INVALID_BATCH: collector_id must be/,
      ],
      [
        'a collector id with NUL',
        () => batch(recs(), 'gw\u0000'),
        /^INVALID_BATCH: collector_id must be/,
      ],
      [
        'an empty batch id',
        () => encodeBatch('gw-bad', '', recs()),
        /^INVALID_BATCH: batch_id must be 1-300 characters$/,
      ],
      [
        'a batch id of 301 characters',
        () => encodeBatch('gw-bad', 'b'.repeat(301), recs()),
        /^INVALID_BATCH: batch_id must be 1-300 characters$/,
      ],
      [
        'a batch id with NUL',
        () => encodeBatch('gw-bad', 'b\u00001', recs()),
        /^INVALID_BATCH: batch_id must not contain the NUL character \(U\+0000\)$/,
      ],
      [
        `maxBatchRecords + 1 (${MAX_BATCH_RECORDS + 1}) records`,
        () =>
          batch(
            Array.from({ length: MAX_BATCH_RECORDS + 1 }, (_, i) => wire('dev-badbatch', 10 + i)),
          ),
        new RegExp(
          `^INVALID_BATCH: batch holds ${MAX_BATCH_RECORDS + 1} records; the limit is ${MAX_BATCH_RECORDS}$`,
        ),
      ],
    ];
    it.each(cases)('%s', async (_name, bytes, details) => {
      const { err, res } = await call(bytes());
      expect(res).toBeUndefined();
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(details);
      expect(await usageTotals(rater, 'dev-badbatch')).toEqual({ up: 0, down: 0, records: 0 });
      await stillServes();
    });

    it('a batch of exactly maxBatchRecords is accepted', async () => {
      const records = Array.from({ length: MAX_BATCH_RECORDS }, (_, i) => wire('dev-full', i));
      const { err, res } = await call(batch(records));
      expect(err).toBeNull();
      expect(res).toMatchObject({ accepted: MAX_BATCH_RECORDS, duplicates: 0, conflicts: 0 });
    });

    it('an empty batch is answered, not refused', async () => {
      const { err, res } = await call(batch([]));
      expect(err).toBeNull();
      expect(res).toMatchObject({ accepted: 0, duplicates: 0, conflicts: 0 });
      expect(res?.rejected ?? []).toEqual([]);
      await stillServes();
    });
  });

  describe('invalid records: rejected alone with their index and reason; the rest stored', () => {
    const D = 'dev-mixed';
    // [name, record, reason]; every other record of the batch is valid.
    const bad: Array<[string, Uint8Array, RegExp]> = [
      ['missing everything', rawRecord(() => undefined), /^deviceId must be 1-128 characters/],
      ['missing seq and id', wire(D, null), /^exactly one of seq and id is required$/],
      [
        'missing end_ms',
        rawRecord((w) =>
          w.uint32(DEVICE_ID).string(D).uint32(SEQ).uint64(2).uint32(RECEIVED_MS).int64(RECEIVED),
        ),
        /^ts must be a time between 2000-01-01 and 2100-01-01$/,
      ],
      ['missing received_ms', wire(D, 3, { receivedMs: 0 }), /^receivedMs must be a valid time$/],
      [
        'end_ms with the wrong wire type (a string)',
        rawRecord((w) =>
          w
            .uint32(DEVICE_ID)
            .string(D)
            .uint32(SEQ)
            .uint64(4)
            .uint32((6 << 3) | 2)
            .string('2026-11-02T08:00:00Z')
            .uint32(RECEIVED_MS)
            .int64(RECEIVED),
        ),
        /^ts must be a time between/,
      ],
      [
        'seq with the wrong wire type (fixed64)',
        rawRecord((w) =>
          w
            .uint32(DEVICE_ID)
            .string(D)
            .uint32((2 << 3) | 1)
            .fixed64(5)
            .uint32(END_MS)
            .int64(T0)
            .uint32(RECEIVED_MS)
            .int64(RECEIVED),
        ),
        /^exactly one of seq and id is required$/,
      ],
      [
        'negative up (uint64 of -1)',
        rawRecord((w) =>
          w
            .uint32(DEVICE_ID)
            .string(D)
            .uint32(SEQ)
            .uint64(6)
            .uint32(END_MS)
            .int64(T0)
            .uint32(UP)
            .int64(-1)
            .uint32(RECEIVED_MS)
            .int64(RECEIVED),
        ),
        /^up must be an integer number of bytes >= 0$/,
      ],
      [
        'up beyond 2^53',
        wire(D, 7, { up: 2 ** 60 }),
        /^up must be an integer number of bytes >= 0$/,
      ],
      [
        'down beyond 2^53',
        wire(D, 8, { down: 2 ** 53 }),
        /^down must be an integer number of bytes >= 0$/,
      ],
      ['seq beyond 2^53', wire(D, 2 ** 60), /^seq must be an integer >= 0$/],
      ['negative end_ms', wire(D, 9, { endMs: -1 }), /^ts must be a time between/],
      ['end_ms in 1970', wire(D, 10, { endMs: 86_400_000 }), /^ts must be a time between/],
      [
        'end_ms in year 2200',
        wire(D, 11, { endMs: Date.UTC(2200, 0, 1) }),
        /^ts must be a time between/,
      ],
      [
        'start after end',
        wire(D, 12, { startMs: T0 + 13 * 60_000 + 1 }),
        /^start must not be after ts$/,
      ],
      [
        'NaN meter',
        wire(D, 13, { meters: { sms: NaN } }),
        /^meter sms must be a finite number >= 0$/,
      ],
      [
        'Infinity meter',
        wire(D, 14, { meters: { sms: Infinity } }),
        /^meter sms must be a finite number >= 0$/,
      ],
      [
        'negative meter',
        wire(D, 15, { meters: { sms: -1 } }),
        /^meter sms must be a finite number >= 0$/,
      ],
      [
        '__proto__ meter',
        rawRecord((w) => {
          w.uint32(DEVICE_ID).string(D).uint32(SEQ).uint64(16).uint32(END_MS).int64(T0);
          w.uint32(METERS).fork().uint32(10).string('__proto__').uint32(17).double(3).ldelim();
          w.uint32(RECEIVED_MS).int64(RECEIVED);
        }),
        /^meter name "__proto__" is invalid$/,
      ],
      [
        '33 meters',
        wire(D, 17, {
          meters: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, 1])),
        }),
        /^at most 32 meters$/,
      ],
      [
        'a dim value of 257 characters',
        wire(D, 18, { dims: { zone: 'x'.repeat(257) } }),
        /^dim zone must be a string of at most 256 characters$/,
      ],
      [
        'an id of 129 characters',
        wire(D, null, { id: 'i'.repeat(129) }),
        /^id must be a string of at most 128 characters$/,
      ],
      [
        'a boot of 65 characters',
        wire(D, 19, { boot: 'b'.repeat(65) }),
        /^boot must be a string of at most 64 characters$/,
      ],
      [
        'NUL in id',
        wire(D, null, { id: 'a\u0000b' }),
        /^id must not contain the NUL character \(U\+0000\)$/,
      ],
      ['NUL in boot', wire(D, 20, { boot: '7\u0000' }), /^boot must not contain the NUL character/],
      [
        'NUL in a dim value',
        wire(D, 21, { dims: { zone: 'e\u0000u' } }),
        /^dim zone must not contain the NUL character/,
      ],
      ['a device id with a space', wire('bad id!', 22), /^deviceId must be 1-128 characters/],
      ['an empty device id', wire('', 23), /^deviceId must be 1-128 characters/],
      [
        'a device id of 129 characters',
        wire('d'.repeat(129), 24),
        /^deviceId must be 1-128 characters/,
      ],
      ['a device id with a path', wire('../etc', 25), /^deviceId must be 1-128 characters/],
      ['a device id with unicode', wire('dévice', 26), /^deviceId must be 1-128 characters/],
    ];

    it('stores the valid records of a batch full of invalid ones', async () => {
      // Valid records between and around the bad ones: v0, bad0, v1, bad1, …, vN.
      const records: Uint8Array[] = [];
      const badAt: number[] = [];
      let up = 0;
      bad.forEach(([, rec], i) => {
        records.push(wire(D, 100 + i, { up: 1 + i }));
        up += 1 + i;
        badAt.push(records.length);
        records.push(rec);
      });
      records.push(wire(D, 999, { up: 1000 }));
      up += 1000;
      const valid = records.length - bad.length;

      const { err, res } = await call(batch(records));
      expect(err).toBeNull();
      expect(res).toMatchObject({ accepted: valid, duplicates: 0, conflicts: 0 });
      expect(res?.rejected).toHaveLength(bad.length);
      bad.forEach(([name, , reason], i) => {
        expect(res?.rejected?.[i], name).toMatchObject({
          index: badAt[i],
          code: 'INVALID_RECORD',
          reason: expect.stringMatching(reason),
        });
      });
      expect(await usageTotals(rater, D)).toEqual({ up, down: 200 * valid, records: valid });

      // The same batch again changes nothing: the valid ones are duplicates now.
      const again = await call(batch(records));
      expect(again.res).toMatchObject({ accepted: 0, duplicates: valid, conflicts: 0 });
      expect(again.res?.rejected).toHaveLength(bad.length);
      expect(await usageTotals(rater, D)).toEqual({ up, down: 200 * valid, records: valid });
      await stillServes();
    });

    it('keeps the first of two records with one key and different content in one batch', async () => {
      const K = 'dev-same-key';
      const { err, res } = await call(
        batch([
          wire(K, 1, { up: 5 }),
          wire(K, 1, { up: 6 }), // same key, different content: a conflict
          wire(K, 1, { up: 5 }), // same key, same content: a duplicate
          wire(K, null, { id: 'x', up: 7 }),
          wire(K, null, { id: 'x', up: 8, dims: { zone: 'eu' } }), // a conflict
          wire(K, 2, { up: 9 }),
        ]),
      );
      expect(err).toBeNull();
      expect(res).toMatchObject({ accepted: 3, duplicates: 1, conflicts: 2 });
      expect(res?.rejected ?? []).toEqual([]);
      expect(await usageTotals(rater, K)).toEqual({ up: 5 + 7 + 9, down: 600, records: 3 });
      const conflicts = (await (
        await fetch(`http://127.0.0.1:${rater.httpPort}/v1/conflicts?device=${K}`)
      ).json()) as { conflicts: Array<{ key: string; incoming: { up: number } }> };
      expect(conflicts.conflicts.map((c) => [c.key, c.incoming.up]).sort()).toEqual([
        ['i:x', 8],
        ['s::1', 6],
      ]);
    });

    it('refuses dims too large for the rollup index alone, and stores the rest', async () => {
      // Within the per-dim rules (16 dims, 64-character names, 256-character values) but 4 KB
      // together: the 5-minute rollup's unique index on (device, dims, bucket) could not hold
      // the key (PostgreSQL btree rows are limited to 2704 bytes), so the record rules cap all
      // dims of a record at 2,048 bytes of JSON.
      const B = 'dev-db-limit';
      let seed = 7;
      const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff);
      const text = (n: number) =>
        Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[rnd() % 36]).join(
          '',
        );
      const dims = Object.fromEntries(
        Array.from({ length: 16 }, (_, i) => [
          `${text(62)}${String(i).padStart(2, '0')}`,
          text(256),
        ]),
      );
      const records = [
        wire(B, 1, { up: 1 }),
        wire(B, 2, { up: 2 }),
        wire(B, 3, { up: 4, dims }),
        wire(B, 4, { up: 8 }),
        wire(B, 5, { up: 16 }),
      ];
      const { err, res } = await call(batch(records));
      expect(err).toBeNull();
      expect(res?.rejected).toEqual([
        {
          index: 2,
          code: 'INVALID_RECORD',
          reason: expect.stringMatching(/^dims take \d+ bytes as JSON; at most 2048 are accepted$/),
        },
      ]);
      expect(res).toMatchObject({ accepted: 4 });
      expect(await usageTotals(rater, B)).toMatchObject({ up: 27, records: 4 });
      await stillServes();
    });

    it('a batch of nothing but invalid records is answered, and counted', async () => {
      const { err, res } = await call(batch(bad.map(([, rec]) => rec)));
      expect(err).toBeNull();
      expect(res).toMatchObject({ accepted: 0, duplicates: 0, conflicts: 0 });
      expect(res?.rejected?.map((r) => r.index)).toEqual(bad.map((_, i) => i));
      const metrics = await (await fetch(`http://127.0.0.1:${rater.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/edgemeter_rater_records_total\{[^}]*result="rejected"[^}]*\} [1-9]/);
      await stillServes();
    });
  });
});
