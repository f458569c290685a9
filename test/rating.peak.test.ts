// Peak charges on 5-minute samples: a sample's rate is bytes × 8 / 300 bps, so 37,500 B in a
// sample is 1,000 bps = 1 kbps. Percentile by nearest rank k = ceil(p/100 × N) over the
// OBSERVED samples (a missing interval is not a zero), directions in (= down), out (= up),
// max (the larger figure, `selected`) and sum (per-sample up + down), high watermark, average of
// daily peaks (local days of the account zone), committed rate, account scope (samples summed per
// bucket before the figure) and coverage (observed vs 5-minute intervals in the span).
// Expected values by hand. March 2026 in UTC has 31 × 288 = 8,928 intervals.
import { describe, it, expect } from 'vitest';
import {
  BERLIN,
  KBPS_BYTES,
  at,
  brief,
  buckets,
  lineWhere,
  onePlan,
  planVersion,
  rate,
  sample,
} from './helpers/rating.ts';

const peak = (extra: Record<string, unknown> = {}) => ({
  id: 'peak',
  type: 'peak',
  method: 'percentile',
  direction: 'in',
  unit: 'kbps',
  pricing: { model: 'per_unit', price: '1' },
  ...extra,
});

const T0 = at('2026-03-10 12:00');
const kbps = (n: number) => n * KBPS_BYTES;

/** Samples 1..n at consecutive buckets from T0, with `down`/`up` in kbps given by index i (1-based). */
function series(n: number, down: (i: number) => number, up: (i: number) => number = () => 0) {
  return buckets(T0, n).map((b, j) => sample(b, { down: kbps(down(j + 1)), up: kbps(up(j + 1)) }));
}

describe('95th percentile, nearest rank over observed samples', () => {
  it('Given 20 samples of 1..20 kbps, then rank 19: 19 kbps', () => {
    // k = ceil(0.95 × 20) = 19 → 19th smallest = 19 kbps = 19,000 bps × 1 per kbps = 19.00
    // Samples given in reverse order: the order does not matter.
    const inv = rate({
      plans: onePlan(peak()),
      devices: [{ id: 'd1', samples: series(20, (i) => i).reverse() }],
    });
    const l = lineWhere(inv, { kind: 'peak', device: 'd1' });
    expect(brief(l)).toMatchObject({
      charge: 'peak',
      raw_quantity: '19000',
      rated_quantity: '19',
      unit: 'kbps',
      unit_price: '1',
      amount: '19.00',
    });
    expect(l.meter).toBe('in');
    expect(l.peak).toEqual({
      method: 'percentile',
      direction: 'in',
      rate_bps: '19000',
      samples_observed: 20,
      samples_expected: 8928,
      rank: 19,
    });
    expect(inv.total).toBe('19.00');
  });

  // Values 1..N kbps, so the k-th smallest is k kbps:
  //   N = 1   → k = ceil(0.95)  = 1
  //   N = 21  → k = ceil(19.95) = 20
  //   N = 100 → k = ceil(95)    = 95
  it.each([
    [1, 1],
    [21, 20],
    [100, 95],
  ])('Given N = %i samples, then rank %i', (n, k) => {
    const inv = rate({
      plans: onePlan(peak()),
      devices: [{ id: 'd1', samples: series(n, (i) => i) }],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.peak?.rank).toBe(k);
    expect(l.peak?.samples_observed).toBe(n);
    expect(l.rated_quantity).toBe(String(k));
  });

  it('Given 20 observed zero samples besides, then they count; missing intervals do not', () => {
    // 20 samples 1..20 kbps + 20 observed samples of 0 B: N = 40, k = ceil(38) = 38
    // sorted: twenty 0s, then 1..20 → 38th = 18 kbps → 18.00
    // The other 8,888 intervals of the month are missing, not zero (else the figure would be 0).
    const zeros = buckets(at('2026-03-20 00:00'), 20).map((b) => sample(b, { up: 0, down: 0 }));
    const inv = rate({
      plans: onePlan(peak()),
      devices: [{ id: 'd1', samples: [...series(20, (i) => i), ...zeros] }],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.peak).toMatchObject({ rank: 38, samples_observed: 40, samples_expected: 8928 });
    expect(l.rated_quantity).toBe('18');
    expect(inv.total).toBe('18.00');
  });
});

describe('direction', () => {
  // Sample i (1..20): in (down) = i kbps, out (up) = 2 × (21 - i) kbps.
  //   in:  1..20             → 19th = 19
  //   out: 40, 38, …, 2      → sorted 2..40 step 2 → 19th = 38
  //   sum: i + 42 - 2i = 42 - i → 41..22 → sorted 22..41 → 19th = 40
  //        (not 19 + 38 = 57: the sum is taken per sample)
  //   max: larger of the in and out figures: 38, selected out
  it.each([
    ['in', '19', undefined],
    ['out', '38', undefined],
    ['sum', '40', undefined],
    ['max', '38', 'out'],
  ])('direction %s → %s kbps', (direction, figure, selected) => {
    const inv = rate({
      plans: onePlan(peak({ direction })),
      devices: [
        {
          id: 'd1',
          samples: series(
            20,
            (i) => i,
            (i) => 2 * (21 - i),
          ),
        },
      ],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.meter).toBe(direction);
    expect(l.rated_quantity).toBe(figure);
    expect(l.peak?.direction).toBe(direction);
    expect(l.peak?.rate_bps).toBe(`${figure}000`);
    expect(l.peak?.selected).toBe(selected);
    expect(l.amount).toBe(`${figure}.00`);
  });

  it('Given direction max with in higher, then in is selected; a tie selects in', () => {
    // high-in: in = 2 × (21 - i), out = i → in 38 vs out 19 → 38, in
    // tie:     in = out = i → 19 vs 19 → 19, in
    const inv = rate({
      plans: onePlan(peak({ direction: 'max' })),
      devices: [
        {
          id: 'high-in',
          samples: series(
            20,
            (i) => 2 * (21 - i),
            (i) => i,
          ),
        },
        {
          id: 'tie',
          samples: series(
            20,
            (i) => i,
            (i) => i,
          ),
        },
      ],
    });
    expect(lineWhere(inv, { device: 'high-in' }).peak).toMatchObject({
      rate_bps: '38000',
      selected: 'in',
    });
    expect(lineWhere(inv, { device: 'tie' }).peak).toMatchObject({
      rate_bps: '19000',
      selected: 'in',
    });
  });
});

describe('high watermark and average of daily peaks', () => {
  it('Given method max, then the highest sample: 20 kbps, no rank', () => {
    // in values 1..20 → max 20 kbps → 20.00
    const inv = rate({
      plans: onePlan(peak({ method: 'max' })),
      devices: [{ id: 'd1', samples: series(20, (i) => i) }],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.peak).toEqual({
      method: 'max',
      direction: 'in',
      rate_bps: '20000',
      samples_observed: 20,
      samples_expected: 8928,
    });
    expect(l.amount).toBe('20.00');
  });

  it('Given a Berlin account, then daily peaks are per local day', () => {
    // Mon Mar 2 10:00 local  10 kbps ┐ local day Mar 2 → peak 30
    // Mon Mar 2 23:55 local  30 kbps ┘
    // Tue Mar 3 00:00 local   6 kbps   (= Mar 2 23:00 UTC) local day Mar 3 → peak 6
    // Thu Mar 5 12:00 local   9 kbps   local day Mar 5 → peak 9
    // average over the 3 days with samples: (30 + 6 + 9) / 3 = 15 kbps → 15.00
    // (UTC days would give (30 + 9) / 2 = 19.5; days without samples are not zeros)
    // Coverage: March in Berlin has 743 hours (DST) = 8,916 intervals.
    const L = (wall: string) => at(wall, BERLIN);
    const inv = rate({
      zone: BERLIN,
      plans: onePlan(peak({ method: 'daily_peak_avg' })),
      devices: [
        {
          id: 'd1',
          samples: [
            sample(L('2026-03-02 10:00'), { down: kbps(10) }),
            sample(L('2026-03-02 23:55'), { down: kbps(30) }),
            sample(L('2026-03-03 00:00'), { down: kbps(6) }),
            sample(L('2026-03-05 12:00'), { down: kbps(9) }),
          ],
        },
      ],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.peak).toEqual({
      method: 'daily_peak_avg',
      direction: 'in',
      rate_bps: '15000',
      samples_observed: 4,
      samples_expected: 8916,
    });
    expect(l.rated_quantity).toBe('15');
    expect(inv.total).toBe('15.00');
  });
});

describe('committed rate', () => {
  it('Given a committed rate, then only the excess is priced', () => {
    // p95 = 19 kbps (values 1..20)
    // over10: committed 10 kbps → 9 kbps × 1 = 9.00
    // over25: committed 0.025 Mbps = 25 kbps → 0 → 0.00
    const inv = rate({
      plans: planVersion({
        charges: [
          peak({ id: 'over10', committed: '10' }),
          peak({ id: 'over25', committed: '0.025 Mbps' }),
        ],
      }),
      devices: [{ id: 'd1', samples: series(20, (i) => i) }],
    });
    expect(brief(lineWhere(inv, { charge: 'over10' }))).toMatchObject({
      raw_quantity: '19000',
      included: '10',
      rated_quantity: '9',
      amount: '9.00',
    });
    expect(brief(lineWhere(inv, { charge: 'over25' }))).toMatchObject({
      included: '25',
      rated_quantity: '0',
      amount: '0.00',
    });
    expect(inv.total).toBe('9.00');
  });
});

describe('account scope', () => {
  it('Given two devices, then samples are summed per bucket before the percentile', () => {
    // bucket i (1..20): a = i kbps, b = 21 - i kbps → summed 21 kbps in every bucket
    // account p95 = 21 kbps → 21.00 (never 19 + 19 = 38 from the device figures)
    // c has no samples and changes nothing.
    const devices = [
      { id: 'a', samples: series(20, (i) => i) },
      { id: 'b', samples: series(20, (i) => 21 - i) },
      { id: 'c' },
    ];
    const inv = rate({ plans: onePlan(peak({ scope: 'account' })), devices });
    expect(inv.lines).toHaveLength(1);
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.device).toBeUndefined();
    expect(l.rated_quantity).toBe('21');
    expect(l.peak).toMatchObject({ rate_bps: '21000', samples_observed: 20, rank: 19 });
    expect(inv.total).toBe('21.00');

    // Device scope for contrast: a 19 (values 1..20), b 19 (values 20..1), c no line.
    const per = rate({ plans: onePlan(peak()), devices });
    expect(per.lines.map((x) => [x.device, x.rated_quantity])).toEqual([
      ['a', '19'],
      ['b', '19'],
    ]);
  });
});

describe('coverage', () => {
  it('Given a device assigned 10 days, then 2,880 intervals are expected', () => {
    // Mar 22 00:00 → Apr 1 00:00 UTC = 240 h × 12 = 2,880; 3 observed
    const inv = rate({
      plans: onePlan(peak()),
      devices: [
        {
          id: 'd1',
          spans: [[at('2026-03-22 00:00'), at('2026-04-01 00:00')]],
          samples: buckets(at('2026-03-25 00:00'), 3).map((b) => sample(b, { down: kbps(5) })),
        },
      ],
    });
    expect(lineWhere(inv, { kind: 'peak' }).peak).toMatchObject({
      samples_observed: 3,
      samples_expected: 2880,
    });
  });
});

describe('rate rounding', () => {
  it('Given 1,234,567 B and Mbps to 3 places, then 0.033 Mbps', () => {
    // 1,234,567 × 8 / 300 = 32,921.7866… bps = 0.0329217866… Mbps → 3 places half_up → 0.033
    // × 10 per Mbps = 0.33
    const inv = rate({
      plans: onePlan(peak({ unit: 'Mbps', pricing: { model: 'per_unit', price: '10' } })),
      devices: [{ id: 'd1', samples: [sample(T0, { down: 1_234_567 })] }],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect(l.rated_quantity).toBe('0.033');
    expect(l.unit).toBe('Mbps');
    // The exact rate is a repeating decimal; reported to the thousandth of a bps.
    expect(l.peak?.rate_bps).toBe('32921.787');
    expect(l.amount).toBe('0.33');
  });

  // 37,500,001 B → 300,000,008 / 300 = 1,000,000.0266… bps = 1.0000000266… Mbps, 0 places:
  //   up → 2, down → 1, half_up → 1, half_even → 1
  it.each([
    ['up', '2'],
    ['down', '1'],
    ['half_up', '1'],
    ['half_even', '1'],
  ])('rate_rounding %s → %s Mbps', (mode, figure) => {
    const inv = rate({
      plans: onePlan(peak({ unit: 'Mbps', rate_decimals: 0, rate_rounding: mode })),
      devices: [{ id: 'd1', samples: [sample(T0, { down: 37_500_001 })] }],
    });
    expect(lineWhere(inv, { kind: 'peak' }).rated_quantity).toBe(figure);
  });

  it('Given rate_decimals 12, then the exact rate is rounded once by the plan rule', () => {
    // money.ts: the rate "is carried at 60 digits and then rounded by the plan's stated rule".
    // 37,500,001 B → 1.000000026666… Mbps → 12 places half_up → 1.000000026667
    const inv = rate({
      plans: onePlan(peak({ unit: 'Mbps', rate_decimals: 12 })),
      devices: [{ id: 'd1', samples: [sample(T0, { down: 37_500_001 })] }],
    });
    expect(lineWhere(inv, { kind: 'peak' }).rated_quantity).toBe('1.000000026667');
  });

  it('Given a per-bps price with 4 decimals, then the amount uses the once-rounded rate', () => {
    // 1 B in a sample → 8 / 300 = 0.026666… bps → 4 places half_up → 0.0267 bps
    // × 100 per bps = 2.67 (rounding to 0.027 bps first would give 2.70)
    const inv = rate({
      plans: onePlan(
        peak({ unit: 'bps', rate_decimals: 4, pricing: { model: 'per_unit', price: '100' } }),
      ),
      devices: [{ id: 'd1', samples: [sample(T0, { down: 1 })] }],
    });
    const l = lineWhere(inv, { kind: 'peak' });
    expect([l.rated_quantity, l.amount]).toEqual(['0.0267', '2.67']);
  });
});
