// Minimums and caps, the last lines of each group. Apart from the charge kinds' files because
// they price no charge: they read the lines the charges produced, after all of them.
import { currencyDecimals } from './currency.ts';
import { Dec, plain, roundTo, sum } from './money.ts';
import type { Member, Span } from './aggregate.ts';
import type { DraftLine, GroupContext } from './lines.ts';

/** Minimums and caps on usage and peak lines (fixed fees excluded); device first, then account. */
export function limitLines(
  ctx: GroupContext,
  groupLines: DraftLine[],
  members: Member[],
): DraftLine[] {
  const out: DraftLine[] = [];
  // Compared in money as it will print: rounded lines against a rounded (prorated) limit, so
  // a top-up brings the printed lines exactly to the limit.
  const decimals = currencyDecimals(ctx.input.account.currency);
  const r = (v: Dec) => roundTo(v, decimals, ctx.plan.amount_rounding);
  const metered = (l: DraftLine) => l.kind === 'usage' || l.kind === 'peak';
  const adjust = (
    kind: 'minimum' | 'cap',
    limit: Dec,
    subtotal: Dec,
    spans: Span[],
    device?: string,
  ) => {
    const delta = kind === 'minimum' ? limit.minus(subtotal) : subtotal.minus(limit).negated();
    if (kind === 'minimum' ? !delta.greaterThan(0) : !delta.lessThan(0)) return;
    out.push({
      ...ctx.base(spans, {
        kind,
        charge: kind,
        description:
          kind === 'minimum'
            ? `Minimum charge top-up (${plain(limit)})`
            : `Cap credit (${plain(limit)})`,
      }),
      ...(device !== undefined ? { device } : {}),
      raw_quantity: plain(subtotal),
      rated_quantity: '1',
      unit: 'adjustment',
      unit_price: plain(delta),
      exact: delta,
      prorated_days: ctx.days(spans),
    });
  };
  // Each device's metered lines, gathered once (an account has thousands of devices).
  const byDevice = new Map<string, Dec[]>();
  for (const x of groupLines)
    if (metered(x) && x.device !== undefined) {
      const list = byDevice.get(x.device);
      if (list) list.push(r(x.exact));
      else byDevice.set(x.device, [r(x.exact)]);
    }
  for (const kind of ['minimum', 'cap'] as const)
    for (const l of ctx.plan[kind].filter((x) => x.per === 'device'))
      for (const m of members) {
        if (kind === 'minimum' && !m.active) continue;
        const subtotal = sum(byDevice.get(m.device.deviceId) ?? []);
        adjust(
          kind,
          r(new Dec(l.amount).times(ctx.share(m.spans))),
          subtotal,
          m.spans,
          m.device.deviceId,
        );
      }
  for (const kind of ['minimum', 'cap'] as const)
    for (const l of ctx.plan[kind].filter((x) => x.per === 'account')) {
      if (ctx.g.ownSpans.length === 0) continue;
      const all = [...groupLines, ...out];
      const subtotal = sum(
        all
          .filter((x) => metered(x) || x.kind === 'minimum' || x.kind === 'cap')
          .map((x) => r(x.exact)),
      );
      adjust(kind, r(new Dec(l.amount).times(ctx.share(ctx.g.ownSpans))), subtotal, ctx.g.ownSpans);
    }
  return out;
}
