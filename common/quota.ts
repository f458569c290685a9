// Quotas: the enforcement signal, kept apart from accounting. Accounting never drops or alters
// usage; a quota only tells a device and its gateway what to do (notify, throttle, block) once
// usage reaches a share of a limit. These rules are shared by the rater, which decides from the
// database, and by collectors, which keep deciding from the last known state plus their own
// accepted usage while the uplink is down. Pure: no I/O, no clock.
import { Decimal } from 'decimal.js';

/** Exact arithmetic for usage sums: 60 digits, like the rating engine's money. */
export const QDec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
export type QDecimal = InstanceType<typeof QDec>;

export type QuotaAction = 'notify' | 'throttle' | 'block';
/** ok < warning (a notify threshold reached) < throttled < blocked. */
export type QuotaState = 'ok' | 'warning' | 'throttled' | 'blocked';
export const STATE_ORDER: readonly QuotaState[] = ['ok', 'warning', 'throttled', 'blocked'];

export interface DimsMatch {
  [dim: string]: string[];
}

export interface QuotaThreshold {
  /** Share of the limit, in percent, as a decimal string ("80", "100", "120"). */
  pct: string;
  action: QuotaAction;
  /** For throttle: the rate the device should apply, in bits per second. */
  rateBps?: number;
}

/** A quota rule in base units (bytes for up/down/total, the meter's own unit otherwise). */
export interface QuotaRule {
  /** `{planId}/{quotaId}`: unique across plans, stable across plan versions. */
  key: string;
  id: string;
  scope: 'device' | 'account';
  meter: string;
  /** Decimal string, base units. */
  limit: string;
  /** 'period' = the account's billing month; otherwise a rolling window of this many ms. */
  windowMs: 'period' | number;
  /** Only usage whose dims match every entry counts (omitted = all usage). */
  dims?: DimsMatch;
  /** Usage whose dims match any entry never counts. */
  excludeDims?: DimsMatch;
  /** Zero-rated usage: does not count, up to `allowance` (base units) if one is set. */
  zeroRated?: { dims: DimsMatch; allowance?: string };
  thresholds: QuotaThreshold[];
}

/** The part of a record or a 5-minute rollup a quota looks at. */
export interface UsageSample {
  up: number | bigint | string;
  down: number | bigint | string;
  meters: Record<string, number | string>;
  dims: Record<string, string>;
}

/** Usage under one rule: what counts, and zero-rated usage (which counts only past its allowance). */
export interface QuotaUsage {
  counted: QDecimal;
  zeroRated: QDecimal;
}

export function emptyUsage(): QuotaUsage {
  return { counted: new QDec(0), zeroRated: new QDec(0) };
}

function matchesAll(dims: Record<string, string>, m: DimsMatch): boolean {
  return Object.entries(m).every(([k, vs]) => dims[k] !== undefined && vs.includes(dims[k]));
}

function matchesAny(dims: Record<string, string>, m: DimsMatch): boolean {
  return Object.entries(m).some(([k, vs]) => dims[k] !== undefined && vs.includes(dims[k]));
}

function meterValue(rule: QuotaRule, s: UsageSample): QDecimal {
  if (rule.meter === 'up') return new QDec(String(s.up));
  if (rule.meter === 'down') return new QDec(String(s.down));
  if (rule.meter === 'total') return new QDec(String(s.up)).plus(String(s.down));
  const v = s.meters[rule.meter.slice('meters.'.length)];
  return new QDec(v === undefined ? 0 : String(v));
}

/** Adds one sample to `acc` (mutated and returned). */
export function addSample(rule: QuotaRule, acc: QuotaUsage, s: UsageSample): QuotaUsage {
  if (rule.dims && !matchesAll(s.dims, rule.dims)) return acc;
  if (rule.excludeDims && matchesAny(s.dims, rule.excludeDims)) return acc;
  const v = meterValue(rule, s);
  if (v.isZero()) return acc;
  if (rule.zeroRated && matchesAll(s.dims, rule.zeroRated.dims))
    acc.zeroRated = acc.zeroRated.plus(v);
  else acc.counted = acc.counted.plus(v);
  return acc;
}

export function addUsage(a: QuotaUsage, b: QuotaUsage): QuotaUsage {
  return { counted: a.counted.plus(b.counted), zeroRated: a.zeroRated.plus(b.zeroRated) };
}

/** What counts against the limit: counted usage plus zero-rated usage beyond its allowance. */
export function usedOf(rule: QuotaRule, u: QuotaUsage): QDecimal {
  if (!rule.zeroRated) return u.counted;
  if (rule.zeroRated.allowance === undefined) return u.counted;
  const over = u.zeroRated.minus(rule.zeroRated.allowance);
  return over.isPositive() ? u.counted.plus(over) : u.counted;
}

export interface QuotaDecision {
  used: string;
  limit: string;
  remaining: string;
  /** Used / limit in percent, 2 decimals, rounded down (so 79.999 % is not shown as 80 %). */
  pct: string;
  /** Index of the highest threshold reached, -1 for none. */
  level: number;
  state: QuotaState;
  /** Set when throttled: the most restrictive rate of the throttle thresholds reached. */
  throttleBps?: number;
}

export function decide(rule: QuotaRule, used: QDecimal): QuotaDecision {
  const limit = new QDec(rule.limit);
  const pct = limit.isZero()
    ? new QDec(used.isPositive() ? 100 : 0)
    : used.times(100).div(limit).toDecimalPlaces(2, Decimal.ROUND_DOWN);
  let level = -1;
  let state: QuotaState = 'ok';
  let throttleBps: number | undefined;
  for (const [i, t] of rule.thresholds.entries()) {
    // A zero limit is reached by any usage at all, and by none at 0 %.
    const reached = limit.isZero() ? used.isPositive() || new QDec(t.pct).isZero() : pct.gte(t.pct);
    if (!reached) continue;
    level = i;
    const s: QuotaState =
      t.action === 'block' ? 'blocked' : t.action === 'throttle' ? 'throttled' : 'warning';
    if (STATE_ORDER.indexOf(s) > STATE_ORDER.indexOf(state)) state = s;
    if (t.action === 'throttle' && t.rateBps !== undefined)
      throttleBps = throttleBps === undefined ? t.rateBps : Math.min(throttleBps, t.rateBps);
  }
  const remaining = QDec.max(limit.minus(used), 0);
  return {
    used: used.toFixed(),
    limit: limit.toFixed(),
    remaining: remaining.toFixed(),
    pct: pct.toFixed(2),
    level,
    state,
    ...(state === 'throttled' && throttleBps !== undefined ? { throttleBps } : {}),
  };
}

/**
 * When usage at its pace so far in the window reaches the limit: linear from the window start.
 * Undefined when nothing is used yet, when the limit is reached already (it has happened), or
 * when the pace does not reach it before the window ends.
 */
export function projectedExhaustion(
  used: QDecimal,
  limit: QDecimal,
  windowStartMs: number,
  windowEndMs: number,
  nowMs: number,
): number | undefined {
  const elapsed = nowMs - windowStartMs;
  if (elapsed <= 0 || !used.isPositive() || used.gte(limit)) return undefined;
  const at = windowStartMs + limit.times(elapsed).div(used).floor().toNumber();
  return at <= windowEndMs ? at : undefined;
}

/** The most severe of several states (a device's overall state across its quotas). */
export function worstState(states: QuotaState[]): QuotaState {
  return states.reduce<QuotaState>(
    (w, s) => (STATE_ORDER.indexOf(s) > STATE_ORDER.indexOf(w) ? s : w),
    'ok',
  );
}

/**
 * One quota as a device, a gateway and the API see it: the decision, the window, and the rule
 * (so a collector can keep deciding offline). Published retained on `quota/{deviceId}` inside a
 * `DeviceQuotaStatus`.
 */
export interface QuotaStatus extends QuotaDecision {
  key: string;
  id: string;
  scope: 'device' | 'account';
  /** The account, for a pooled (account-scope) quota. */
  accountId?: string;
  meter: string;
  windowStart: string;
  windowEnd: string;
  exhaustsAt?: string;
  /** Zero-rated usage so far (counts past the rule's allowance). */
  zeroRated: string;
  rule: QuotaRule;
}

/** A threshold crossed for the first time in a window; fires once (webhook, MQTT notice). */
export interface QuotaEvent {
  type: 'threshold_crossed';
  key: string;
  id: string;
  /** Index of the threshold in the rule. */
  level: number;
  /** The threshold's share of the limit, percent. */
  threshold: string;
  action: QuotaAction;
  used: string;
  limit: string;
  windowStart: string;
  at: string;
}

/** The event for reaching threshold `level` of a quota, or undefined if the rule has no such level. */
export function crossingEvent(
  q: Pick<QuotaStatus, 'key' | 'id' | 'used' | 'limit' | 'rule'>,
  level: number,
  windowStart: string,
  at: string,
): QuotaEvent | undefined {
  const t = q.rule.thresholds[level];
  if (!t) return undefined;
  return {
    type: 'threshold_crossed',
    key: q.key,
    id: q.id,
    level,
    threshold: t.pct,
    action: t.action,
    used: q.used,
    limit: q.limit,
    windowStart,
    at,
  };
}

export interface DeviceQuotaStatus {
  deviceId: string;
  /** Position in the rater's change log; a collector resumes its stream after it. */
  seq: string;
  /** The most severe state across the device's quotas. */
  state: QuotaState;
  /** Highest rate any throttled quota allows, bits per second. */
  throttleBps?: number;
  updatedAt: string;
  /** rater: decided centrally; collector: the last rater decision plus usage accepted since. */
  source: 'rater' | 'collector';
  quotas: QuotaStatus[];
  /** Crossings that caused this change, if any. */
  events?: QuotaEvent[];
}

/**
 * The offline rule: the last decision plus usage accepted locally since it arrived. Records
 * accepted after a decision cannot be in it, so nothing is counted twice; records in flight while
 * it was made are missing from both until the next decision (a brief undercount, never an
 * overcount). For a pooled quota this adds only this gateway's devices: other gateways' usage
 * is unknown until the rater is reachable again.
 */
export function withLocalUsage(status: QuotaStatus, local: QuotaUsage): QuotaStatus {
  const base: QuotaUsage = {
    counted: new QDec(status.used).minus(
      usedOf(status.rule, { counted: new QDec(0), zeroRated: new QDec(status.zeroRated) }),
    ),
    zeroRated: new QDec(status.zeroRated),
  };
  const total = addUsage(base, local);
  const d = decide(status.rule, usedOf(status.rule, total));
  return { ...status, ...d, zeroRated: total.zeroRated.toFixed() };
}
