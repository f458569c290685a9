// The plan's checks across fields, which zod cannot express per field: unique charge and quota
// ids, windows that exist, pooled allowances on account scope, units that fit the meter, tier
// bounds that rise. Apart from plan.ts so the schema reads as the document's shape; these run
// from its superRefine and report through zod like any field error.
import { Decimal } from 'decimal.js';
import type { z } from 'zod';
import { BYTE_UNITS, RATE_UNITS, unitFactor, type Quantity } from './plan-fields.ts';
import type { PeakCharge, Plan, UsageCharge } from './plan.ts';
import { checkQuota, type QuotaDoc } from './quota-plan.ts';

/** Every cross-field check of a plan; parts that failed to parse are skipped, not re-reported. */
export function checkPlan(p: Plan, ctx: z.RefinementCtx): void {
  if (typeof p !== 'object' || p === null) return;
  const failed = new Set(ctx.issues.map((i) => (i.path ?? []).slice(0, 2).join('.')));
  if (Array.isArray(p.quotas)) checkPlanQuotas(p.quotas, failed, ctx);
  if (!Array.isArray(p.charges) || failed.has('charges')) return;
  const windowsOk = typeof p.windows === 'object' && !failed.has('windows');
  const units = p.units === 'binary' ? 'binary' : 'decimal';
  const seen = new Set<string>();
  p.charges.forEach((c, i) => {
    checkUniqueId(c, seen, ['charges', i], 'charge', ctx);
    if (failed.has(`charges.${i}`)) return;
    if (c.type === 'fixed') return;
    for (const key of ['window', 'outside_window'] as const) {
      const w = c.filter?.[key];
      if (windowsOk && w !== undefined && !Object.hasOwn(p.windows, w))
        ctx.addIssue({
          code: 'custom',
          path: ['charges', i, 'filter', key],
          message: `unknown window ${w}; define it under windows`,
        });
    }
    if (c.type === 'usage' && c.included?.pooled && c.scope !== 'account')
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, 'included', 'pooled'],
        message: 'a pooled allowance is shared by the account: set scope: account',
      });
    if (c.type === 'usage') checkUsageUnits(c, i, ctx);
    else checkPeakUnits(c, i, ctx);
    checkTierOrder(c, i, units, ctx);
  });
}

/** An item's id, when it parsed as a string, must not repeat one already in `seen`. */
function checkUniqueId(
  item: unknown,
  seen: Set<string>,
  path: (string | number)[],
  what: string,
  ctx: z.RefinementCtx,
): void {
  const id: unknown = (item as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') return;
  if (seen.has(id))
    ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `duplicate ${what} id ${id}` });
  seen.add(id);
}

function checkPlanQuotas(quotas: QuotaDoc[], failed: Set<string>, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  quotas.forEach((q, i) => {
    checkUniqueId(q, seen, ['quotas', i], 'quota', ctx);
    if (!failed.has(`quotas.${i}`)) checkQuota(q, ['quotas', i], ctx);
  });
}

function quantitiesOf(
  c: UsageCharge | PeakCharge,
): Array<{ path: (string | number)[]; q: Quantity }> {
  const out: Array<{ path: (string | number)[]; q: Quantity }> = [];
  const pr = c.pricing;
  if (pr.model === 'graduated' || pr.model === 'volume')
    pr.tiers.forEach(
      (t, j) => t.up_to && out.push({ path: ['pricing', 'tiers', j, 'up_to'], q: t.up_to }),
    );
  if (pr.model === 'package') out.push({ path: ['pricing', 'size'], q: pr.size });
  if (c.type === 'usage') {
    if (c.included) out.push({ path: ['included', 'quantity'], q: c.included.quantity });
    if (c.rounding?.per_record)
      out.push({
        path: ['rounding', 'per_record', 'increment'],
        q: c.rounding.per_record.increment,
      });
    if (c.rounding?.per_period)
      out.push({
        path: ['rounding', 'per_period', 'increment'],
        q: c.rounding.per_period.increment,
      });
  } else if (c.committed) out.push({ path: ['committed'], q: c.committed });
  return out;
}

function checkUsageUnits(c: UsageCharge, i: number, ctx: z.RefinementCtx): void {
  const bytes = !c.meter.startsWith('meters.');
  if (!bytes && c.unit !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['charges', i, 'unit'],
      message: `${c.meter} is a count; it takes no byte unit`,
    });
  for (const { path, q } of quantitiesOf(c)) {
    if (q.unit === undefined) continue;
    if (!bytes || !(BYTE_UNITS as readonly string[]).includes(q.unit))
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, ...path],
        message: bytes
          ? `${q.unit} is not a byte unit`
          : `${c.meter} is a count; write a plain number`,
      });
  }
  if (c.pricing.model === 'package' && new Decimal(c.pricing.size.value).isZero())
    ctx.addIssue({
      code: 'custom',
      path: ['charges', i, 'pricing', 'size'],
      message: 'package size must be above 0',
    });
  for (const key of ['per_record', 'per_period'] as const) {
    const r = c.rounding?.[key];
    if (r && new Decimal(r.increment.value).isZero())
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, 'rounding', key, 'increment'],
        message: 'a rounding increment must be above 0',
      });
  }
}

function checkPeakUnits(c: PeakCharge, i: number, ctx: z.RefinementCtx): void {
  for (const { path, q } of quantitiesOf(c))
    if (q.unit !== undefined && !(RATE_UNITS as readonly string[]).includes(q.unit))
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, ...path],
        message: `${q.unit} is not a rate unit (bps, kbps, Mbps, Gbps)`,
      });
  if (c.pricing.model === 'package' && new Decimal(c.pricing.size.value).isZero())
    ctx.addIssue({
      code: 'custom',
      path: ['charges', i, 'pricing', 'size'],
      message: 'package size must be above 0',
    });
}

/** Tier bounds must rise, compared in base units with the plan's own units. */
function checkTierOrder(
  c: UsageCharge | PeakCharge,
  i: number,
  units: 'decimal' | 'binary',
  ctx: z.RefinementCtx,
): void {
  const pr = c.pricing;
  if (pr.model !== 'graduated' && pr.model !== 'volume') return;
  const chargeUnit = c.type === 'usage' ? (c.unit ?? 'B') : c.unit;
  let prev: Decimal | undefined;
  pr.tiers.forEach((t, j) => {
    if (!t.up_to) return;
    const v = new Decimal(t.up_to.value).times(unitFactor(t.up_to.unit ?? chargeUnit, units));
    if (prev && !v.greaterThan(prev))
      ctx.addIssue({
        code: 'custom',
        path: ['charges', i, 'pricing', 'tiers', j, 'up_to'],
        message: 'tier bounds must increase',
      });
    prev = v;
  });
}
