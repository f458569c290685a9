// The clock-skew policy (docs/devices.md#clock-skew): a record is billed at its device time
// `ts`, so the collector compares `ts` with its own receive time before it stores the record.
//   |ts − received| ≤ toleranceMs          → normal;
//   beyond it, up to maxFutureMs ahead      → accepted, flagged (counted by direction);
//   more than maxFutureMs ahead             → rejected as CLOCK_SKEW (a device clock years ahead
//                                             must not create usage in future billing periods);
//   any distance in the past                → accepted, flagged: late data, such as a device
//                                             flushing its buffer after weeks offline (LIMITS
//                                             in common/usage.ts still bounds absurd times).
// The rater stores every record's measured skew (ts − received_ms) with it.
import type { UsageRecord } from '../../common/usage.ts';

export interface ClockSkewPolicy {
  /** Largest |ts − received| that is normal, in ms. */
  toleranceMs: number;
  /** Largest ts − received accepted, in ms; a record further ahead is rejected. */
  maxFutureMs: number;
}

/** 5 minutes of tolerance; at most 24 hours ahead. */
export const DEFAULT_CLOCK_SKEW: Readonly<ClockSkewPolicy> = Object.freeze({
  toleranceMs: 5 * 60_000,
  maxFutureMs: 24 * 3_600_000,
});

export type SkewVerdict =
  | { kind: 'normal'; skewMs: number }
  | { kind: 'flagged'; skewMs: number; direction: 'future' | 'past' }
  | { kind: 'rejected'; skewMs: number; reason: string };

/** Judges one record by its interval end (`ts`) against the collector's receive time. */
export function judgeClockSkew(
  r: Pick<UsageRecord, 'endMs' | 'receivedMs'>,
  policy: ClockSkewPolicy,
): SkewVerdict {
  const skewMs = r.endMs - r.receivedMs;
  if (skewMs > policy.maxFutureMs)
    return {
      kind: 'rejected',
      skewMs,
      reason:
        `ts ${new Date(r.endMs).toISOString()} is ${duration(skewMs)} ahead of the collector's ` +
        `clock (${new Date(r.receivedMs).toISOString()}); at most ${duration(policy.maxFutureMs)} ` +
        `ahead is accepted: check the device's clock`,
    };
  if (Math.abs(skewMs) <= policy.toleranceMs) return { kind: 'normal', skewMs };
  return { kind: 'flagged', skewMs, direction: skewMs > 0 ? 'future' : 'past' };
}

/** 90061000 → "1d 1h 1m 1s"; zero parts are left out, below a second "850ms". */
export function duration(ms: number): string {
  let s = Math.floor(Math.abs(ms) / 1000);
  if (s === 0) return `${Math.abs(ms)}ms`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join(' ');
}
