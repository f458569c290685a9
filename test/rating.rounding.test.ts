// Rounding increments: rounding.per_record (each raw record rounded before it is summed,
// rated at tsMs - 1) and rounding.per_period (the period's quantity after the allowance),
// with modes up / down / half_up / half_even. Expected values are computed by hand.
import { describe, it, expect } from 'vitest';
import {
  MB,
  at,
  brief,
  lineWhere,
  onePlan,
  planVersion,
  rate,
  record,
  sample,
} from './helpers/rating.ts';

const perRecord = (increment: string, mode?: string, unit = 'KB', price = '0.01') => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit,
  rounding: { per_record: { increment, ...(mode ? { mode } : {}) } },
  pricing: { model: 'per_unit', price },
});

describe('rounding.per_record', () => {
  it('Given three records rounded up to 1 KB each, then 4 KB instead of 2.101 KB', () => {
    // Records: 60+40 = 100 B → 1000; 0+1000 = 1000 B → 1000; 1+1000 = 1001 B → 2000.
    // Rounded: 4000 B = 4 KB × 0.01 = 0.04.
    // A second charge without per-record rounding rates the samples (2101 B in all):
    // 2.101 KB × 0.01 = 0.02101 → 0.02. Total 0.04 + 0.02 = 0.06.
    const inv = rate({
      plans: planVersion({
        charges: [
          perRecord('1 KB'),
          {
            id: 'plain',
            type: 'usage',
            meter: 'total',
            unit: 'KB',
            pricing: { model: 'per_unit', price: '0.01' },
          },
        ],
      }),
      devices: [
        {
          id: 'd1',
          samples: [sample(at('2026-03-05 10:00'), { up: 61, down: 2040, records: 3 })],
          records: [
            record(at('2026-03-05 10:01'), { up: 60, down: 40 }),
            record(at('2026-03-05 10:02'), { down: 1000 }),
            record(at('2026-03-05 10:03'), { up: 1, down: 1000 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: '4',
      unit: 'KB',
      amount: '0.04',
    });
    expect(brief(lineWhere(inv, { charge: 'plain' }))).toMatchObject({
      raw_quantity: '2101',
      rated_quantity: '2.101',
      amount: '0.02',
    });
    expect(inv.total).toBe('0.06');
  });

  it('Given per-record rounding, then raw_quantity is the measured bytes before rounding', () => {
    // types.ts: raw_quantity is the "Measured quantity in base units ... before allowance and
    // rounding". Measured: 100 + 1000 + 1001 = 2101 B; rated after rounding 4 KB.
    const inv = rate({
      plans: onePlan(perRecord('1 KB')),
      devices: [
        {
          id: 'd1',
          samples: [sample(at('2026-03-05 10:00'), { up: 61, down: 2040, records: 3 })],
          records: [
            record(at('2026-03-05 10:01'), { up: 60, down: 40 }),
            record(at('2026-03-05 10:02'), { down: 1000 }),
            record(at('2026-03-05 10:03'), { up: 1, down: 1000 }),
          ],
        },
      ],
    });
    const l = lineWhere(inv, { charge: 'data' });
    expect(l.rated_quantity).toBe('4');
    expect(l.raw_quantity).toBe('2101');
  });

  it('Given binary units, then 1 KB is 1024 B', () => {
    // 100 B → 1024; 1025 B → 2048; 3072 B = 3 KB × 0.01 = 0.03
    const inv = rate({
      plans: onePlan(perRecord('1 KB'), { units: 'binary' }),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-05 10:01'), { up: 100 }),
            record(at('2026-03-05 10:02'), { up: 1025 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: '3',
      amount: '0.03',
    });
  });

  it('Given an increment in the charge unit ("0.5" KB), then records round to 500 B', () => {
    // 1 → 500; 501 → 1000; 1000 → 1000; 2500 B = 2.5 KB × 1 = 2.50
    const inv = rate({
      plans: onePlan(perRecord('0.5', 'up', 'KB', '1')),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-05 10:01'), { up: 1 }),
            record(at('2026-03-05 10:02'), { up: 501 }),
            record(at('2026-03-05 10:03'), { down: 1000 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: '2.5',
      amount: '2.50',
    });
  });

  // Records of 1500, 2500 and 700 B to increments of 1 KB (1000 B), 0.01 per KB:
  //   up:        2000 + 3000 + 1000 = 6000 → 6 KB → 0.06
  //   down:      1000 + 2000 +    0 = 3000 → 3 KB → 0.03
  //   half_up:   2000 + 3000 + 1000 = 6000 → 6 KB → 0.06
  //   half_even: 2000 + 2000 + 1000 = 5000 → 5 KB → 0.05   (1.5 → 2, 2.5 → 2)
  it.each([
    ['up', '6', '0.06'],
    ['down', '3', '0.03'],
    ['half_up', '6', '0.06'],
    ['half_even', '5', '0.05'],
  ])('per_record mode %s', (mode, rated, amount) => {
    const inv = rate({
      plans: onePlan(perRecord('1 KB', mode)),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-05 10:01'), { up: 1500 }),
            record(at('2026-03-05 10:02'), { up: 2500 }),
            record(at('2026-03-05 10:03'), { up: 700 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: rated,
      amount,
    });
  });

  it('Given records ending on the period edges, then each is rated at tsMs - 1', () => {
    // Ends 2026-03-01 00:00 → measured up to then → rated at Feb 28 23:59:59.999: not March.
    // Ends 2026-04-01 00:00 → rated at Mar 31 23:59:59.999: March.
    // Only the second: 10 B → 1 KB × 0.01 = 0.01
    const inv = rate({
      plans: onePlan(perRecord('1 KB')),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-01 00:00'), { up: 5000 }),
            record(at('2026-04-01 00:00'), { up: 10 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: '1',
      amount: '0.01',
    });
  });

  it('Given a plan change at 2026-03-16 00:00, then a record ending at it belongs to the old one', () => {
    // v1 (0.01 per KB) until Mar 16 00:00, v2 (1 per KB) from then.
    // Record ending Mar 16 00:00 (10 B): rated at 23:59:59.999 Mar 15 → v1: 1 KB → 0.01
    // Record ending Mar 16 00:00.001 (10 B): rated at Mar 16 00:00 → v2: 1 KB → 1.00
    const v1 = planVersion({ charges: [perRecord('1 KB', 'up', 'KB', '0.01')] }, 1);
    const v2 = planVersion({ charges: [perRecord('1 KB', 'up', 'KB', '1')] }, 2);
    const change = at('2026-03-16 00:00');
    const inv = rate({
      plans: [v1, v2],
      devices: [
        {
          id: 'd1',
          spans: [
            [at('2026-03-01 00:00'), change, v1],
            [change, at('2026-04-01 00:00'), v2],
          ],
          records: [record(change, { up: 10 }), record(change + 1, { up: 10 })],
        },
      ],
    });
    expect(lineWhere(inv, { plan_version: 1 }).amount).toBe('0.01');
    expect(lineWhere(inv, { plan_version: 2 }).amount).toBe('1.00');
    expect(inv.total).toBe('1.01');
  });

  it('Given a dims filter, then it applies to each record', () => {
    // The zero-rated record is left out; the other (10 B) → 1 KB → 0.01
    const inv = rate({
      plans: onePlan({
        ...perRecord('1 KB'),
        filter: { exclude_dims: { rg: 'zero-rated' } },
      }),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-05 10:01'), { up: 10, dims: { rg: 'zero-rated' } }),
            record(at('2026-03-05 10:02'), { up: 10, dims: { rg: 'internet' } }),
          ],
        },
      ],
    });
    expect(lineWhere(inv, { charge: 'data' }).rated_quantity).toBe('1');
    expect(inv.total).toBe('0.01');
  });
});

const perPeriod = (increment: string, mode: string, included?: string) => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit: 'MB',
  ...(included ? { included: { quantity: included } } : {}),
  rounding: { per_period: { increment, mode } },
  pricing: { model: 'per_unit', price: '1' },
});

describe('rounding.per_period', () => {
  it('Given an allowance, then the period quantity is rounded after it', () => {
    // 12 MB used, 5 MB included (whole month: 31/31 of 5 MB), increment 10 MB up, 0.1/MB.
    // 12 - 5 = 7 → up to 10 MB → 10 × 0.1 = 1.00
    // (rounding before the allowance would give 20 - 5 = 15 → 1.50)
    const inv = rate({
      plans: onePlan({
        ...perPeriod('10 MB', 'up', '5 MB'),
        pricing: { model: 'per_unit', price: '0.1' },
      }),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 10:00'), { up: 12 * MB })] }],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      raw_quantity: '12000000',
      included: '5',
      rated_quantity: '10',
      amount: '1.00',
    });
  });

  // Included 100 MB, increment 1 MB, 1 per MB:
  //   a: 102.5 MB → 2.5   b: 103.5 MB → 3.5   c: 100.2 MB → 0.2
  //   up:        3 + 4 + 1 = 8.00
  //   down:      2 + 3 + 0 = 5.00
  //   half_up:   3 + 4 + 0 = 7.00
  //   half_even: 2 + 4 + 0 = 6.00
  it.each([
    ['up', ['3', '4', '1'], '8.00'],
    ['down', ['2', '3', '0'], '5.00'],
    ['half_up', ['3', '4', '0'], '7.00'],
    ['half_even', ['2', '4', '0'], '6.00'],
  ])('per_period mode %s', (mode, rated, total) => {
    const inv = rate({
      plans: onePlan(perPeriod('1 MB', mode, '100 MB')),
      devices: [
        { id: 'a', samples: [sample(at('2026-03-05 10:00'), { up: 102_500_000 })] },
        { id: 'b', samples: [sample(at('2026-03-05 10:00'), { up: 103_500_000 })] },
        { id: 'c', samples: [sample(at('2026-03-05 10:00'), { up: 100_200_000 })] },
      ],
    });
    expect(['a', 'b', 'c'].map((d) => lineWhere(inv, { device: d }).rated_quantity)).toEqual(rated);
    expect(inv.total).toBe(total);
  });

  it('Given per-record and per-period rounding, then records first, the period after', () => {
    // Three records of 1 B → 1 KB each → 3 KB; period up to 1 MB = 1000 KB × 0.001 = 1.00
    const inv = rate({
      plans: onePlan({
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'KB',
        rounding: {
          per_record: { increment: '1 KB', mode: 'up' },
          per_period: { increment: '1 MB', mode: 'up' },
        },
        pricing: { model: 'per_unit', price: '0.001' },
      }),
      devices: [
        {
          id: 'd1',
          records: [
            record(at('2026-03-05 10:01'), { up: 1 }),
            record(at('2026-03-05 10:02'), { up: 1 }),
            record(at('2026-03-05 10:03'), { up: 1 }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      rated_quantity: '1000',
      unit: 'KB',
      amount: '1.00',
    });
  });
});
