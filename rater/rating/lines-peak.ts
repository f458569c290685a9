// Peak charges' lines: one rate figure per device, or one for the account over its summed
// 5-minute traffic, less the committed rate, then priced. The figure comes from the samples'
// series (aggregate.ts) or from storage's summaries (RatingInput.peaks); peak.ts computes the
// percentiles. Apart from lines.ts because this is the only kind that reads series.
import { Dec, ZERO, plain, roundTo } from './money.ts';
import { expectedSamples, type LocalClock } from './period.ts';
import { dailyPeakAverage, descending, percentileOfTop, rateOf } from './peak.ts';
import { unitFactor, type PeakCharge } from './plan.ts';
import { price } from './pricing.ts';
import type { PeakFigure, PeakSummary } from './types.ts';
import { RatingError, type Member, type Span } from './aggregate.ts';
import type { DraftLine, GroupContext } from './lines.ts';

/** A peak charge's 5-minute series: bucket → [in, out] bytes. */
type Series = Map<number, [number, number]>;
type Direction = 'in' | 'out' | 'sum';

export function peakLines(ctx: GroupContext, c: PeakCharge, members: Member[]): DraftLine[] {
  const unit = c.unit;
  const toUnit = ctx.toUnitFn(unit);
  const description =
    c.description ??
    `${c.method === 'percentile' ? `${c.percentile}th percentile` : c.method === 'max' ? 'Peak rate' : 'Average daily peak'} (${c.id})`;
  const rate = (source: Series | PeakSummary, spans: Span[], device?: string): DraftLine[] => {
    const { figure: fig, rate: exactRate } = peakFigure(c, source, spans, ctx.clock);
    let q = roundTo(
      exactRate.dividedBy(unitFactor(unit, 'decimal')),
      c.rate_decimals,
      c.rate_rounding,
    );
    const committed = c.committed ? toUnit(c.committed) : undefined;
    if (committed) q = Dec.max(ZERO, q.minus(committed));
    return ctx.priced(price(q, c.pricing, unit, toUnit), {
      ...ctx.base(spans, { kind: 'peak', charge: c.id, description, meter: c.direction }),
      ...(device !== undefined ? { device } : {}),
      raw_quantity: fig.rate_bps,
      unit,
      ...(committed ? { included: plain(committed) } : {}),
      peak: fig,
    });
  };
  // Summarised by storage (RatingInput.peaks), or built from the samples by aggregate.ts.
  const summarised = ctx.input.peaks !== undefined;
  if (c.scope === 'device')
    return members.flatMap((m) => {
      const source = summarised ? m.peaks.get(c.id) : m.series.get(c.id);
      const observed = source instanceof Map ? source.size : (source?.observed ?? 0);
      return source && observed > 0 ? rate(source, m.spans, m.device.deviceId) : [];
    });
  if (summarised)
    return rate(ctx.g.accountPeaks.get(c.id) ?? { observed: 0, top: {} }, ctx.g.accountSpans);
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
  return rate(summed, ctx.g.accountSpans);
}

/** The figure as reported (rate to 0.001 bps) and the rate at full precision for pricing. */
function peakFigure(
  c: PeakCharge,
  source: Series | PeakSummary,
  spans: Span[],
  clock: LocalClock,
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
          buckets.map((b, k) => ({ day: clock.at(b).day, bytes: v[k] ?? 0 })),
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
