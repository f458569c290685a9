// Peak figures over 5-minute samples: burstable percentile (nearest rank), high watermark and
// average of daily peaks. A sample's rate is bytes × 8 / 300 bits per second. Samples are the
// exact rollups of the whole span rated — never peaks of parts combined — and only observed
// intervals count: a missing interval is not a zero.
import { Dec, ZERO } from './money.ts';
import { SAMPLE_MS } from './period.ts';
import { RatingError } from './aggregate.ts';

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
 * How many of a series' largest values a figure needs (PeakSummary.top): the nearest-rank
 * percentile is the k-th smallest of n, i.e. the (n − k + 1)-th largest; a maximum is the first.
 */
export function topNeeded(method: 'percentile' | 'max', percentile: number, n: number): number {
  if (n === 0) return 0;
  return method === 'max' ? 1 : n - nearestRank(percentile, n) + 1;
}

/** The largest values first, as PeakSummary.top holds them (all of them: a complete summary). */
export function descending(values: Iterable<number>): number[] {
  return Array.from(Float64Array.from(values).sort().reverse());
}

/**
 * The nearest-rank percentile of a series of `n` byte counts from its largest values: the k-th
 * smallest, k as above. Byte counts order the same way as their rates, so it is chosen on
 * integers. Missing values are a summary that was cut too short: an error, never a guess.
 */
export function percentileOfTop(
  top: readonly number[],
  n: number,
  percentile: number,
): { bytes: number; rank: number } {
  if (n === 0) return { bytes: 0, rank: 0 };
  const rank = nearestRank(percentile, n);
  const bytes = top[n - rank];
  if (bytes === undefined)
    throw new RatingError(
      `peak summary holds ${top.length} of ${n} values; the ${percentile}th percentile needs ${n - rank + 1}`,
    );
  return { bytes, rank };
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
