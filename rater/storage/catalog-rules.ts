// The catalog's rules as pure functions over rows already read: which history entry is in force,
// whether a change would reach into a closed billing period, whether a plan can bill an account
// from a given time. catalog-plans.ts, catalog-accounts.ts and catalog-devices.ts read and
// write (their SQL in catalog-sql.ts); this decides. No I/O.
import { inForce } from '../rating/segments.ts';
import { effectiveInstant, periodAt } from '../rating/period.ts';
import type { Plan, PlanVersion } from '../rating/plan.ts';
import { planVersionAt } from '../rating/segments.ts';
import { StorageError } from './errors.ts';

/** One row of an append-only history; `seq` is its insertion order within the history. */
export interface HistoryEntry {
  seq: number;
  fromMs: number;
}

/** The account fields the rules need. */
export interface AccountRef {
  id: string;
  currency: string;
  timeZone: string;
}

/** An epoch-ms time as the ISO text timestamptz parameters and messages use. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Orders ids by UTF-16 code units (locale-independent, like JavaScript's default sort). */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Oldest first; equal effective times in insertion order, so the later row wins a tie. */
export function byTime<T extends HistoryEntry>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => a.fromMs - b.fromMs || a.seq - b.seq);
}

/** The entry in force at `t` in a `byTime`-sorted history (one rule with rating/segments.ts). */
export const inForceAt = inForce;

/**
 * The stretches [fromMs, toMs) during which each entry of a `byTime`-sorted history is in
 * force, in time order; an entry overridden by a later one with the same time gets none.
 */
export function stretches<T extends HistoryEntry>(
  sorted: readonly T[],
): Array<{ entry: T; fromMs: number; toMs: number }> {
  const out: Array<{ entry: T; fromMs: number; toMs: number }> = [];
  sorted.forEach((entry, i) => {
    const next = sorted[i + 1];
    if (next && next.fromMs === entry.fromMs) return;
    out.push({ entry, fromMs: entry.fromMs, toMs: next ? next.fromMs : Infinity });
  });
  return out;
}

/**
 * CONFLICT when a change effective at `fromMs` would land in a billing period of `account`
 * that has already ended at `nowMs`: its invoice is final and must not change.
 */
export function checkOpenPeriod(
  fromMs: number,
  nowMs: number,
  account: AccountRef,
  what: string,
): void {
  const open = periodAt(nowMs, account.timeZone);
  if (fromMs >= open.startMs) return;
  const closed = periodAt(fromMs, account.timeZone);
  throw new StorageError(
    'CONFLICT',
    `${what} would take effect at ${iso(fromMs)}, inside the closed billing period ` +
      `${closed.label} of account ${account.id} (${account.timeZone}); changes for this account ` +
      `may take effect from ${iso(open.startMs)} (start of ${open.label}) on`,
  );
}

/**
 * INVALID_ARGUMENT unless `versions` (a plan's whole history) can bill `account` from `fromMs`
 * on: some version is in force at `fromMs`, and it and every version taking effect later are
 * priced in the account's currency.
 */
export function checkPlanUsable(
  planId: string,
  versions: readonly PlanVersion[],
  fromMs: number,
  account: AccountRef,
): void {
  if (versions.length === 0)
    throw new StorageError('INVALID_ARGUMENT', `unknown plan ${planId}: store it first`);
  const tz = account.timeZone;
  const current = planVersionAt([...versions], fromMs, tz);
  if (!current) {
    const first = firstEffective(versions, tz);
    throw new StorageError(
      'INVALID_ARGUMENT',
      `plan ${planId} takes effect only from ${iso(first)} for account ${account.id} (${tz}); ` +
        `it cannot apply from ${iso(fromMs)}`,
    );
  }
  for (const v of versions) {
    const applies = v === current || effectiveInstant(v.plan.effective_from, tz) > fromMs;
    if (applies && v.plan.currency !== account.currency)
      throw new StorageError(
        'INVALID_ARGUMENT',
        `plan ${planId} version ${v.version} is priced in ${v.plan.currency} but account ` +
          `${account.id} is billed in ${account.currency}`,
      );
  }
}

/** When the plan first takes effect in `timeZone` (its earliest version); Infinity for none. */
export function firstEffective(versions: readonly PlanVersion[], timeZone: string): number {
  return Math.min(...versions.map((v) => effectiveInstant(v.plan.effective_from, timeZone)));
}

/** True when a usage charge of the plan rounds every record (the engine then needs raw records). */
export function roundsPerRecord(plan: Plan): boolean {
  return plan.charges.some((c) => c.type === 'usage' && c.rounding?.per_record !== undefined);
}

/**
 * JSON with object keys sorted and undefined members left out: two documents are the same plan
 * exactly when these strings are equal, whatever order their keys were written in. Plan
 * versions are stored in this form and compared in it.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts = Object.keys(value)
      .sort()
      .flatMap((k) => {
        const v = (value as Record<string, unknown>)[k];
        return v === undefined ? [] : [`${JSON.stringify(k)}:${canonicalJson(v)}`];
      });
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Epoch ms the catalog stores: an integer from 1970 up to the year 9999 (timestamptz-safe). */
export function checkTime(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIME_MS)
    throw new StorageError(
      'INVALID_ARGUMENT',
      `${what} must be an integer number of milliseconds since 1970 before the year 10000, ` +
        `not ${String(ms)}`,
    );
  return ms;
}

const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
