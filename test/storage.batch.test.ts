// Pure parts of the store: content fingerprints and per-batch planning (no database).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { UsageRecord } from '../common/usage.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import {
  MeterSum,
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

  it('aggregates rollups per (device, dims, bucket), sorted', () => {
    const t = utc('2024-05-01T10:01:00Z');
    const rows = aggregateRollups([
      rec('d2', 1, { endMs: t, up: 1, down: 1 }),
      rec('d1', 1, { endMs: t, up: 2, down: 0, meters: { sms: 0.1 }, dims: { zone: 'eu' } }),
      rec('d1', 2, { endMs: t, up: 3, down: 0, meters: { sms: 0.2 }, dims: { zone: 'eu' } }),
      rec('d1', 3, { endMs: t, up: 4, down: 0 }),
    ]);
    expect(rows.map((r) => [r.deviceId, r.dimsKey, r.up, r.records, metersJson(r.meters)])).toEqual(
      [
        ['d1', '', 4n, 1, '{}'],
        ['d1', '[["zone","eu"]]', 5n, 2, '{"sms":0.3}'],
        ['d2', '', 1n, 1, '{}'],
      ],
    );
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
