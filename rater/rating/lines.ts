// Pricing, the second stage of rating: each plan-version group's aggregated usage (aggregate.ts)
// becomes draft invoice lines, charge by charge (usage, peak, fixed), then minimums and caps.
// Draft lines keep their exact amounts; engine.ts rounds them, numbers them and builds the
// invoice. Separate from aggregation because it never reads samples: run once for the invoice
// and once more for an open period's projection, over the same sums.
import { Dec, ZERO, plain, roundTo, roundToIncrement, sum } from './money.ts';
import { assignedDays, expectedSamples, type LocalClock } from './period.ts';
import { dailyPeakAverage, descending, percentileOfTop, rateOf } from './peak.ts';
import {
  currencyDecimals,
  unitFactor,
  type FixedCharge,
  type PeakCharge,
  type Plan,
  type Quantity,
  type UsageCharge,
} from './plan.ts';
import { price, type PricedPart } from './pricing.ts';
import type { InvoiceLine, PeakFigure, PeakSummary, RatingInput } from './types.ts';
import { RatingError, byTime, cmp, type Group, type Member, type Span } from './aggregate.ts';

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

/** A peak charge's 5-minute series: bucket → [in, out] bytes. */
type Series = Map<number, [number, number]>;
type Direction = 'in' | 'out' | 'sum';

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
      if (c.type === 'usage') out.push(...ctx.usage(c, members));
      else if (c.type === 'peak') out.push(...ctx.peak(c, members));
      else out.push(...ctx.fixed(c, members));
    }
    out.push(...ctx.limits(out.slice(firstOfGroup), members));
  }
  return out;
}

export class GroupContext {
  private readonly period;
  private readonly open: boolean;
  constructor(
    private readonly input: RatingInput,
    private readonly g: Group,
    private readonly clock: LocalClock,
    private readonly o: RunOptions,
  ) {
    this.period = input.period;
    this.open = input.asOfMs !== undefined && input.asOfMs < input.period.endMs;
  }

  private get plan(): Plan {
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

  private share(spans: Span[]): Dec {
    return new Dec(this.days(spans)).dividedBy(this.period.days);
  }

  private base(
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

  private toUnitFn(unit: string) {
    const f = unitFactor(unit, this.plan.units);
    return (q: Quantity) =>
      new Dec(q.value).times(unitFactor(q.unit ?? unit, this.plan.units)).dividedBy(f);
  }

  /**
   * A member's quantity as projected to the period end (RunOptions.project). Multiplied
   * first, divided last, so a steady pace projects to an exact figure rather than one that a
   * 60-digit quotient pushes over a package or increment boundary.
   */
  private projected(m: Member, q: Dec): Dec {
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

  usage(c: UsageCharge, members: Member[]): DraftLine[] {
    const unit = chargeUnit(c);
    const toUnit = this.toUnitFn(unit);
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
      let q = raw.dividedBy(unitFactor(unit, this.plan.units));
      if (included) q = Dec.max(ZERO, q.minus(included));
      const pr = c.rounding?.per_period;
      if (pr) q = roundToIncrement(q, toUnit(pr.increment), pr.mode);
      return this.priced(price(q, c.pricing, unit, toUnit), {
        ...this.base(spans, { kind: 'usage', charge: c.id, description, meter: c.meter }),
        ...(device !== undefined ? { device } : {}),
        raw_quantity: plain(measured),
        unit: unitLabel(c, unit),
        ...(included ? { included: plain(included) } : {}),
        ...(c.included?.prorate ? { prorated_days: this.days(spans) } : {}),
      });
    };
    const allowance = (spansList: Span[][]) =>
      c.included ? this.allowance(c, unit, spansList) : undefined;

    if (c.scope === 'device') {
      return members.flatMap((m) => {
        const raw = this.projected(m, m.usage.get(c.id) ?? ZERO);
        const measured = this.projected(m, m.measured.get(c.id) ?? ZERO);
        return raw.isZero() && measured.isZero()
          ? []
          : rate(raw, measured, allowance([m.spans]), m.spans, m.device.deviceId);
      });
    }
    const raw = sum(members.map((m) => this.projected(m, m.usage.get(c.id) ?? ZERO)));
    const measured = sum(members.map((m) => this.projected(m, m.measured.get(c.id) ?? ZERO)));
    const included = c.included?.pooled
      ? allowance(members.filter((m) => m.active).map((m) => m.spans))
      : allowance([this.g.accountSpans]);
    return rate(raw, measured, included, this.g.accountSpans);
  }

  peak(c: PeakCharge, members: Member[]): DraftLine[] {
    const unit = c.unit;
    const toUnit = this.toUnitFn(unit);
    const description =
      c.description ??
      `${c.method === 'percentile' ? `${c.percentile}th percentile` : c.method === 'max' ? 'Peak rate' : 'Average daily peak'} (${c.id})`;
    const rate = (source: Series | PeakSummary, spans: Span[], device?: string): DraftLine[] => {
      const { figure: fig, rate: exactRate } = this.figure(c, source, spans);
      let q = roundTo(
        exactRate.dividedBy(unitFactor(unit, 'decimal')),
        c.rate_decimals,
        c.rate_rounding,
      );
      const committed = c.committed ? toUnit(c.committed) : undefined;
      if (committed) q = Dec.max(ZERO, q.minus(committed));
      return this.priced(price(q, c.pricing, unit, toUnit), {
        ...this.base(spans, { kind: 'peak', charge: c.id, description, meter: c.direction }),
        ...(device !== undefined ? { device } : {}),
        raw_quantity: fig.rate_bps,
        unit,
        ...(committed ? { included: plain(committed) } : {}),
        peak: fig,
      });
    };
    // Summarised by storage (RatingInput.peaks), or built from the samples by aggregate.ts.
    const summarised = this.input.peaks !== undefined;
    if (c.scope === 'device')
      return members.flatMap((m) => {
        const source = summarised ? m.peaks.get(c.id) : m.series.get(c.id);
        const observed = source instanceof Map ? source.size : (source?.observed ?? 0);
        return source && observed > 0 ? rate(source, m.spans, m.device.deviceId) : [];
      });
    if (summarised)
      return rate(this.g.accountPeaks.get(c.id) ?? { observed: 0, top: {} }, this.g.accountSpans);
    // The account's summed traffic per 5-minute interval, then one figure over the whole span.
    const summed: Series = new Map();
    for (const m of members)
      for (const [b, [i, u]] of m.series.get(c.id) ?? []) {
        const cur = summed.get(b);
        if (cur) {
          cur[0] += i;
          cur[1] += u;
        } else summed.set(b, [i, u]);
      }
    return rate(summed, this.g.accountSpans);
  }

  /** The figure as reported (rate to 0.001 bps) and the rate at full precision for pricing. */
  private figure(
    c: PeakCharge,
    source: Series | PeakSummary,
    spans: Span[],
  ): { figure: PeakFigure; rate: Dec } {
    const expected = spans.reduce((n, [from, to]) => n + expectedSamples(from, to), 0);
    const dirs: Direction[] = c.direction === 'max' ? ['in', 'out'] : [c.direction];
    let summary: PeakSummary;
    let daily: ((dir: Direction) => Dec) | undefined;
    if (source instanceof Map) {
      const buckets = [...source.keys()].sort((a, b) => a - b);
      const values = (dir: Direction) =>
        buckets.map((b) => {
          const [i, u] = source.get(b) ?? [0, 0];
          return dir === 'in' ? i : dir === 'out' ? u : i + u;
        });
      if (c.method === 'daily_peak_avg')
        daily = (dir) => {
          const v = values(dir);
          return dailyPeakAverage(
            buckets.map((b, k) => ({ day: this.clock.at(b).day, bytes: v[k] ?? 0 })),
          );
        };
      summary = {
        observed: buckets.length,
        top: daily ? {} : Object.fromEntries(dirs.map((d) => [d, descending(values(d))])),
      };
    } else {
      if (c.method === 'daily_peak_avg')
        throw new RatingError(`peak charge ${c.id} (daily_peak_avg) needs the 5-minute series`);
      summary = source;
    }
    const one = (dir: Direction): { rate: Dec; rank?: number } => {
      if (daily) return { rate: daily(dir) };
      const top = summary.top[dir] ?? [];
      // A maximum is the 100th percentile by nearest rank: the largest value.
      if (c.method === 'max')
        return { rate: rateOf(percentileOfTop(top, summary.observed, 100).bytes) };
      const { bytes, rank } = percentileOfTop(top, summary.observed, c.percentile);
      return { rate: rateOf(bytes), rank };
    };
    let result: { rate: Dec; rank?: number };
    let selected: 'in' | 'out' | undefined;
    if (c.direction === 'max') {
      const a = one('in');
      const b = one('out');
      selected = b.rate.greaterThan(a.rate) ? 'out' : 'in';
      result = selected === 'out' ? b : a;
    } else result = one(c.direction);
    return {
      rate: result.rate,
      figure: {
        method: c.method,
        direction: c.direction,
        rate_bps: plain(roundTo(result.rate, 3, 'half_even')),
        samples_observed: summary.observed,
        samples_expected: expected,
        ...(result.rank !== undefined ? { rank: result.rank } : {}),
        ...(selected ? { selected } : {}),
      },
    };
  }

  fixed(c: FixedCharge, members: Member[]): DraftLine[] {
    const amount = new Dec(c.amount);
    const description =
      c.description ?? (c.per === 'device' ? `Fee per device (${c.id})` : `Account fee (${c.id})`);
    // Prorated: the quantity is the days credited, the price is per full month of
    // `period.days` days: amount = price × days / period days.
    const line = (spans: Span[], device?: string): DraftLine => {
      const days = this.days(spans);
      if (!c.prorate)
        return {
          ...this.base(spans, { kind: 'fixed', charge: c.id, description }),
          ...(device !== undefined ? { device } : {}),
          raw_quantity: '1',
          rated_quantity: '1',
          unit: 'month',
          unit_price: c.amount,
          exact: amount,
        };
      return {
        ...this.base(spans, {
          kind: 'fixed',
          charge: c.id,
          description: `${description}, ${days} of ${this.period.days} days`,
        }),
        ...(device !== undefined ? { device } : {}),
        raw_quantity: String(days),
        rated_quantity: String(days),
        unit: `day (of ${this.period.days})`,
        unit_price: c.amount,
        exact: amount.times(days).dividedBy(this.period.days),
        prorated_days: days,
      };
    };
    if (c.per === 'account') return this.g.ownSpans.length > 0 ? [line(this.g.ownSpans)] : [];
    return members
      .filter((m) => c.devices === 'assigned' || m.active)
      .map((m) => line(m.spans, m.device.deviceId));
  }

  /** Minimums and caps on usage and peak lines (fixed fees excluded); device first, then account. */
  limits(groupLines: DraftLine[], members: Member[]): DraftLine[] {
    const out: DraftLine[] = [];
    // Compared in money as it will print: rounded lines against a rounded (prorated) limit, so
    // a top-up brings the printed lines exactly to the limit.
    const decimals = currencyDecimals(this.input.account.currency);
    const r = (v: Dec) => roundTo(v, decimals, this.plan.amount_rounding);
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
        ...this.base(spans, {
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
        prorated_days: this.days(spans),
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
      for (const l of this.plan[kind].filter((x) => x.per === 'device'))
        for (const m of members) {
          if (kind === 'minimum' && !m.active) continue;
          const subtotal = sum(byDevice.get(m.device.deviceId) ?? []);
          adjust(
            kind,
            r(new Dec(l.amount).times(this.share(m.spans))),
            subtotal,
            m.spans,
            m.device.deviceId,
          );
        }
    for (const kind of ['minimum', 'cap'] as const)
      for (const l of this.plan[kind].filter((x) => x.per === 'account')) {
        if (this.g.ownSpans.length === 0) continue;
        const all = [...groupLines, ...out];
        const subtotal = sum(
          all
            .filter((x) => metered(x) || x.kind === 'minimum' || x.kind === 'cap')
            .map((x) => r(x.exact)),
        );
        adjust(
          kind,
          r(new Dec(l.amount).times(this.share(this.g.ownSpans))),
          subtotal,
          this.g.ownSpans,
        );
      }
    return out;
  }

  private priced(
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

/** The unit of a usage charge's quantities: its byte unit, or 1 for count meters. */
export function chargeUnit(c: UsageCharge): string {
  return c.meter.startsWith('meters.') ? '1' : (c.unit ?? 'B');
}

/** The unit as invoices print it: a count meter's quantities are in its own name ("sms"). */
export function unitLabel(c: UsageCharge, unit: string): string {
  return unit === '1' ? c.meter.slice('meters.'.length) : unit;
}
