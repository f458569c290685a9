// Quota rules and projected-bill alerts as a plan states them (`quotas:` and `bill_alerts:`),
// their checks across fields, and their normalization to common/quota.ts `QuotaRule`s in base
// units. Pure. docs/quotas.md is the reference with examples.
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import type { DimsMatch, QuotaRule } from '../../common/quota.ts';
import {
  BYTE_UNITS,
  RATE_UNITS,
  amount,
  dimName,
  meter,
  dimValues,
  quantity,
  unitFactor,
  type Quantity,
} from './plan-fields.ts';

const QUOTA_ID_RE = /^(?!__)[A-Za-z0-9._-]{1,64}$/;
const BUCKET_MS = 5 * 60_000;
const MAX_WINDOW_MS = 31 * 86_400_000;
const DURATION_RE = /^(\d{1,6})\s*(m|h|d)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

const dimsMatch = z.record(dimName, dimValues);

const threshold = z
  .object({
    /** Share of the limit: "80%", "100%", "120%". */
    at: z.string().regex(/^\d{1,4}(\.\d{1,2})?%$/, 'at must be a percentage such as "80%"'),
    action: z.enum(['notify', 'throttle', 'block']),
    /** Throttle only: the rate the device is held to ("256 kbps"). */
    rate: quantity.optional(),
  })
  .strict();

export const quotaSchema = z
  .object({
    id: z.string().regex(QUOTA_ID_RE, 'quota ids are 1-64 characters of [A-Za-z0-9._-]'),
    description: z.string().max(200).optional(),
    meter,
    /** device: each device on its own usage; account: one pool for the account's devices. */
    scope: z.enum(['device', 'account']).default('device'),
    /** "10 GB" for byte meters (a plain number is bytes), a plain number for meters.NAME. */
    limit: quantity,
    /** period: the billing month in the account's zone; or rolling: "1h", "24h", "7d". */
    window: z
      .string()
      .refine(
        (w) => w === 'period' || DURATION_RE.test(w),
        'window must be period or a duration such as 30m, 1h, 24h, 7d',
      ),
    filter: z
      .object({ dims: dimsMatch.optional(), exclude_dims: dimsMatch.optional() })
      .strict()
      .optional(),
    /** Usage matching these dims does not count, up to `allowance` if one is set. */
    zero_rated: z.object({ dims: dimsMatch, allowance: quantity.optional() }).strict().optional(),
    thresholds: z.array(threshold).min(1),
  })
  .strict();
export type QuotaDoc = z.output<typeof quotaSchema>;

export const billAlertSchema = z
  .object({
    /** Fires once per billing period when the open invoice's projected total exceeds this. */
    projected_total_over: amount,
  })
  .strict();
export type BillAlertDoc = z.output<typeof billAlertSchema>;

/** Rolling window length in ms, or 'period'. Only call on a window the schema accepted. */
export function windowMs(w: string): 'period' | number {
  if (w === 'period') return 'period';
  const m = DURATION_RE.exec(w);
  return Number(m?.[1] ?? 0) * (UNIT_MS[m?.[2] ?? 'm'] ?? 0);
}

const isBytes = (meter: string) => !meter.startsWith('meters.');

/** Checks across fields of one quota; `path` is where it sits in the plan. */
export function checkQuota(q: QuotaDoc, path: (string | number)[], ctx: z.RefinementCtx): void {
  const add = (p: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path: [...path, ...p], message });
  const w = windowMs(q.window);
  if (w !== 'period') {
    if (w === 0 || w % BUCKET_MS !== 0)
      add(['window'], 'a rolling window is a whole number of 5-minute intervals (5m, 1h, 24h)');
    else if (w > MAX_WINDOW_MS) add(['window'], 'a rolling window is at most 31 days (31d)');
  }
  const byteUnit = (u: string | undefined) => (BYTE_UNITS as readonly string[]).includes(u ?? '');
  if (isBytes(q.meter) && q.limit.unit !== undefined && !byteUnit(q.limit.unit))
    add(['limit'], `${q.limit.unit} is not a byte unit`);
  if (!isBytes(q.meter) && q.limit.unit !== undefined)
    add(['limit'], `${q.meter} is a count; write a plain number`);
  const allowance = q.zero_rated?.allowance;
  if (allowance?.unit !== undefined && (!isBytes(q.meter) || !byteUnit(allowance.unit)))
    add(['zero_rated', 'allowance'], `${allowance.unit} is not a unit of ${q.meter}`);
  let prev: Decimal | undefined;
  q.thresholds.forEach((t, i) => {
    const pct = new Decimal(t.at.slice(0, -1));
    if (prev && !pct.greaterThan(prev))
      add(['thresholds', i, 'at'], 'thresholds must be strictly increasing');
    prev = pct;
    if (t.action === 'throttle' && t.rate === undefined)
      add(['thresholds', i, 'rate'], 'a throttle threshold needs a rate such as "256 kbps"');
    if (t.action !== 'throttle' && t.rate !== undefined)
      add(['thresholds', i, 'rate'], 'only a throttle threshold takes a rate');
    if (t.rate && !(RATE_UNITS as readonly string[]).includes(t.rate.unit ?? ''))
      add(['thresholds', i, 'rate'], 'rate needs a rate unit (bps, kbps, Mbps, Gbps)');
  });
}

function toMatch(m: Record<string, string | string[]>): DimsMatch {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

function base(q: Quantity, units: 'decimal' | 'binary'): string {
  return new Decimal(q.value).times(unitFactor(q.unit ?? 'B', units)).toFixed();
}

/** The plan's quotas as rules in base units (bytes, counts, bits per second). */
export function quotaRules(
  planId: string,
  plan: { units: 'decimal' | 'binary'; quotas?: QuotaDoc[] | undefined },
): QuotaRule[] {
  return (plan.quotas ?? []).map((q) => {
    const rule: QuotaRule = {
      key: `${planId}/${q.id}`,
      id: q.id,
      scope: q.scope,
      meter: q.meter,
      limit: base(q.limit, plan.units),
      windowMs: windowMs(q.window),
      thresholds: q.thresholds.map((t) => ({
        pct: new Decimal(t.at.slice(0, -1)).toFixed(),
        action: t.action,
        ...(t.rate ? { rateBps: Number(base(t.rate, 'decimal').split('.')[0]) } : {}),
      })),
    };
    if (q.filter?.dims) rule.dims = toMatch(q.filter.dims);
    if (q.filter?.exclude_dims) rule.excludeDims = toMatch(q.filter.exclude_dims);
    if (q.zero_rated)
      rule.zeroRated = {
        dims: toMatch(q.zero_rated.dims),
        ...(q.zero_rated.allowance ? { allowance: base(q.zero_rated.allowance, plan.units) } : {}),
      };
    return rule;
  });
}

const text = (q: Quantity) => (q.unit === undefined ? q.value : `${q.value} ${q.unit}`);

/** A validated quota written back as document text (quantities as "10 GB"). */
export function quotaDocument(q: QuotaDoc): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...q,
    limit: text(q.limit),
    thresholds: q.thresholds.map((t) => (t.rate ? { ...t, rate: text(t.rate) } : t)),
  };
  if (q.zero_rated?.allowance)
    out.zero_rated = { ...q.zero_rated, allowance: text(q.zero_rated.allowance) };
  return out;
}
