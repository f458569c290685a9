// RFC 3339 date-times as devices send them, read exactly. Pure.

// Seconds and an explicit offset are required; the `T` may be a space.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Epoch ms of a checked date and time (every field in range), offset in minutes east of UTC. */
function epochMs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
  offsetMin: number,
): number {
  const offset = offsetMin * 60_000;
  if (y >= 100) return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset;
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  t.setUTCHours(h, mi, s, ms);
  return t.getTime() - offset;
}

const ZERO = 48;
/** The value of `len` ASCII digits at `at`, or -1 when one of them is not a digit. */
function digits(v: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - ZERO;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (what `Date.prototype.toISOString` writes and most firmware
 * sends), read without the regular expression; anything else returns undefined and takes the
 * general path.
 */
function isoMillisUtc(v: string): number | 'calendar' | undefined {
  if (
    v.length !== 24 ||
    v.charCodeAt(4) !== 45 || // -
    v.charCodeAt(7) !== 45 ||
    v.charCodeAt(10) !== 84 || // T
    v.charCodeAt(13) !== 58 || // :
    v.charCodeAt(16) !== 58 ||
    v.charCodeAt(19) !== 46 || // .
    v.charCodeAt(23) !== 90 // Z
  )
    return undefined;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  const h = digits(v, 11, 2);
  const mi = digits(v, 14, 2);
  const s = digits(v, 17, 2);
  const ms = digits(v, 20, 3);
  if ((y | mo | d | h | mi | s | ms) < 0) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return 'calendar';
  if (h > 23 || mi > 59 || s > 59) return 'calendar';
  return epochMs(y, mo, d, h, mi, s, ms, 0);
}

/**
 * Epoch ms of an RFC 3339 string, computed from its fields (Date.parse rolls impossible dates
 * such as 2026-02-30 or 24:00:00 over into the next month or day instead of refusing them).
 * Fractions beyond milliseconds are cut, not rounded. Leap seconds (:60) are refused:
 * JavaScript time has no place for them.
 */
export function rfc3339Ms(v: string): number | 'format' | 'calendar' {
  const fast = isoMillisUtc(v);
  if (fast !== undefined) return fast;
  const m = RFC3339.exec(v);
  if (!m) return 'format';
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offH = m[9] === undefined ? 0 : Number(m[9]);
  const offM = m[10] === undefined ? 0 : Number(m[10]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return 'calendar';
  if (h > 23 || mi > 59 || s > 59 || offH > 23 || offM > 59) return 'calendar';
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const sign = m[8] === '-' ? -1 : 1;
  return epochMs(y, mo, d, h, mi, s, ms, sign * (offH * 60 + offM));
}
