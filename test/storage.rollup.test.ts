// The pure rule that assigns a record's bytes to 5-minute buckets (rater/storage/rollup.ts).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  BUCKET_MS,
  MAX_SPLIT_BUCKETS,
  apportion,
  bucketOf,
  splitBytes,
  splitInterval,
  type BucketShare,
} from '../rater/storage/rollup.ts';

const T = (hhmmss: string): number => Date.parse(`2024-05-01T${hhmmss}Z`);
const brief = (shares: BucketShare[]) =>
  shares.map((s) => [new Date(s.bucketMs).toISOString().slice(11, 19), s.up, s.down, s.last]);

describe('bucketOf', () => {
  it('floors to UTC epoch-aligned 5-minute starts', () => {
    expect(bucketOf(T('10:04:59.999'))).toBe(T('10:00:00'));
    expect(bucketOf(T('10:05:00'))).toBe(T('10:05:00'));
    expect(bucketOf(0)).toBe(0);
  });
});

describe('splitInterval: hand-computed examples', () => {
  it('a point report goes to the bucket containing endMs - 1', () => {
    expect(brief(splitInterval({ endMs: T('10:03:00'), up: 5n, down: 6n }))).toEqual([
      ['10:00:00', 5n, 6n, true],
    ]);
    // Ends exactly on the boundary: it measured time up to 10:05, so it is the 10:00 bucket.
    expect(brief(splitInterval({ endMs: T('10:05:00'), up: 5n, down: 6n }))).toEqual([
      ['10:00:00', 5n, 6n, true],
    ]);
    expect(brief(splitInterval({ endMs: T('10:05:00.001'), up: 5n, down: 6n }))).toEqual([
      ['10:05:00', 5n, 6n, true],
    ]);
    const end = T('10:05:00');
    expect(brief(splitInterval({ startMs: end, endMs: end, up: 1n, down: 0n }))).toEqual([
      ['10:00:00', 1n, 0n, true],
    ]);
  });

  it('an interval inside one bucket is not split', () => {
    const s = splitInterval({ startMs: T('10:00:00'), endMs: T('10:05:00'), up: 9n, down: 9n });
    expect(brief(s)).toEqual([['10:00:00', 9n, 9n, true]]);
  });

  it('splits proportionally, ties of the remainder to the earlier bucket', () => {
    // 3 min + 3 min: 600 splits evenly, 7 leaves one byte over, which goes to 10:00.
    const s = splitInterval({ startMs: T('10:02:00'), endMs: T('10:08:00'), up: 600n, down: 7n });
    expect(brief(s)).toEqual([
      ['10:00:00', 300n, 4n, false],
      ['10:05:00', 300n, 3n, true],
    ]);
    const one = splitInterval({ startMs: T('10:00:00'), endMs: T('10:10:00'), up: 1n, down: 0n });
    expect(brief(one)).toEqual([
      ['10:00:00', 1n, 0n, false],
      ['10:05:00', 0n, 0n, true],
    ]);
  });

  it('gives leftover bytes to the largest remainders', () => {
    // 1 min + 5 min + 1 min of 1000 bytes: 142.86 / 714.29 / 142.86 → 143 / 714 / 143.
    const s = splitInterval({ startMs: T('10:04:00'), endMs: T('10:11:00'), up: 1000n, down: 0n });
    expect(brief(s)).toEqual([
      ['10:00:00', 143n, 0n, false],
      ['10:05:00', 714n, 0n, false],
      ['10:10:00', 143n, 0n, true],
    ]);
  });

  it('splits a 2 ms interval across a boundary', () => {
    const s = splitInterval({
      startMs: T('10:04:59.999'),
      endMs: T('10:05:00.001'),
      up: 2n,
      down: 3n,
    });
    expect(brief(s)).toEqual([
      ['10:00:00', 1n, 2n, false],
      ['10:05:00', 1n, 1n, true],
    ]);
  });

  it(`splits up to ${MAX_SPLIT_BUCKETS} buckets and sends longer intervals whole to the end`, () => {
    const start = T('00:00:00');
    const end = start + MAX_SPLIT_BUCKETS * BUCKET_MS;
    const day = splitInterval({ startMs: start, endMs: end, up: 288n * 10n, down: 0n });
    expect(day).toHaveLength(MAX_SPLIT_BUCKETS);
    expect(day.every((s) => s.up === 10n)).toBe(true);
    const longer = splitInterval({ startMs: start - 1, endMs: end, up: 5n, down: 5n });
    expect(longer).toEqual([{ bucketMs: end - BUCKET_MS, up: 5n, down: 5n, last: true }]);
  });

  it('apportion handles zero amounts and exact divisions', () => {
    expect(apportion(0n, [1n, 2n], 3n)).toEqual([0n, 0n]);
    expect(apportion(6n, [1n, 2n], 3n)).toEqual([2n, 4n]);
    expect(apportion(1n, [1n, 1n, 1n], 3n)).toEqual([1n, 0n, 0n]);
  });
});

describe('splitInterval: properties', () => {
  const minT = Date.UTC(2000, 0, 1);
  const maxT = Date.UTC(2100, 0, 1);
  const bytes = fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) });
  // Durations mostly within the split cap, sometimes beyond it, sometimes zero or absent.
  const duration = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 20 * BUCKET_MS }),
    fc.integer({ min: 1, max: 2 * MAX_SPLIT_BUCKETS * BUCKET_MS }),
  );
  const record = fc
    .record({
      end: fc.integer({ min: minT + 3 * 86_400_000, max: maxT }),
      dur: fc.option(duration, { nil: undefined }),
      up: bytes,
      down: bytes,
    })
    .map(({ end, dur, up, down }) => ({
      startMs: dur === undefined ? undefined : end - dur,
      endMs: end,
      up,
      down,
    }));

  it('parts sum exactly to the input, are >= 0 and close to the exact proportion', () => {
    fc.assert(
      fc.property(record, (r) => {
        const s = splitInterval(r);
        expect(s.reduce((a, x) => a + x.up, 0n)).toBe(r.up);
        expect(s.reduce((a, x) => a + x.down, 0n)).toBe(r.down);
        expect(s.every((x) => x.up >= 0n && x.down >= 0n)).toBe(true);
        if (s.length > 1) {
          const start = r.startMs as number;
          const total = BigInt(r.endMs - start);
          for (const x of s) {
            const d = BigInt(
              Math.min(r.endMs, x.bucketMs + BUCKET_MS) - Math.max(start, x.bucketMs),
            );
            const err = x.up * total - r.up * d; // |share - exact| < 1 byte
            expect(err < total && -err < total).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every bucket lies within the interval; the last one holds endMs - 1', () => {
    fc.assert(
      fc.property(record, (r) => {
        const s = splitInterval(r);
        const start = r.startMs ?? r.endMs;
        const lo = start < r.endMs ? start : r.endMs - 1;
        expect(s.length).toBeGreaterThanOrEqual(1);
        expect(s.length).toBeLessThanOrEqual(MAX_SPLIT_BUCKETS);
        // One boolean per record: an expect() per bucket makes 2000 runs take seconds.
        const bad = s.findIndex(
          (x, i) =>
            x.bucketMs % BUCKET_MS !== 0 ||
            x.bucketMs >= r.endMs ||
            x.bucketMs + BUCKET_MS <= lo ||
            (i > 0 && x.bucketMs !== (s[i - 1] as BucketShare).bucketMs + BUCKET_MS) ||
            x.last !== (i === s.length - 1),
        );
        expect(bad).toBe(-1);
        expect(s.at(-1)?.bucketMs).toBe(bucketOf(r.endMs - 1));
      }),
      { numRuns: 2000 },
    );
  });

  it('splitBytes gives the same shares in numbers, and declines only where 2^53 could be passed', () => {
    // Byte counts from small to beyond what any product with a duration keeps exact.
    const small = fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 2 ** 32 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    );
    fc.assert(
      fc.property(record, small, small, (r, up, down) => {
        const start = r.startMs ?? r.endMs;
        const fast = splitBytes(start, r.endMs, up, down);
        const total = r.endMs - start;
        const safe = Math.max(up, down) * Math.max(total, 0) <= Number.MAX_SAFE_INTEGER;
        expect(fast === undefined).toBe(!safe);
        if (fast === undefined) return;
        const exact = splitInterval({ ...r, up: BigInt(up), down: BigInt(down) });
        expect(fast).toEqual(exact.map((x) => ({ ...x, up: Number(x.up), down: Number(x.down) })));
      }),
      { numRuns: 3000 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(splitInterval({ ...r })).toEqual(splitInterval({ ...r }));
      }),
    );
  });
});
