// Late usage for a period whose invoice was already issued: the issued invoice is never
// rewritten; the difference is billed as adjustment lines on the next invoice. Pure.
//
// For each issued period Q, the adjustment owed now is, per (charge, device):
//   re-rated(Q) − issued(Q) − adjustments for Q already carried by later issued invoices.
// Comparing per (charge, device) rather than per line keeps tier splits and re-numbering out
// of it; a zero difference gives no line, so re-reading never bills anything twice.
import { Dec, ZERO, allocate, money, sum } from './money.ts';
import { currencyDecimals } from './currency.ts';
import type { Invoice, InvoiceLine } from './types.ts';

const keyOf = (l: InvoiceLine) => `${l.charge}\u0000${l.device ?? ''}`;

function totals(lines: InvoiceLine[]): Map<string, { amount: Dec; line: InvoiceLine }> {
  const out = new Map<string, { amount: Dec; line: InvoiceLine }>();
  for (const l of lines) {
    const k = keyOf(l);
    const cur = out.get(k);
    if (cur) cur.amount = cur.amount.plus(l.amount);
    else out.set(k, { amount: new Dec(l.amount), line: l });
  }
  return out;
}

/**
 * Adjustment lines (not yet numbered) for the issued invoice of one period.
 * `carried`: adjustment lines for that period in invoices issued since (their `adjusts` is
 * `issued.period`).
 */
export function adjustmentLines(
  issued: Invoice,
  rerated: Invoice,
  carried: InvoiceLine[],
): Array<Omit<InvoiceLine, 'line'>> {
  const before = totals(issued.lines.filter((l) => l.kind !== 'adjustment'));
  const already = totals(carried);
  const now = totals(rerated.lines.filter((l) => l.kind !== 'adjustment'));
  const decimals = currencyDecimals(issued.currency);
  const keys = [...new Set([...now.keys(), ...before.keys(), ...already.keys()])].sort();
  const out: Array<Omit<InvoiceLine, 'line'>> = [];
  for (const k of keys) {
    const delta = (now.get(k)?.amount ?? ZERO)
      .minus(before.get(k)?.amount ?? ZERO)
      .minus(already.get(k)?.amount ?? ZERO);
    if (delta.isZero()) continue;
    const ref = now.get(k)?.line ?? before.get(k)?.line ?? already.get(k)?.line;
    if (!ref) continue;
    out.push({
      kind: 'adjustment',
      charge: ref.charge,
      description: `Late usage for ${issued.period}: ${ref.description.replace(/^Late usage for \d{4}-\d{2}: /, '')}`,
      ...(ref.device !== undefined ? { device: ref.device } : {}),
      plan: ref.plan,
      plan_version: ref.plan_version,
      from: issued.period_start,
      to: issued.period_end,
      raw_quantity: '1',
      rated_quantity: '1',
      unit: 'adjustment',
      unit_price: money(delta, decimals),
      amount: money(delta, decimals),
      adjusts: issued.period,
    });
  }
  return out;
}

/**
 * The invoice with adjustment lines appended: numbered after its own lines, in the total,
 * in the devices' amounts; account-level adjustments are allocated over the invoice's devices
 * by bytes like its other account-level lines.
 */
export function withAdjustments(
  invoice: Invoice,
  adjustments: Array<Omit<InvoiceLine, 'line'>>,
): Invoice {
  if (adjustments.length === 0) return invoice;
  const decimals = currencyDecimals(invoice.currency);
  const first = invoice.lines.length + 1;
  const added: InvoiceLine[] = adjustments.map((a, i) => ({ line: first + i, ...a }));
  const lines = [...invoice.lines, ...added];
  const allocations = [...invoice.allocations];
  const devices = invoice.devices.map((d) => ({ ...d }));
  const sorted = [...devices].sort((a, b) => (a.device < b.device ? -1 : 1));
  for (const l of added) {
    if (l.device !== undefined || sorted.length === 0) continue;
    const parts = allocate(
      new Dec(l.amount),
      sorted.map((d) => new Dec(d.total)),
      decimals,
    );
    sorted.forEach((d, j) =>
      allocations.push({
        line: l.line,
        device: d.device,
        amount: money(parts[j] ?? ZERO, decimals),
      }),
    );
  }
  for (const d of devices) {
    const own = added.filter((l) => l.device === d.device).map((l) => new Dec(l.amount));
    const shared = allocations
      .filter((a) => a.device === d.device && a.line >= first)
      .map((a) => new Dec(a.amount));
    d.amount = money(new Dec(d.amount).plus(sum([...own, ...shared])), decimals);
  }
  return {
    ...invoice,
    lines,
    devices,
    allocations,
    total: money(sum(lines.map((l) => new Dec(l.amount))), decimals),
    ...(invoice.projected_total !== undefined
      ? {
          projected_total: money(
            new Dec(invoice.projected_total).plus(sum(added.map((l) => new Dec(l.amount)))),
            decimals,
          ),
        }
      : {}),
  };
}
