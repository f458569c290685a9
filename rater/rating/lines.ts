// Pricing, the second stage of rating: each plan-version group's aggregated usage (aggregate.ts)
// becomes draft invoice lines, charge by charge (usage, peak, fixed), then minimums and caps.
// Draft lines keep their exact amounts; engine.ts rounds them, numbers them and builds the
// invoice. Separate from aggregation because it never reads samples: run once for the invoice
// and once more for an open period's projection, over the same sums.
//
// This file holds the loop over groups and the GroupContext that every kind prices with (days
// credited, allowances, projection, the fields all lines share); each kind's lines are in its
// own file: lines-usage.ts, lines-peak.ts, lines-fixed.ts, lines-limits.ts.
import { Dec, ZERO, plain, roundTo, sum } from './money.ts';
import { assignedDays, type LocalClock } from './period.ts';
import { unitFactor, type Plan, type Quantity, type UsageCharge } from './plan.ts';
import type { PricedPart } from './pricing.ts';
import type { InvoiceLine, RatingInput } from './types.ts';
import { byTime, cmp, type Group, type Member, type Span } from './aggregate.ts';
import { fixedLines } from './lines-fixed.ts';
import { limitLines } from './lines-limits.ts';
import { peakLines } from './lines-peak.ts';
import { usageLines } from './lines-usage.ts';

export interface DraftLine extends Omit<InvoiceLine, 'line' | 'amount'> {
  exact: Dec;
  group: Group;
}

export interface RunOptions {
  /**
   * Project an open period to its end: each device's usage is scaled by the time its
   * assignment will have run by the period end over the time it has run so far (a device that
   * joined mid-month is not diluted over the whole month; one that already left is not scaled).
   */
  project: boolean;
}

export const iso = (ms: number) => new Date(ms).toISOString();

export function rateGroups(
  input: RatingInput,
  groups: Map<string, Group>,
  clock: LocalClock,
  o: RunOptions,
): DraftLine[] {
  const out: DraftLine[] = [];
  for (const g of groups.values()) {
    const plan = g.version.plan;
    const members = [...g.members.values()].sort((a, b) =>
      cmp(a.device.deviceId, b.device.deviceId),
    );
    const ctx = new GroupContext(input, g, clock, o);
    const firstOfGroup = out.length;
    for (const c of plan.charges) {
      if (c.type === 'usage') out.push(...usageLines(ctx, c, members));
      else if (c.type === 'peak') out.push(...peakLines(ctx, c, members));
      else out.push(...fixedLines(ctx, c, members));
    }
    out.push(...limitLines(ctx, out.slice(firstOfGroup), members));
  }
  return out;
}

/** One group's plan, period and spans, and the helpers every charge kind prices with. */
export class GroupContext {
  readonly period;
  private readonly open: boolean;
  constructor(
    readonly input: RatingInput,
    readonly g: Group,
    readonly clock: LocalClock,
    private readonly o: RunOptions,
  ) {
    this.period = input.period;
    this.open = input.asOfMs !== undefined && input.asOfMs < input.period.endMs;
  }

  get plan(): Plan {
    return this.g.version.plan;
  }

  /** Days credited to spans; in an open period an assignment still running counts to period end. */
  days(spans: Span[]): number {
    const asOf = this.input.asOfMs ?? this.period.endMs;
    return spans.reduce((n, [from, to]) => {
      const end = this.open && to >= asOf ? this.period.endMs : to;
      return n + assignedDays(from, end, this.clock.timeZone);
    }, 0);
  }

  share(spans: Span[]): Dec {
    return new Dec(this.days(spans)).dividedBy(this.period.days);
  }

  base(
    spans: Span[],
    extra: Partial<DraftLine> & Pick<DraftLine, 'kind' | 'charge' | 'description'>,
  ): Omit<DraftLine, 'raw_quantity' | 'rated_quantity' | 'unit' | 'unit_price' | 'exact'> {
    const sorted = [...spans].sort(byTime);
    return {
      plan: this.g.version.id,
      plan_version: this.g.version.version,
      from: iso(sorted[0]?.[0] ?? this.period.startMs),
      to: iso(Math.max(...sorted.map((s) => s[1]))),
      group: this.g,
      ...extra,
    };
  }

  /**
   * A device's (or the account's) allowance for `spans`, in the charge's unit. Prorated
   * allowances are cut to whole base units (bytes; counts to 6 decimals), rounding down, so
   * they print as finite decimals and never grant a fraction of a byte.
   */
  allowance(c: UsageCharge, unit: string, spansList: Span[][]): Dec {
    const f = unitFactor(unit, this.plan.units);
    const inc = c.included;
    if (!inc) return ZERO;
    const full = this.toUnitFn(unit)(inc.quantity);
    if (!inc.prorate) return full.times(spansList.length);
    // A pool is the sum of its devices' exact shares, cut once.
    const baseUnits = sum(spansList.map((spans) => full.times(f).times(this.share(spans))));
    const places = c.meter.startsWith('meters.') ? 6 : 0;
    return roundTo(baseUnits, places, 'down').dividedBy(f);
  }

  toUnitFn(unit: string) {
    const f = unitFactor(unit, this.plan.units);
    return (q: Quantity) =>
      new Dec(q.value).times(unitFactor(q.unit ?? unit, this.plan.units)).dividedBy(f);
  }

  /**
   * A member's quantity as projected to the period end (RunOptions.project). Multiplied
   * first, divided last, so a steady pace projects to an exact figure rather than one that a
   * 60-digit quotient pushes over a package or increment boundary.
   */
  projected(m: Member, q: Dec): Dec {
    if (!this.o.project || q.isZero()) return q;
    const asOf = this.input.asOfMs ?? this.period.endMs;
    if (!m.spans.some(([, to]) => to >= asOf)) return q;
    let sofar = 0;
    let full = 0;
    for (const [from, to] of m.spans) {
      sofar += to - from;
      full += (to >= asOf ? this.period.endMs : to) - from;
    }
    return sofar > 0 ? q.times(full).dividedBy(sofar) : q;
  }

  priced(
    parts: PricedPart[],
    base: Omit<DraftLine, 'rated_quantity' | 'unit_price' | 'exact'>,
  ): DraftLine[] {
    return parts.map((p) => ({
      ...base,
      ...(p.tier !== undefined ? { tier: p.tier } : {}),
      rated_quantity: plain(p.quantity),
      unit: p.unit ?? base.unit,
      unit_price: p.unitPrice,
      exact: p.amount,
    }));
  }
}
