/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt up to `maxMs`, and the
 * delay is drawn from the upper half of it. Half keeps retries from hammering a rater that just
 * came back; the random half spreads many collectors retrying after the same outage.
 */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
