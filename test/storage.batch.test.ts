// Pure parts of the store: content fingerprints and per-batch planning (no database).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { UsageRecord } from '../common/usage.ts';
import { createHash } from 'node:crypto';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { intText } from '../common/int-text.ts';
import { intArray, textArray } from '../rater/storage/pg-array.ts';
import {
  MeterSum,
  addBytes,
  aggregateRollups,
  dimsKey,
  metersJson,
  splitBatch,
} from '../rater/storage/batch.ts';
import { rec, utc } from './helpers/db.ts';

describe('contentHash', () => {
  const base = rec('d1', 1, { meters: { sms: 1, data: 0.5 }, dims: { zone: 'eu', rg: 'x' } });

  it('ignores the key, the arrival time and key order; sees every billable field', () => {
    const h = contentHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(
      contentHash({ ...base, deviceId: 'other', seq: 9, receivedMs: base.receivedMs + 1 }),
    ).toBe(h);
    expect(
      contentHash({ ...base, meters: { data: 0.5, sms: 1 }, dims: { rg: 'x', zone: 'eu' } }),
    ).toBe(h);
    const changes: Partial<UsageRecord>[] = [
      { up: base.up + 1 },
      { down: base.down + 1 },
      { endMs: base.endMs + 1 },
      { startMs: base.endMs - 1000 },
      { meters: { sms: 1, data: 0.50000001 } },
      { meters: { sms: 1 } },
      { dims: { zone: 'us', rg: 'x' } },
    ];
    for (const change of changes) {
      expect(contentHash({ ...base, ...change })).not.toBe(h);
    }
  });

  it('keeps its stored format: sha256 of the canonical JSON, with or without meters and dims', () => {
    // Stored hashes must stay comparable with new ones (a change needs a migration).
    const reference = (r: UsageRecord) => {
      const sorted = (o: Record<string, unknown>) =>
        Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const text = JSON.stringify([
        'edgemeter.usage.v1',
        r.startMs ?? null,
        r.endMs,
        r.up,
        r.down,
        sorted(r.meters),
        sorted(r.dims),
      ]);
      return createHash('sha256').update(text).digest('hex');
    };
    const plain = rec('d1', 1, { startMs: undefined, endMs: 1_714_557_660_000, up: 0, down: 7 });
    expect(contentHash(plain)).toBe(
      createHash('sha256')
        .update('["edgemeter.usage.v1",null,1714557660000,0,7,[],[]]')
        .digest('hex'),
    );
    const name = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,8}$/);
    fc.assert(
      fc.property(
        fc.option(fc.maxSafeNat(), { nil: undefined }),
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        fc.dictionary(name, fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })),
        // Dim values with text JSON must escape: quotes, backslashes, controls, non-ASCII.
        fc.dictionary(name, fc.string({ unit: 'binary', maxLength: 12 })),
        fc.boolean(),
        (start, end, up, down, meters, dims, known) => {
          const r = rec('d', 1, { startMs: start, endMs: end, up, down, meters, dims });
          // Ingest passes the dims' canonical key it worked out; other callers do not.
          expect(contentHash(known ? { ...r, dimsKey: dimsKey(dims) } : r)).toBe(reference(r));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is a function of content only (property)', () => {
    const meters = fc.dictionary(
      fc.constantFrom('a', 'b', 'sms'),
      fc.double({ min: 0, max: 1e9, noNaN: true }),
    );
    fc.assert(
      fc.property(meters, fc.nat(), (m, up) => {
        const a = { ...base, meters: m, up };
        const reversed = Object.fromEntries(Object.entries(m).reverse());
        expect(contentHash({ ...a, meters: reversed })).toBe(contentHash(a));
      }),
    );
  });
});

describe('intText', () => {
  it('writes every number as String does (property), around the 2^30 and 1e8 edges too', () => {
    const edges = [0, -0, 1, -1, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), 99_999_999, 100_000_000];
    for (const n of [...edges, 100_000_001, 1e15, 1e15 + 7, 2 ** 53 - 1, -(2 ** 53 - 1)])
      expect(intText(n)).toBe(String(n));
    // Not safe integers: the general form, unchanged.
    for (const n of [2 ** 53, 2e9 + 0.5, 1e21, -1.5, NaN, Infinity])
      expect(intText(n)).toBe(String(n));
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(intText(n)).toBe(String(n));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('batch planning', () => {
  it('dimsKey is canonical and empty for no dims', () => {
    expect(dimsKey({})).toBe('');
    expect(dimsKey(undefined)).toBe('');
    expect(dimsKey({ z: '1', a: '2' })).toBe(dimsKey({ a: '2', z: '1' }));
    expect(dimsKey({ a: '2' })).toBe('[["a","2"]]');
  });

  it('splitBatch keeps the first occurrence and sorts by (device, key)', () => {
    const a1 = rec('b', 1);
    const a1b = rec('b', 1, { up: 5 });
    const r = splitBatch([a1, rec('a', 2), a1b, rec('a', 10), rec('a:', 1)]);
    expect(r.unique.map((x) => `${x.deviceId}/${x.key}`)).toEqual([
      'a/s::10',
      'a/s::2',
      'a:/s::1',
      'b/s::1',
    ]);
    expect(r.repeats).toEqual([a1b]);
  });

  it('splitBatch is a first-wins map sorted by (device, key), repeats in arrival order (property)', () => {
    // The definition, written the plain way: a map of first occurrences, sorted on the joined id.
    const plain = (xs: ReturnType<typeof rec>[]) => {
      const first = new Map<string, ReturnType<typeof rec>>();
      const repeats: ReturnType<typeof rec>[] = [];
      for (const r of xs) {
        const id = `${r.deviceId}\u0000${r.key}`;
        if (first.has(id)) repeats.push(r);
        else first.set(id, r);
      }
      const unique = [...first].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
      return { unique, repeats };
    };
    const arb = fc.array(
      fc.record({
        device: fc.constantFrom('a', 'a:', 'b', 'a.b', 'B'),
        seq: fc.nat({ max: 12 }),
        boot: fc.constantFrom(undefined, '', '1', 'x:y'),
        up: fc.nat({ max: 3 }),
      }),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(arb, (xs) => {
        const records = xs.map((x) => rec(x.device, x.seq, { up: x.up, boot: x.boot }));
        const got = splitBatch(records);
        const want = plain(records);
        // Identity, not equality: the very record objects, in the same places.
        expect(got.unique.length).toBe(want.unique.length);
        got.unique.forEach((r, i) => expect(r).toBe(want.unique[i]));
        expect(got.repeats.length).toBe(want.repeats.length);
        got.repeats.forEach((r, i) => expect(r).toBe(want.repeats[i]));
      }),
      { numRuns: 300 },
    );
  });

  it('aggregates rollups per (device, dims, bucket), sorted', () => {
    const t = utc('2024-05-01T10:01:00Z');
    const rows = aggregateRollups([
      rec('d2', 1, { endMs: t, up: 1, down: 1 }),
      rec('d1', 1, { endMs: t, up: 2, down: 0, meters: { sms: 0.1 }, dims: { zone: 'eu' } }),
      rec('d1', 2, { endMs: t, up: 3, down: 0, meters: { sms: 0.2 }, dims: { zone: 'eu' } }),
      rec('d1', 3, { endMs: t, up: 4, down: 0 }),
    ]);
    // Byte sums are numbers while safe and bigints beyond; compare them exactly either way.
    const up = (r: (typeof rows)[number]) => BigInt(r.up);
    expect(
      rows.map((r) => [r.deviceId, r.dimsKey, up(r), r.records, metersJson(r.meters)]),
    ).toEqual([
      ['d1', '', 4n, 1, '{}'],
      ['d1', '[["zone","eu"]]', 5n, 2, '{"sms":0.3}'],
      ['d2', '', 1n, 1, '{}'],
    ]);
  });

  it('aggregates like a plain group-by, in any order of devices, dims and buckets', () => {
    const t0 = Date.UTC(2024, 4, 1, 10);
    const arb = fc.array(
      fc.record({
        device: fc.constantFrom('a', 'b', 'c'),
        zone: fc.constantFrom(undefined, 'eu', 'us'),
        bucket: fc.nat({ max: 3 }),
        up: fc.nat({ max: 1000 }),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(arb, (xs) => {
        const records = xs.map((x, i) =>
          rec(x.device, i, {
            endMs: t0 + x.bucket * 300_000 + 60_000,
            up: x.up,
            dims: x.zone === undefined ? {} : { zone: x.zone },
          }),
        );
        const expected = new Map<string, { up: number; records: number }>();
        for (const r of records) {
          const k = `${r.deviceId}|${dimsKey(r.dims)}|${Math.floor((r.endMs - 1) / 300_000)}`;
          const e = expected.get(k) ?? { up: 0, records: 0 };
          expected.set(k, { up: e.up + r.up, records: e.records + 1 });
        }
        const rows = aggregateRollups(records);
        const got = new Map(
          rows.map((r) => [
            `${r.deviceId}|${r.dimsKey}|${r.bucketMs / 300_000}`,
            { up: Number(r.up), records: r.records },
          ]),
        );
        expect(got).toEqual(expected);
        expect(rows.length).toBe(expected.size); // one row per group, none twice
      }),
      { numRuns: 300 },
    );
  });

  it('addBytes stays exact past 2^53', () => {
    expect(addBytes(1, 2)).toBe(3);
    expect(addBytes(Number.MAX_SAFE_INTEGER, 2)).toBe(9007199254740993n);
    expect(addBytes(9007199254740993n, 1)).toBe(9007199254740994n);
  });

  it('builds PostgreSQL array literals with every element quoted and escaped', () => {
    expect(textArray(['a', 'b"c', 'd\\e', '', null, 'NULL', '{x,y}'])).toBe(
      '{"a","b\\"c","d\\\\e","",NULL,"NULL","{x,y}"}',
    );
    expect(intArray([1, null, 9007199254740993n, 0])).toBe('{1,NULL,9007199254740993,0}');
    expect(textArray([])).toBe('{}');
  });

  it('MeterSum is exact for fractions, huge and tiny values and past 2^53', () => {
    const sum = (...vs: number[]) => {
      const s = new MeterSum();
      vs.forEach((v) => s.add(v));
      return s.toString();
    };
    expect(sum(0.1, 0.2)).toBe('0.3');
    expect(sum(1, 2, 3)).toBe('6');
    expect(sum(Number.MAX_SAFE_INTEGER, 2)).toBe('9007199254740993');
    expect(sum(1e21)).toBe('1000000000000000000000');
    expect(sum(1e300, 1e-300)).toBe(`1${'0'.repeat(300)}.${'0'.repeat(299)}1`);
    expect(sum(5e-7)).toBe('0.0000005'); // never exponent notation
  });
});
