// A device's quota statuses now, computed from committed rollups: the window of each rule, the
// usage that counts in it (a pooled quota sums the account's devices), the decision and the
// projected exhaustion. No writes; the tracker persists, the API shows.
import {
  QDec,
  addSample,
  decide,
  emptyUsage,
  projectedExhaustion,
  usedOf,
  type DeviceQuotaStatus,
  type QuotaEvent,
  type QuotaRule,
  type QuotaStatus,
} from '../../common/quota.ts';
import { BUCKET_MS, bucketOf } from '../../common/usage.ts';
import { periodAt } from '../rating/period.ts';
import type { SqlClient } from '../storage/sql.ts';
import type { Sums, UsageSums } from './usage-sums.ts';
import { sampleOf } from './usage-sums.ts';

export interface Window {
  startMs: number;
  endMs: number;
}

/** The billing month in the account's zone, or the last N 5-minute buckets up to now's. */
export function windowOf(rule: QuotaRule, nowMs: number, timeZone: string): Window {
  if (rule.windowMs === 'period') {
    const p = periodAt(nowMs, timeZone);
    return { startMs: p.startMs, endMs: p.endMs };
  }
  const endMs = bucketOf(nowMs) + BUCKET_MS;
  return { startMs: endMs - rule.windowMs, endMs };
}

export interface Subject {
  deviceId: string;
  accountId?: string;
  timeZone: string;
  /** The devices a pooled quota sums. */
  accountDevices: string[];
}

/** Statuses of `rules` for one device; sums are shared between rules with the same window. */
export async function evaluateRules(
  sums: UsageSums,
  rules: QuotaRule[],
  s: Subject,
  nowMs: number,
  sql?: SqlClient,
): Promise<QuotaStatus[]> {
  const memo = new Map<string, Promise<Sums>>();
  const sumsOf = (device: string, w: Window) => {
    const k = `${device}|${w.startMs}|${w.endMs}`;
    let p = memo.get(k);
    if (!p) memo.set(k, (p = sums.sums(device, w.startMs, w.endMs, nowMs, sql)));
    return p;
  };
  const out: QuotaStatus[] = [];
  for (const rule of rules) {
    const w = windowOf(rule, nowMs, s.timeZone);
    const usage = emptyUsage();
    const devices = rule.scope === 'account' ? s.accountDevices : [s.deviceId];
    for (const d of devices)
      for (const x of (await sumsOf(d, w)).values()) addSample(rule, usage, sampleOf(x));
    const used = usedOf(rule, usage);
    const at = projectedExhaustion(used, new QDec(rule.limit), w.startMs, w.endMs, nowMs);
    out.push({
      ...decide(rule, used),
      key: rule.key,
      id: rule.id,
      scope: rule.scope,
      ...(rule.scope === 'account' && s.accountId ? { accountId: s.accountId } : {}),
      meter: rule.meter,
      windowStart: new Date(w.startMs).toISOString(),
      windowEnd: new Date(w.endMs).toISOString(),
      ...(at !== undefined ? { exhaustsAt: new Date(at).toISOString() } : {}),
      zeroRated: usage.zeroRated.toFixed(),
      rule,
    });
  }
  return out;
}

const ORDER = ['ok', 'warning', 'throttled', 'blocked'] as const;

/** The device's status: the worst state; when throttled, the lowest rate any throttle sets. */
export function deviceStatus(
  deviceId: string,
  quotas: QuotaStatus[],
  events: QuotaEvent[],
  nowMs: number,
): Omit<DeviceQuotaStatus, 'seq'> {
  const state = quotas.reduce<DeviceQuotaStatus['state']>(
    (w, q) => (ORDER.indexOf(q.state) > ORDER.indexOf(w) ? q.state : w),
    'ok',
  );
  const rates = quotas.flatMap((q) => (q.throttleBps !== undefined ? [q.throttleBps] : []));
  return {
    deviceId,
    state,
    ...(state === 'throttled' && rates.length > 0 ? { throttleBps: Math.min(...rates) } : {}),
    updatedAt: new Date(nowMs).toISOString(),
    source: 'rater',
    quotas,
    ...(events.length > 0 ? { events } : {}),
  };
}

/**
 * Worth appending to the change log: a state, level, window, rule or rate changed, or `used`
 * moved by at least 1 % of a limit since the last appended status (bounded traffic, yet fresh
 * enough for a cut-off collector to keep deciding from).
 */
export function statusChanged(
  last: Pick<DeviceQuotaStatus, 'state' | 'throttleBps' | 'quotas'> | undefined,
  next: Pick<DeviceQuotaStatus, 'state' | 'throttleBps' | 'quotas'>,
): boolean {
  if (!last) return next.quotas.length > 0;
  if (last.state !== next.state || last.throttleBps !== next.throttleBps) return true;
  if (last.quotas.length !== next.quotas.length) return true;
  const before = new Map(last.quotas.map((q) => [q.key, q]));
  return next.quotas.some((q) => {
    const p = before.get(q.key);
    if (!p || p.level !== q.level || p.state !== q.state || p.windowStart !== q.windowStart)
      return true;
    if (JSON.stringify(p.rule) !== JSON.stringify(q.rule)) return true;
    const step = new QDec(q.limit).div(100);
    const moved = new QDec(q.used).minus(p.used).abs();
    return step.isZero() ? !moved.isZero() : moved.gte(step);
  });
}
