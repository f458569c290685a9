// Billing periods and local time: calendar months in the account's IANA time zone, local days
// and local clock times of 5-minute buckets. Luxon does the zone arithmetic (DST included), so
// a month in Europe/Berlin starts at 23:00 or 22:00 UTC of the previous day as it should.
import { DateTime } from 'luxon';
import type { BillingPeriod } from './types.ts';

import { BUCKET_MS } from '../../common/usage.ts';

/** A peak-billing sample is one 5-minute rollup bucket. */
export const SAMPLE_MS = BUCKET_MS;
/** A billing period label: YYYY-MM. */
export const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export const EFFECTIVE_TIME_RULE =
  "a date (YYYY-MM-DD, midnight in the account's time zone) or an RFC 3339 time with Z or an offset";

/**
 * An effective time as plans, accounts and devices write it: a real calendar date, or an
 * RFC 3339 instant with an explicit offset (without one the instant would depend on the
 * server's own time zone).
 */
export function isEffectiveTime(s: string): boolean {
  if (DATE_RE.test(s)) {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(s);
  }
  return INSTANT_RE.test(s) && Number.isFinite(Date.parse(s));
}

export class PeriodError extends Error {
  override readonly name = 'PeriodError';
}

export function isValidTimeZone(tz: string): boolean {
  // Only IANA names (Europe/Berlin, UTC, EST5EDT, Etc/GMT+3): Luxon, like PostgreSQL, would
  // also take fixed offsets such as "UTC+3", whose sign conventions differ and confuse.
  return (
    /^[A-Za-z][A-Za-z0-9_]*(\/[A-Za-z0-9_+-]+)*$/.test(tz) && DateTime.local({ zone: tz }).isValid
  );
}

/** The IANA name as the time zone database spells it ("europe/berlin" → "Europe/Berlin"). */
export function canonicalTimeZone(tz: string): string {
  return new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
}

/** The calendar month `label` (YYYY-MM) in `timeZone`. */
export function billingPeriod(label: string, timeZone: string): BillingPeriod {
  const m = PERIOD_RE.exec(label);
  if (!m) throw new PeriodError(`period must be YYYY-MM, not ${JSON.stringify(label)}`);
  if (!isValidTimeZone(timeZone)) throw new PeriodError(`unknown time zone ${timeZone}`);
  // Each boundary is the first instant of the 1st in the zone, computed on its own: where
  // midnight is skipped by a DST change (America/Asuncion, 1 October 2023) the day starts at
  // 01:00, and "start + 1 month" would carry that hour into the next boundary.
  const year = Number(m[1]);
  const month = Number(m[2]);
  const start = DateTime.fromObject({ year, month, day: 1 }, { zone: timeZone });
  const end = DateTime.fromObject(
    { year: month === 12 ? year + 1 : year, month: month === 12 ? 1 : month + 1, day: 1 },
    { zone: timeZone },
  );
  return { label, startMs: start.toMillis(), endMs: end.toMillis(), days: start.daysInMonth ?? 30 };
}

/** The period containing the instant `ms` in `timeZone`. */
export function periodAt(ms: number, timeZone: string): BillingPeriod {
  return billingPeriod(DateTime.fromMillis(ms, { zone: timeZone }).toFormat('yyyy-MM'), timeZone);
}

/** Midnight of a calendar date (YYYY-MM-DD) in `timeZone`, or an RFC 3339 instant, as epoch ms. */
export function effectiveInstant(effectiveFrom: string, timeZone: string): number {
  if (DATE_RE.test(effectiveFrom))
    return DateTime.fromISO(effectiveFrom, { zone: timeZone }).toMillis();
  return Date.parse(effectiveFrom);
}

/**
 * Local calendar day number (days since 1970-01-01 in local time) of the instant `ms`.
 * Differences of day numbers count calendar days whatever the DST changes in between.
 */
export function localDay(ms: number, timeZone: string): number {
  const d = DateTime.fromMillis(ms, { zone: timeZone });
  return Math.round(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000);
}

/**
 * Calendar days credited to an assignment [fromMs, toMs): the day a change happens belongs to
 * the new assignment, so consecutive assignments split the period's days without overlap and
 * a whole-period assignment gets every day of the month.
 */
export function assignedDays(fromMs: number, toMs: number, timeZone: string): number {
  return Math.max(0, localDay(toMs, timeZone) - localDay(fromMs, timeZone));
}

export interface LocalTime {
  /** Local day number (see localDay). */
  day: number;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minute: number;
}

/**
 * Local time of many instants (bucket starts) in one zone, cached: a month has 8,640 buckets
 * and every device shares them, so each is converted once.
 */
export class LocalClock {
  private readonly cache = new Map<number, LocalTime>();
  constructor(readonly timeZone: string) {}

  at(ms: number): LocalTime {
    let t = this.cache.get(ms);
    if (!t) {
      const d = DateTime.fromMillis(ms, { zone: this.timeZone });
      t = {
        day: Math.round(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000),
        weekday: d.weekday - 1,
        minute: d.hour * 60 + d.minute,
      };
      this.cache.set(ms, t);
    }
    return t;
  }
}

/** Number of 5-minute intervals in [fromMs, toMs) (bucket-aligned ends assumed). */
export function expectedSamples(fromMs: number, toMs: number): number {
  return Math.max(0, Math.ceil((toMs - fromMs) / SAMPLE_MS));
}
