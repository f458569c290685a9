// Fixed fees' lines: a fee per account or per device (active or assigned), prorated by the
// days credited. Apart from lines.ts so each charge kind reads on its own; no quantity is
// measured here, so nothing is projected or priced by a price model.
import { Dec } from './money.ts';
import type { FixedCharge } from './plan.ts';
import type { Member, Span } from './aggregate.ts';
import type { DraftLine, GroupContext } from './lines.ts';

export function fixedLines(ctx: GroupContext, c: FixedCharge, members: Member[]): DraftLine[] {
  const amount = new Dec(c.amount);
  const description =
    c.description ?? (c.per === 'device' ? `Fee per device (${c.id})` : `Account fee (${c.id})`);
  // Prorated: the quantity is the days credited, the price is per full month of
  // `period.days` days: amount = price × days / period days.
  const line = (spans: Span[], device?: string): DraftLine => {
    const days = ctx.days(spans);
    if (!c.prorate)
      return {
        ...ctx.base(spans, { kind: 'fixed', charge: c.id, description }),
        ...(device !== undefined ? { device } : {}),
        raw_quantity: '1',
        rated_quantity: '1',
        unit: 'month',
        unit_price: c.amount,
        exact: amount,
      };
    return {
      ...ctx.base(spans, {
        kind: 'fixed',
        charge: c.id,
        description: `${description}, ${days} of ${ctx.period.days} days`,
      }),
      ...(device !== undefined ? { device } : {}),
      raw_quantity: String(days),
      rated_quantity: String(days),
      unit: `day (of ${ctx.period.days})`,
      unit_price: c.amount,
      exact: amount.times(days).dividedBy(ctx.period.days),
      prorated_days: days,
    };
  };
  if (c.per === 'account') return ctx.g.ownSpans.length > 0 ? [line(ctx.g.ownSpans)] : [];
  return members
    .filter((m) => c.devices === 'assigned' || m.active)
    .map((m) => line(m.spans, m.device.deviceId));
}
