// The rating engine: one account, one period, its devices' 5-minute rollups → an invoice.
// Pure and deterministic: same input ⇒ byte-identical JSON.
//
// Order of work (docs/rating.md states the same rules for users):
// 1. Each device's segments are grouped by plan version; a device is rated under each version
//    for the part of the period it covers (tiers apply within a version, allowances and fees
//    are prorated by the days of that part).
// 2. Usage charges: quantities from samples (or raw records when rounding per record) that
//    pass the charge's filter → unit → minus allowance → period rounding → price model.
// 3. Peak charges: the 5-minute series of the device (or the account's summed series) over
//    the whole version span → percentile / max / daily peak average → committed rate → price.
// 4. Fixed fees, then minimums and caps (device first, then account).
// 5. Every line rounded to the currency's minor unit; total = sum of rounded lines.
//
// One file per stage: aggregate.ts groups the devices by plan version and sums their samples
// once; lines.ts (with lines-*.ts, one per charge kind) prices each group into draft lines
// (exact amounts); this file rounds them into the invoice, allocates account-level lines to
// devices and summarises each device.
import { Dec, ZERO, allocate, money, plain, roundTo, sum } from './money.ts';
import { LocalClock, assignedDays } from './period.ts';
import { currencyDecimals } from './currency.ts';
import { unitFactor, type Plan } from './plan.ts';
import type {
  DeviceCharges,
  DeviceSummary,
  Invoice,
  InvoiceLine,
  RatingInput,
  Sample,
} from './types.ts';
import { buildGroups, cmp, union, type Group, type Member, type Span } from './aggregate.ts';
import { GroupContext, iso, rateGroups, type DraftLine } from './lines.ts';
import { chargeUnit, unitLabel } from './lines-usage.ts';

export { RatingError } from './aggregate.ts';

export function rateAccount(input: RatingInput): Invoice {
  const { account, period } = input;
  const open = input.asOfMs !== undefined && input.asOfMs < period.endMs;
  const decimals = currencyDecimals(account.currency);
  const clock = new LocalClock(account.timeZone);
  const groups = buildGroups(input, clock);

  const draft = rateGroups(input, groups, clock, { project: false });
  const lines: InvoiceLine[] = draft.map((d, i) =>
    orderLine(i + 1, d, money(roundTo(d.exact, decimals, planOf(d).amount_rounding), decimals)),
  );
  const total = sum(lines.map((l) => new Dec(l.amount)));

  const allocations: Invoice['allocations'] = [];
  draft.forEach((d, i) => {
    const line = lines[i];
    if (!line || d.device !== undefined) return;
    const members = [...d.group.members.values()].sort((a, b) =>
      cmp(a.device.deviceId, b.device.deviceId),
    );
    const parts = allocate(
      new Dec(line.amount),
      members.map((m) => new Dec(m.bytes)),
      decimals,
    );
    members.forEach((m, j) =>
      allocations.push({
        line: line.line,
        device: m.device.deviceId,
        amount: money(parts[j] ?? ZERO, decimals),
      }),
    );
  });

  const devices = summarize(input, groups, lines, allocations, decimals, clock);
  const invoice: Invoice = {
    account: account.id,
    period: period.label,
    currency: account.currency,
    time_zone: account.timeZone,
    period_start: iso(period.startMs),
    period_end: iso(period.endMs),
    status: open ? 'open' : 'closed',
    ...(open ? { as_of: iso(input.asOfMs ?? period.endMs) } : {}),
    plans: [...groups.values()].map((g) => {
      const spans = allSpans(g);
      return {
        plan: g.version.id,
        version: g.version.version,
        from: iso(spans[0]?.[0] ?? period.startMs),
        to: iso(Math.max(...spans.map((s) => s[1]))),
      };
    }),
    lines,
    devices,
    active_devices: devices.filter((d) => d.active).length,
    allocations,
    total: money(total, decimals),
  };
  if (open) {
    const projected = rateGroups(input, groups, clock, { project: true });
    invoice.projected_total = money(
      sum(projected.map((d) => roundTo(d.exact, decimals, planOf(d).amount_rounding))),
      decimals,
    );
    invoice.allowances = allowances(groups, input);
  }
  return invoice;
}

const planOf = (d: { group: Group }): Plan => d.group.version.plan;

/** Fixed key order, so the JSON of a line reads the same way every time. */
function orderLine(line: number, d: DraftLine, amount: string): InvoiceLine {
  const out: InvoiceLine = {
    line,
    kind: d.kind,
    charge: d.charge,
    description: d.description,
    ...(d.device !== undefined ? { device: d.device } : {}),
    plan: d.plan,
    plan_version: d.plan_version,
    from: d.from,
    to: d.to,
    ...(d.meter !== undefined ? { meter: d.meter } : {}),
    ...(d.tier !== undefined ? { tier: d.tier } : {}),
    raw_quantity: d.raw_quantity,
    ...(d.included !== undefined ? { included: d.included } : {}),
    rated_quantity: d.rated_quantity,
    unit: d.unit,
    unit_price: d.unit_price,
    amount,
    ...(d.prorated_days !== undefined ? { prorated_days: d.prorated_days } : {}),
    ...(d.peak !== undefined ? { peak: d.peak } : {}),
  };
  return out;
}

function allSpans(g: Group): Span[] {
  return union([...g.accountSpans, ...[...g.members.values()].flatMap((m) => m.spans)]);
}

function allowances(
  groups: Map<string, Group>,
  input: RatingInput,
): NonNullable<Invoice['allowances']> {
  const out: NonNullable<Invoice['allowances']> = [];
  const clock = new LocalClock(input.account.timeZone);
  for (const g of groups.values()) {
    const plan = g.version.plan;
    const ctx = new GroupContext(input, g, clock, { project: false });
    const members = [...g.members.values()].sort((a, b) =>
      cmp(a.device.deviceId, b.device.deviceId),
    );
    for (const c of plan.charges) {
      if (c.type !== 'usage' || !c.included) continue;
      const unit = chargeUnit(c);
      const f = unitFactor(unit, plan.units);
      const used = (ms: Member[]) =>
        plain(sum(ms.map((m) => m.usage.get(c.id) ?? ZERO)).dividedBy(f));
      if (c.scope === 'device')
        for (const m of members)
          out.push({
            charge: c.id,
            device: m.device.deviceId,
            used: used([m]),
            included: plain(ctx.allowance(c, unit, [m.spans])),
            unit: unitLabel(c, unit),
          });
      else
        out.push({
          charge: c.id,
          used: used(members),
          included: plain(
            ctx.allowance(
              c,
              unit,
              c.included.pooled
                ? members.filter((m) => m.active).map((m) => m.spans)
                : [g.accountSpans],
            ),
          ),
          unit: unitLabel(c, unit),
        });
    }
  }
  return out;
}

function summarize(
  input: RatingInput,
  groups: Map<string, Group>,
  lines: InvoiceLine[],
  allocations: Invoice['allocations'],
  decimals: number,
  clock: LocalClock,
): DeviceSummary[] {
  const period = input.period;
  const open = input.asOfMs !== undefined && input.asOfMs < period.endMs;
  const asOf = input.asOfMs ?? period.endMs;
  // Amounts by device once, not a scan of every line per device (thousands of each).
  const amounts = new Map<string, Dec[]>();
  const add = (device: string | undefined, amount: string) => {
    if (device === undefined) return;
    const list = amounts.get(device);
    if (list) list.push(new Dec(amount));
    else amounts.set(device, [new Dec(amount)]);
  };
  for (const l of lines) add(l.device, l.amount);
  for (const a of allocations) add(a.device, a.amount);
  return input.devices
    .filter((d) => d.segments.length > 0)
    .map((d) => {
      const members = [...groups.values()].flatMap((g) => {
        const m = g.members.get(d.deviceId);
        return m ? [m] : [];
      });
      const inSpan = (t: number) => d.segments.some((s) => t >= s.fromMs && t < s.toMs);
      let up = 0;
      let down = 0;
      let records = 0;
      for (const s of d.samples as Sample[])
        if (inSpan(s.bucketMs)) {
          up += s.up;
          down += s.down;
          records += s.records;
        }
      return {
        device: d.deviceId,
        active: members.some((m) => m.active),
        assigned_days: d.segments.reduce(
          (n, s) =>
            n +
            assignedDays(s.fromMs, open && s.toMs >= asOf ? period.endMs : s.toMs, clock.timeZone),
          0,
        ),
        up,
        down,
        total: up + down,
        records,
        amount: money(sum(amounts.get(d.deviceId) ?? []), decimals),
      };
    })
    .sort((a, b) => cmp(a.device, b.device));
}

/** One device's view of an invoice: its own lines and its share of the account-level lines. */
export function deviceCharges(invoice: Invoice, deviceId: string): DeviceCharges {
  const lines = invoice.lines.filter((l) => l.device === deviceId);
  const byLine = new Map(invoice.lines.map((l) => [l.line, l]));
  const shares = invoice.allocations
    .filter((a) => a.device === deviceId)
    .map((a) => ({ line: a.line, charge: byLine.get(a.line)?.charge ?? '', amount: a.amount }));
  const decimals = currencyDecimals(invoice.currency);
  return {
    device: deviceId,
    account: invoice.account,
    period: invoice.period,
    currency: invoice.currency,
    status: invoice.status,
    lines,
    shares,
    total: money(
      sum([...lines.map((l) => new Dec(l.amount)), ...shares.map((s) => new Dec(s.amount))]),
      decimals,
    ),
  };
}
