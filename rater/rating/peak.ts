// Peak figures over 5-minute samples: burstable percentile (nearest rank), high watermark and
// average of daily peaks. A sample's rate is bytes × 8 / 300 bits per second. Samples are the
// exact rollups of the whole span rated — never peaks of parts combined — and only observed
// intervals count: a missing interval is not a zero.
import { Dec, ZERO } from './money.ts';
import { SAMPLE_MS } from './period.ts';

export const SAMPLE_SECONDS = SAMPLE_MS / 1000;

/** bits per second of one 5-minute sample of `bytes`. */
export function rateOf(bytes: number | bigint | Dec): Dec {
  return new Dec(bytes.toString()).times(8).dividedBy(SAMPLE_SECONDS);
}

/** Nearest rank: k = ceil(p/100 × n), in integers (no float rounding at exact ranks). */
export function nearestRank(percentile: number, n: number): number {
  return n === 0 ? 0 : Math.ceil((percentile * n) / 100);
}

/**
 * The nearest-rank percentile of sample byte counts: the k-th smallest value, k as above.
 * Byte counts order the same way as their rates, so the sort is on integers.
 */
export function percentileBytes(
  values: number[],
  percentile: number,
): { bytes: number; rank: number } {
  const n = values.length;
  if (n === 0) return { bytes: 0, rank: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = nearestRank(percentile, n);
  return { bytes: sorted[rank - 1] ?? 0, rank };
}

export function maxBytes(values: number[]): number {
  let m = 0;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** Mean over the local days that have samples of each day's highest sample rate. */
export function dailyPeakAverage(samples: Array<{ day: number; bytes: number }>): Dec {
  const peaks = new Map<number, number>();
  for (const s of samples) peaks.set(s.day, Math.max(peaks.get(s.day) ?? 0, s.bytes));
  if (peaks.size === 0) return ZERO;
  let total = ZERO;
  for (const b of peaks.values()) total = total.plus(rateOf(b));
  return total.dividedBy(peaks.size);
}
