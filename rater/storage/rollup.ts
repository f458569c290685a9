// Which 5-minute bucket(s) a record's bytes belong to. Pure, no I/O: the store sums these shares
// into `usage_5m` in the same transaction as the raw insert, and the peak-billing code reads the
// buckets as its 5-minute samples, so the rule must be exact and deterministic.

import { BUCKET_MS, bucketOf } from '../../common/usage.ts';

export { BUCKET_MS, bucketOf };

/**
 * A record longer than this many buckets (one day) is not split: all of it goes to its end
 * bucket. Splitting is a refinement for peak billing (a 20-minute report should not look like a
 * 5-minute burst); a report covering more than a day says nothing useful about 5-minute peaks
 * anyway, and without a cap one malformed record (start in 2000, end in 2099) would produce
 * ten million rollup rows inside an ingest transaction.
 */
export const MAX_SPLIT_BUCKETS = 288;

export interface IntervalUsage {
  /** Interval start; absent (or equal to `endMs`) for a point report. */
  startMs?: number | undefined;
  endMs: number;
  up: bigint;
  down: bigint;
}

export interface BucketShare {
  bucketMs: number;
  up: bigint;
  down: bigint;
  /** The last (end) bucket: it gets the record count and all of the record's meters. */
  last: boolean;
}

/**
 * Splits a record over the buckets its interval (startMs, endMs] touches.
 *
 * Instants are end-inclusive: a record ending exactly at 10:05:00.000 measured time up to that
 * instant, so it belongs to the 10:00 bucket (the bucket containing `endMs - 1`). For overlap
 * durations the interval is therefore treated as [startMs, endMs) in milliseconds.
 *
 * Bytes are split proportionally to the overlap with each bucket, in exact integers by the
 * largest-remainder method (ties to the earlier bucket), so the shares always sum to the
 * record's bytes. Every bucket the interval touches gets a share, even a zero one: the device was
 * observed during it. Meters are counts (sms, sessions) that cannot be split meaningfully, so
 * they go, with the record count, to the last bucket.
 */
export function splitInterval(r: IntervalUsage): BucketShare[] {
  const end = r.endMs;
  const start = r.startMs ?? end;
  const lastBucket = bucketOf(end - 1);
  const whole = (): BucketShare[] => [{ bucketMs: lastBucket, up: r.up, down: r.down, last: true }];
  if (start >= end) return whole();
  const firstBucket = bucketOf(start);
  const n = (lastBucket - firstBucket) / BUCKET_MS + 1;
  if (n === 1 || n > MAX_SPLIT_BUCKETS) return whole();

  const durations: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const b = firstBucket + i * BUCKET_MS;
    durations.push(BigInt(Math.min(end, b + BUCKET_MS) - Math.max(start, b)));
  }
  const total = BigInt(end - start);
  const ups = apportion(r.up, durations, total);
  const downs = apportion(r.down, durations, total);
  return durations.map((_, i) => ({
    bucketMs: firstBucket + i * BUCKET_MS,
    up: ups[i] ?? 0n,
    down: downs[i] ?? 0n,
    last: i === n - 1,
  }));
}

export interface NumberShare {
  bucketMs: number;
  up: number;
  down: number;
  last: boolean;
}

/**
 * splitInterval for byte counts given as numbers, in numbers: the same shares, without a bigint
 * per bucket and per product (bigints took ~4 % of the rater's CPU per record, profiled).
 * Undefined when a product `bytes × duration` could pass 2^53, where only bigints are exact; the
 * caller then uses splitInterval.
 */
export function splitBytes(
  startMs: number,
  endMs: number,
  up: number,
  down: number,
): NumberShare[] | undefined {
  const total = endMs - startMs;
  if (up * total > Number.MAX_SAFE_INTEGER || down * total > Number.MAX_SAFE_INTEGER)
    return undefined;
  const lastBucket = bucketOf(endMs - 1);
  if (total <= 0) return [{ bucketMs: lastBucket, up, down, last: true }];
  const firstBucket = bucketOf(startMs);
  const n = (lastBucket - firstBucket) / BUCKET_MS + 1;
  if (n === 1 || n > MAX_SPLIT_BUCKETS) return [{ bucketMs: lastBucket, up, down, last: true }];
  const durations = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const b = firstBucket + i * BUCKET_MS;
    durations[i] = Math.min(endMs, b + BUCKET_MS) - Math.max(startMs, b);
  }
  const ups = apportionSafe(up, durations, total);
  const downs = apportionSafe(down, durations, total);
  const out = new Array<NumberShare>(n);
  for (let i = 0; i < n; i++)
    out[i] = {
      bucketMs: firstBucket + i * BUCKET_MS,
      up: ups[i] as number,
      down: downs[i] as number,
      last: i === n - 1,
    };
  return out;
}

/**
 * apportion in numbers, for `amount × total` ≤ 2^53: every product is then an exact integer,
 * its remainder by `%` exact, and (product − remainder) / total an exact integer quotient.
 */
function apportionSafe(amount: number, weights: number[], total: number): number[] {
  const n = weights.length;
  const parts = new Array<number>(n);
  const rems = new Array<number>(n);
  let leftover = amount;
  for (let i = 0; i < n; i++) {
    const product = amount * (weights[i] as number);
    const rem = product % total;
    parts[i] = (product - rem) / total;
    rems[i] = rem;
    leftover -= parts[i] as number;
  }
  if (leftover === 0) return parts;
  const order = rems
    .map((rem, i) => ({ i, rem }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : b.rem - a.rem));
  for (const { i } of order) {
    if (leftover === 0) break;
    parts[i] = (parts[i] as number) + 1;
    leftover -= 1;
  }
  return parts;
}

/**
 * Splits `amount` into parts proportional to `weights` (which sum to `total` > 0): floors first,
 * then the leftover units one each to the largest remainders, earlier index first on ties.
 */
export function apportion(amount: bigint, weights: bigint[], total: bigint): bigint[] {
  const parts = weights.map((w) => (amount * w) / total);
  const assigned = parts.reduce((a, b) => a + b, 0n);
  let leftover = amount - assigned; // < weights.length, since each floor loses less than 1
  if (leftover === 0n) return parts;
  const order = weights
    .map((w, i) => ({ i, rem: (amount * w) % total }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (leftover === 0n) break;
    parts[i] = (parts[i] ?? 0n) + 1n;
    leftover -= 1n;
  }
  return parts;
}
