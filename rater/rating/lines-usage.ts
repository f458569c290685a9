// Usage charges' lines: a group's summed quantity of a meter, per device or for the account,
// less its allowance (per device, per account or pooled), rounded per period and priced. Apart
// from lines.ts so each charge kind reads on its own; the allowance itself stays on
// GroupContext because engine.ts reports it for open periods too.
import { Dec, ZERO, plain, roundToIncrement, sum } from './money.ts';
import { unitFactor, type UsageCharge } from './plan.ts';
import { price } from './pricing.ts';
import type { Member, Span } from './aggregate.ts';
import type { DraftLine, GroupContext } from './lines.ts';

export function usageLines(ctx: GroupContext, c: UsageCharge, members: Member[]): DraftLine[] {
  const unit = chargeUnit(c);
  const toUnit = ctx.toUnitFn(unit);
  const description =
    c.description ??
    `${c.meter === 'total' ? 'Data' : c.meter === 'up' ? 'Data up' : c.meter === 'down' ? 'Data down' : c.meter.slice(7)} (${c.id})`;
  const rate = (
    raw: Dec,
    measured: Dec,
    included: Dec | undefined,
    spans: Span[],
    device?: string,
  ): DraftLine[] => {
    let q = raw.dividedBy(unitFactor(unit, ctx.plan.units));
    if (included) q = Dec.max(ZERO, q.minus(included));
    const pr = c.rounding?.per_period;
    if (pr) q = roundToIncrement(q, toUnit(pr.increment), pr.mode);
    return ctx.priced(price(q, c.pricing, unit, toUnit), {
      ...ctx.base(spans, { kind: 'usage', charge: c.id, description, meter: c.meter }),
      ...(device !== undefined ? { device } : {}),
      raw_quantity: plain(measured),
      unit: unitLabel(c, unit),
      ...(included ? { included: plain(included) } : {}),
      ...(c.included?.prorate ? { prorated_days: ctx.days(spans) } : {}),
    });
  };
  const allowance = (spansList: Span[][]) =>
    c.included ? ctx.allowance(c, unit, spansList) : undefined;

  if (c.scope === 'device') {
    return members.flatMap((m) => {
      const raw = ctx.projected(m, m.usage.get(c.id) ?? ZERO);
      const measured = ctx.projected(m, m.measured.get(c.id) ?? ZERO);
      return raw.isZero() && measured.isZero()
        ? []
        : rate(raw, measured, allowance([m.spans]), m.spans, m.device.deviceId);
    });
  }
  const raw = sum(members.map((m) => ctx.projected(m, m.usage.get(c.id) ?? ZERO)));
  const measured = sum(members.map((m) => ctx.projected(m, m.measured.get(c.id) ?? ZERO)));
  const included = c.included?.pooled
    ? allowance(members.filter((m) => m.active).map((m) => m.spans))
    : allowance([ctx.g.accountSpans]);
  return rate(raw, measured, included, ctx.g.accountSpans);
}

/** The unit of a usage charge's quantities: its byte unit, or 1 for count meters. */
export function chargeUnit(c: UsageCharge): string {
  return c.meter.startsWith('meters.') ? '1' : (c.unit ?? 'B');
}

/** The unit as invoices print it: a count meter's quantities are in its own name ("sms"). */
export function unitLabel(c: UsageCharge, unit: string): string {
  return unit === '1' ? c.meter.slice('meters.'.length) : unit;
}
