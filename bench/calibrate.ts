// The machine's speed at the moment, as a figure: these shared machines run the same code at
// very different speeds from hour to hour (bare aedes took 16 and 29 µs of CPU per message 18
// minutes apart, bench/README.md), so every run reports a fixed piece of JavaScript work like
// the pipeline's per-record work — parse a JSON record, serialise it, hash it — timed at the
// start and at the end of the run. Compare figures between runs only alongside it.
import { hash } from 'node:crypto';

const RECORD = JSON.stringify({
  seq: 123456,
  boot: 'b-7f3a',
  ts: '2026-01-15T10:04:59.123Z',
  start: '2026-01-15T10:03:59.123Z',
  up: 123456,
  down: 654321,
  meters: { sms: 2, sessions: 1 },
  dims: { apn: 'iot.example', rat: 'lte' },
});

/** One unit of work; returns something derived from it so that nothing is optimised away. */
function unit(i: number): number {
  const r = JSON.parse(RECORD) as { seq: number; up: number };
  r.seq = i;
  r.up += i;
  return hash('sha256', JSON.stringify(r), 'hex').charCodeAt(i & 63);
}

/**
 * Microseconds of this process' CPU per unit, the best of `rounds` rounds of `n` units (the
 * least disturbed by other processes on the same cores).
 */
export function calibrate(n = 20_000, rounds = 5): number {
  let best = Infinity;
  let sink = 0;
  for (let k = 0; k < rounds; k++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) sink += unit(i);
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / n);
  }
  if (sink < 0) throw new Error('unreachable');
  return Math.round(best * 100) / 100;
}
