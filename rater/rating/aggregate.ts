// Aggregation, the first stage of rating: an account's devices and segments are grouped by plan
// version (a Group of Members), then one pass over each device's samples (and raw records, for
// charges rounded per record) sums every usage charge's quantity and builds every peak charge's
// 5-minute series. Separate from pricing (lines.ts) because this is the only part that touches
// the raw input and its cost grows with the samples; everything after it works on the sums.
import { bucketOf } from '../../common/usage.ts';
import { Dec, ZERO, roundToIncrement } from './money.ts';
import type { LocalClock } from './period.ts';
import {
  unitFactor,
  type PeakCharge,
  type Plan,
  type PlanVersion,
  type Quantity,
  type UsageCharge,
  type UsageFilter,
} from './plan.ts';
import type { DeviceInput, PeakSummary, RatingInput, Segment } from './types.ts';

// Input the engine cannot rate: a missing plan version, a currency mismatch, a sum too large.
// Defined here, where it is thrown, so the modules import in one direction; engine.ts, its
// public home, re-exports it.
export class RatingError extends Error {
  override readonly name = 'RatingError';
}

export type Span = [from: number, to: number];

/** One device's part of one plan version: its spans and its aggregated usage in them. */
export interface Member {
  device: DeviceInput;
  spans: Span[];
  active: boolean;
  bytes: number;
  /** Per usage charge id: base-unit quantity (bytes or count), after per-record rounding. */
  usage: Map<string, Dec>;
  /** Per usage charge id: the measured quantity, before any rounding. */
  measured: Map<string, Dec>;
  /** Per peak charge id: bucket → [in, out] bytes (built from samples when the input has no `peaks`). */
  series: Map<string, Map<number, [number, number]>>;
  /** Per peak charge id: the device's series as summarised by storage (RatingInput.peaks). */
  peaks: Map<string, PeakSummary>;
}

export interface Group {
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
  /** Per account-scope peak charge id: the summed series as summarised by storage. */
  accountPeaks: Map<string, PeakSummary>;
}

export const byTime = (a: Span, b: Span) => a[0] - b[0];
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildGroups(input: RatingInput, clock: LocalClock): Map<string, Group> {
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
      g = {
        key,
        version,
        members: new Map(),
        accountSpans: [],
        ownSpans: [],
        accountPeaks: new Map(),
      };
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
        peaks: new Map(),
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
  const summed = input.peaks !== undefined;
  for (const d of input.devices) aggregateDevice(d, groups, clock, summed);
  for (const p of input.peaks ?? []) {
    const g = groups.get(p.plan);
    if (!g) continue;
    if (p.device === undefined) g.accountPeaks.set(p.charge, p.summary);
    else g.members.get(p.device)?.peaks.set(p.charge, p.summary);
  }
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

/**
 * Whether these plan versions rate the same from samples summed per device, segment and dims key
 * (RatingInput.peaks): true unless a charge looks at the time of day of a sample — a window
 * filter, or a peak averaged over daily peaks.
 */
export function summarizable(plans: Iterable<PlanVersion>): boolean {
  for (const { plan } of plans)
    for (const c of plan.charges) {
      if (c.type === 'fixed') continue;
      if (c.filter?.window !== undefined || c.filter?.outside_window !== undefined) return false;
      if (c.type === 'peak' && c.method === 'daily_peak_avg') return false;
    }
  return true;
}

export function union(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort(byTime)) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
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

/** Whether `dims` pass the dims part of a filter (`dims`, `exclude_dims`). */
export function dimsMatch(f: UsageFilter, dims: Record<string, string>): boolean {
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

function aggregateDevice(
  d: DeviceInput,
  groups: Map<string, Group>,
  clock: LocalClock,
  summed: boolean,
): void {
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
    // Summed samples are not a series: the peaks come with the input instead.
    if (!summed)
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
