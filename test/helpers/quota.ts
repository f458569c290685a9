// Device quota statuses as the rater's tracker would append them: the tests play the rater's
// decisions straight into the change log (the tracker itself is tested on its own).
import type { DeviceQuotaStatus, QuotaRule, QuotaState, QuotaStatus } from '../../common/quota.ts';
import { decide, QDec } from '../../common/quota.ts';

export const WINDOW_START = '2026-11-01T00:00:00.000Z';
export const WINDOW_END = '2026-12-01T00:00:00.000Z';

/** 1000 bytes of `total`, warning at 50 %, throttled at 80 %, blocked at 100 %. */
export function rule(over: Partial<QuotaRule> = {}): QuotaRule {
  return {
    key: 'p1/cap',
    id: 'cap',
    scope: 'device',
    meter: 'total',
    limit: '1000',
    windowMs: 'period',
    thresholds: [
      { pct: '50', action: 'notify' },
      { pct: '80', action: 'throttle', rateBps: 64000 },
      { pct: '100', action: 'block' },
    ],
    ...over,
  };
}

export function quota(r: QuotaRule, used: number, accountId?: string): QuotaStatus {
  return {
    ...decide(r, new QDec(used)),
    key: r.key,
    id: r.id,
    scope: r.scope,
    ...(accountId ? { accountId } : {}),
    meter: r.meter,
    windowStart: WINDOW_START,
    windowEnd: WINDOW_END,
    zeroRated: '0',
    rule: r,
  };
}

/** A rater-decided status of one device with the given quotas (the state is their worst). */
export function status(
  deviceId: string,
  quotas: QuotaStatus[],
  events?: DeviceQuotaStatus['events'],
): Omit<DeviceQuotaStatus, 'seq'> {
  const order: QuotaState[] = ['ok', 'warning', 'throttled', 'blocked'];
  const state = quotas.reduce<QuotaState>(
    (w, q) => (order.indexOf(q.state) > order.indexOf(w) ? q.state : w),
    'ok',
  );
  return {
    deviceId,
    state,
    updatedAt: new Date().toISOString(),
    source: 'rater',
    quotas,
    ...(events ? { events } : {}),
  };
}
