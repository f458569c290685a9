// UTC ISO-8601 times with milliseconds, as `Date.prototype.toISOString` writes them, for the
// simulated devices, which write one per record on the cores the measured programs share.
const DAY_MS = 86_400_000;
// The last day formatted: a memo of a pure function (not shared state anyone depends on).
let isoDay = NaN;
let isoDate = '';
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for an integer `ms`, exactly, at a tenth of the cost: the date part
 * is worked out once per day (consecutive records share a day) and the time by arithmetic
 * (toISOString took ~1.8 µs per call, measured in the rater, which used this until it moved to
 * binary COPY).
 */
export function isoTime(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${isoDate}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${pad3(rest - sec * 1000)}Z`;
}
