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
import { bucketOf } from '../../common/usage.ts';
import { Dec, ZERO, allocate, money, plain, roundTo, roundToIncrement, sum } from './money.ts';
import { LocalClock, assignedDays, expectedSamples } from './period.ts';
import { dailyPeakAverage, maxBytes, percentileBytes, rateOf } from './peak.ts';
import {
  currencyDecimals,
  unitFactor,
  type FixedCharge,
  type PeakCharge,
  type Plan,
  type PlanVersion,
  type Quantity,
  type UsageCharge,
  type UsageFilter,
} from './plan.ts';
import { price, type PricedPart } from './pricing.ts';
import type {
  DeviceCharges,
  DeviceInput,
  DeviceSummary,
  Invoice,
  InvoiceLine,
  PeakFigure,
  RatingInput,
  Sample,
  Segment,
} from './types.ts';

export class RatingError extends Error {
  override readonly name = 'RatingError';
}

type Span = [from: number, to: number];

/** One device's part of one plan version: its spans and its aggregated usage in them. */
interface Member {
  device: DeviceInput;
  spans: Span[];
  active: boolean;
  bytes: number;
  /** Per usage charge id: base-unit quantity (bytes or count), after per-record rounding. */
  usage: Map<string, Dec>;
  /** Per usage charge id: the measured quantity, before any rounding. */
  measured: Map<string, Dec>;
  /** Per peak charge id: bucket → [in, out] bytes. */
  series: Map<string, Map<number, [number, number]>>;
}

interface Group {
  key: string;
  version: PlanVersion;
  members: Map<string, Member>;
  /** Where account-scope usage and peaks are measured: the account's plan spans, else the members'. */
  accountSpans: Span[];
  /**
   * Where the account itself is under this version (per-account fees, account minimums and
   * caps). Empty for a version only devices with a plan override are under: an override
   * prices those devices, it does not bill the account a second platform fee.
   */
  ownSpans: Span[];
}

interface DraftLine extends Omit<InvoiceLine, 'line' | 'amount'> {
  exact: Dec;
  group: Group;
}

interface RunOptions {
  /**
   * Project an open period to its end: each device's usage is scaled by the time its
   * assignment will have run by the period end over the time it has run so far (a device that
   * joined mid-month is not diluted over the whole month; one that already left is not scaled).
   */
  project: boolean;
}

const byTime = (a: Span, b: Span) => a[0] - b[0];
const iso = (ms: number) => new Date(ms).toISOString();

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
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function buildGroups(input: RatingInput, clock: LocalClock): Map<string, Group> {
  const groups = new Map<string, Group>();
  const groupOf = (s: Segment): Group => {
    const key = `${s.planId}@${s.planVersion}`;
    let g = groups.get(key);
    if (!g) {
      const version = input.plans[key];
      if (!version) throw new RatingError(`plan version ${key} is missing from the rating input`);
      if (version.plan.currency !== input.account.currency)
        throw new RatingError(
          `plan ${key} is in ${version.plan.currency}, the account in ${input.account.currency}`,
        );
      g = { key, version, members: new Map(), accountSpans: [], ownSpans: [] };
      groups.set(key, g);
    }
    return g;
  };
  // Groups in order of first appearance in time, so invoice lines follow the period.
  const segs = input.devices.flatMap((d) => d.segments.map((s) => ({ d, s })));
  segs.sort((a, b) => a.s.fromMs - b.s.fromMs || cmp(a.d.deviceId, b.d.deviceId));
  for (const { d, s } of segs) {
    const g = groupOf(s);
    let m = g.members.get(d.deviceId);
    if (!m) {
      m = {
        device: d,
        spans: [],
        active: false,
        bytes: 0,
        usage: new Map(),
        measured: new Map(),
        series: new Map(),
      };
      g.members.set(d.deviceId, m);
    }
    m.spans.push([s.fromMs, s.toMs]);
  }
  for (const s of input.accountSegments ?? []) groupOf(s).ownSpans.push([s.fromMs, s.toMs]);
  for (const g of groups.values()) {
    const memberSpans = union([...g.members.values()].flatMap((m) => m.spans));
    // Without an account timeline (a caller rating devices alone), the members' spans stand in.
    if (input.accountSegments === undefined) g.ownSpans = memberSpans;
    g.accountSpans = g.ownSpans.length > 0 ? g.ownSpans : memberSpans;
  }
  for (const d of input.devices) aggregateDevice(d, groups, clock);
  // "Active" is a property of the device in the period (it reported any usage under this
  // account), not of one plan version's part: a device active after a mid-month plan change
  // is a monthly active device in every part.
  for (const d of input.devices) {
    const members = [...groups.values()].flatMap((g) => g.members.get(d.deviceId) ?? []);
    const active = members.some((m) => m.active);
    for (const m of members) m.active = active;
  }
  return groups;
}

function union(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort(byTime)) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
}

function allSpans(g: Group): Span[] {
  return union([...g.accountSpans, ...[...g.members.values()].flatMap((m) => m.spans)]);
}

// ---- aggregation: one pass over a device's samples ----

function dimsKeyOf(dims: Record<string, string>): string {
  return JSON.stringify(Object.entries(dims).sort(([a], [b]) => cmp(a, b)));
}

class FilterCache {
  private readonly dimsCache = new Map<string, boolean>();
  constructor(
    private readonly plan: Plan,
    private readonly filter: UsageFilter | undefined,
    private readonly clock: LocalClock,
  ) {}

  matches(dims: Record<string, string>, dimsKey: string | undefined, bucketMs: number): boolean {
    const f = this.filter;
    if (!f) return true;
    if (f.dims || f.exclude_dims) {
      const key = dimsKey ?? dimsKeyOf(dims);
      let ok = this.dimsCache.get(key);
      if (ok === undefined) {
        ok = dimsMatch(f, dims);
        this.dimsCache.set(key, ok);
      }
      if (!ok) return false;
    }
    if (f.window !== undefined && !this.inWindow(f.window, bucketMs)) return false;
    if (f.outside_window !== undefined && this.inWindow(f.outside_window, bucketMs)) return false;
    return true;
  }

  private inWindow(name: string, bucketMs: number): boolean {
    const t = this.clock.at(bucketMs);
    return (this.plan.windows[name] ?? []).some((w) => {
      const from = minuteOf(w.from);
      const to = minuteOf(w.to);
      return w.days.includes(WEEKDAYS[t.weekday] ?? 'mon') && t.minute >= from && t.minute < to;
    });
  }
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function dimsMatch(f: UsageFilter, dims: Record<string, string>): boolean {
  const has = (k: string, v: string | string[]) => {
    const actual = Object.hasOwn(dims, k) ? dims[k] : undefined;
    return actual !== undefined && (Array.isArray(v) ? v.includes(actual) : v === actual);
  };
  for (const [k, v] of Object.entries(f.dims ?? {})) if (!has(k, v)) return false;
  for (const [k, v] of Object.entries(f.exclude_dims ?? {})) if (has(k, v)) return false;
  return true;
}

function meterOf(
  meter: string,
  s: { up: number; down: number; meters: Record<string, string> },
): Dec | number {
  if (meter === 'total') return s.up + s.down;
  if (meter === 'up') return s.up;
  if (meter === 'down') return s.down;
  const name = meter.slice('meters.'.length);
  const v = Object.hasOwn(s.meters, name) ? s.meters[name] : undefined;
  return v === undefined ? 0 : new Dec(v);
}

function spanIndex(spans: Array<{ g: Group; m: Member; span: Span }>, t: number) {
  for (const e of spans) if (t >= e.span[0] && t < e.span[1]) return e;
  return undefined;
}

function aggregateDevice(d: DeviceInput, groups: Map<string, Group>, clock: LocalClock): void {
  const spans: Array<{ g: Group; m: Member; span: Span }> = [];
  for (const g of groups.values()) {
    const m = g.members.get(d.deviceId);
    if (m) for (const span of m.spans) spans.push({ g, m, span });
  }
  if (spans.length === 0) return;
  // Per group: the charges and their filters, prepared once.
  const prepared = new Map<Group, ReturnType<typeof prepare>>();
  for (const { g } of spans) if (!prepared.has(g)) prepared.set(g, prepare(g.version.plan, clock));

  const usageSums = new Map<Member, Map<string, { n: number; d: Dec }>>();
  const measuredSums = new Map<Member, Map<string, { n: number; d: Dec }>>();
  for (const s of d.samples) {
    const e = spanIndex(spans, s.bucketMs);
    if (!e) continue;
    const { m } = e;
    if (s.records > 0 || s.up > 0 || s.down > 0) m.active = true;
    m.bytes += s.up + s.down;
    const p = prepared.get(e.g);
    if (!p) continue;
    let sums = usageSums.get(m);
    if (!sums) usageSums.set(m, (sums = new Map()));
    for (const { c, f } of p.usage) {
      if (c.rounding?.per_record) continue;
      if (!f.matches(s.dims, s.dimsKey, s.bucketMs)) continue;
      addUsage(sums, c.id, meterOf(c.meter, s));
    }
    for (const { c, f } of p.peak) {
      if (!f.matches(s.dims, s.dimsKey, s.bucketMs)) continue;
      let series = m.series.get(c.id);
      if (!series) m.series.set(c.id, (series = new Map()));
      const cur = series.get(s.bucketMs);
      if (cur) {
        cur[0] += s.down;
        cur[1] += s.up;
      } else series.set(s.bucketMs, [s.down, s.up]);
    }
  }
  // Charges that round each record: rated from raw records, each at its end instant.
  for (const r of d.records ?? []) {
    const instant = r.tsMs - 1;
    const e = spanIndex(spans, instant);
    if (!e) continue;
    const p = prepared.get(e.g);
    if (!p) continue;
    let sums = usageSums.get(e.m);
    if (!sums) usageSums.set(e.m, (sums = new Map()));
    let measured = measuredSums.get(e.m);
    if (!measured) measuredSums.set(e.m, (measured = new Map()));
    for (const { c, f, base } of p.usage) {
      const rr = c.rounding?.per_record;
      if (!rr) continue;
      if (!f.matches(r.dims, undefined, bucketOf(instant))) continue;
      const q = meterOf(c.meter, r);
      addUsage(measured, c.id, q);
      addUsage(sums, c.id, roundToIncrement(new Dec(q.toString()), base(rr.increment), rr.mode));
    }
  }
  const total = (v: { n: number; d: Dec }, id: string) => {
    if (!Number.isSafeInteger(v.n))
      throw new RatingError(`usage of ${d.deviceId} for ${id} is too large to sum exactly`);
    return v.d.plus(v.n);
  };
  for (const [m, sums] of usageSums)
    for (const [id, v] of sums) {
      m.usage.set(id, total(v, id));
      m.measured.set(id, total(measuredSums.get(m)?.get(id) ?? v, id));
    }
}

function addUsage(sums: Map<string, { n: number; d: Dec }>, id: string, q: Dec | number): void {
  let acc = sums.get(id);
  if (!acc) sums.set(id, (acc = { n: 0, d: ZERO }));
  if (typeof q === 'number') acc.n += q;
  else acc.d = acc.d.plus(q);
}

function prepare(plan: Plan, clock: LocalClock) {
  const usage: Array<{ c: UsageCharge; f: FilterCache; base: (q: Quantity) => Dec }> = [];
  const peak: Array<{ c: PeakCharge; f: FilterCache }> = [];
  for (const c of plan.charges) {
    if (c.type === 'usage')
      usage.push({
        c,
        f: new FilterCache(plan, c.filter, clock),
        base: (q) => new Dec(q.value).times(unitFactor(q.unit ?? c.unit ?? 'B', plan.units)),
      });
    else if (c.type === 'peak') peak.push({ c, f: new FilterCache(plan, c.filter, clock) });
  }
  return { usage, peak };
}

// ---- pricing: groups → draft lines ----

function rateGroups(
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

class GroupContext {
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
    const rate = (
      series: Map<number, [number, number]>,
      spans: Span[],
      device?: string,
    ): DraftLine[] => {
      const { figure: fig, rate: exactRate } = this.figure(c, series, spans);
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
    if (c.scope === 'device')
      return members.flatMap((m) => {
        const series = m.series.get(c.id);
        return series && series.size > 0 ? rate(series, m.spans, m.device.deviceId) : [];
      });
    // The account's summed traffic per 5-minute interval, then one figure over the whole span.
    const summed = new Map<number, [number, number]>();
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
    series: Map<number, [number, number]>,
    spans: Span[],
  ): { figure: PeakFigure; rate: Dec } {
    const expected = spans.reduce((n, [from, to]) => n + expectedSamples(from, to), 0);
    const buckets = [...series.keys()].sort((a, b) => a - b);
    const values = (dir: 'in' | 'out' | 'sum') =>
      buckets.map((b) => {
        const [i, u] = series.get(b) ?? [0, 0];
        return dir === 'in' ? i : dir === 'out' ? u : i + u;
      });
    const one = (dir: 'in' | 'out' | 'sum'): { rate: Dec; rank?: number } => {
      const v = values(dir);
      if (c.method === 'percentile') {
        const { bytes, rank } = percentileBytes(v, c.percentile);
        return { rate: rateOf(bytes), rank };
      }
      if (c.method === 'max') return { rate: rateOf(maxBytes(v)) };
      return {
        rate: dailyPeakAverage(
          buckets.map((b, k) => ({ day: this.clock.at(b).day, bytes: v[k] ?? 0 })),
        ),
      };
    };
    let result: { rate: Dec; rank?: number };
    let selected: 'in' | 'out' | undefined;
    if (c.direction === 'max') {
      const a = one('in');
      const b = one('out');
      selected = b.rate.greaterThan(a.rate) ? 'out' : 'in';
      result = selected === 'out' ? b : a;
    } else result = one(c.direction === 'sum' ? 'sum' : c.direction);
    return {
      rate: result.rate,
      figure: {
        method: c.method,
        direction: c.direction,
        rate_bps: plain(roundTo(result.rate, 3, 'half_even')),
        samples_observed: buckets.length,
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
    for (const kind of ['minimum', 'cap'] as const)
      for (const l of this.plan[kind].filter((x) => x.per === 'device'))
        for (const m of members) {
          if (kind === 'minimum' && !m.active) continue;
          const subtotal = sum(
            groupLines
              .filter((x) => metered(x) && x.device === m.device.deviceId)
              .map((x) => r(x.exact)),
          );
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

/** The unit of a usage charge's quantities: its byte unit, or 1 for count meters. */
function chargeUnit(c: UsageCharge): string {
  return c.meter.startsWith('meters.') ? '1' : (c.unit ?? 'B');
}

/** The unit as invoices print it: a count meter's quantities are in its own name ("sms"). */
function unitLabel(c: UsageCharge, unit: string): string {
  return unit === '1' ? c.meter.slice('meters.'.length) : unit;
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
      const own = lines.filter((l) => l.device === d.deviceId).map((l) => new Dec(l.amount));
      const shared = allocations
        .filter((a) => a.device === d.deviceId)
        .map((a) => new Dec(a.amount));
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
        amount: money(sum([...own, ...shared]), decimals),
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
