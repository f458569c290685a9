// Per-unit pricing: quantity in the charge's unit × price, each line rounded to the currency's
// minor unit by the plan's amount_rounding. Expected values are computed by hand in comments.
import { describe, it, expect } from 'vitest';
import {
  GB,
  KB,
  MB,
  GiB,
  at,
  brief,
  lineWhere,
  onePlan,
  planVersion,
  rate,
  sample,
} from './helpers/rating.ts';

const data = (unit: string, price: string, meter = 'total') => ({
  id: 'data',
  type: 'usage',
  meter,
  unit,
  pricing: { model: 'per_unit', price },
});

describe('per-unit price, decimal units (1 KB = 1000 B)', () => {
  it('Given 4.5 MB at 0.015 per MB, then one line of 0.07 with bytes, MB and the price', () => {
    // Given two samples: (1,000,000 up + 2,500,000 down) + 1,000,000 down = 4,500,000 B
    //   = 4.5 MB; 4.5 × 0.015 = 0.0675 → half_up to 2 places → 0.07.
    const inv = rate({
      plans: onePlan(data('MB', '0.015')),
      devices: [
        {
          id: 'd1',
          samples: [
            sample(at('2026-03-02 10:00'), { up: 1_000_000, down: 2_500_000 }),
            sample(at('2026-03-20 23:55'), { down: 1_000_000 }),
          ],
        },
      ],
    });
    expect(inv.lines).toHaveLength(1);
    const l = lineWhere(inv, { charge: 'data', device: 'd1' });
    expect(brief(l)).toMatchObject({
      kind: 'usage',
      raw_quantity: '4500000',
      rated_quantity: '4.5',
      unit: 'MB',
      unit_price: '0.015',
      amount: '0.07',
    });
    expect(l.meter).toBe('total');
    expect(l.from).toBe('2026-03-01T00:00:00.000Z');
    expect(l.to).toBe('2026-04-01T00:00:00.000Z');
    expect(inv.total).toBe('0.07');
    expect(inv.currency).toBe('EUR');
  });

  it('Given unit B, the rated quantity is the byte count', () => {
    // 1,234,567 B × 0.000001 = 1.234567 → 1.23
    const inv = rate({
      plans: onePlan(data('B', '0.000001')),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 1_234_567 })] }],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '1234567',
      rated_quantity: '1234567',
      unit: 'B',
      amount: '1.23',
    });
    expect(inv.total).toBe('1.23');
  });

  it('Given a charge without unit, quantities are in bytes', () => {
    // 2,000 B × 0.0005 = 1.00
    const inv = rate({
      plans: onePlan({
        id: 'data',
        type: 'usage',
        meter: 'total',
        pricing: { model: 'per_unit', price: '0.0005' },
      }),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { down: 2_000 })] }],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      rated_quantity: '2000',
      unit: 'B',
      amount: '1.00',
    });
  });

  it('Given 10,240,000 B priced per KB, then 10,240 KB decimal', () => {
    // 10,240,000 / 1000 = 10,240 KB × 0.001 = 10.24
    const inv = rate({
      plans: onePlan(data('KB', '0.001')),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { down: 10_240_000 })] }],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '10240000',
      rated_quantity: '10240',
      unit: 'KB',
      amount: '10.24',
    });
    expect(inv.total).toBe('10.24');
  });

  it('Given up and down metered separately, then one line per charge and device', () => {
    // up: 3 GB × 0.5 = 1.50; down: 12 GB × 0.25 = 3.00. Two devices: d2 sends 1 GB up only
    // → d2 up 0.50, and no down line for d2 (nothing to rate).
    const inv = rate({
      plans: planVersion({
        charges: [
          { ...data('GB', '0.5', 'up'), id: 'up' },
          { ...data('GB', '0.25', 'down'), id: 'down' },
        ],
      }),
      devices: [
        { id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 3 * GB, down: 12 * GB })] },
        { id: 'd2', samples: [sample(at('2026-03-06 00:00'), { up: 1 * GB })] },
      ],
    });
    expect(inv.lines.map((l) => [l.charge, l.device, l.meter, l.amount])).toEqual([
      ['up', 'd1', 'up', '1.50'],
      ['up', 'd2', 'up', '0.50'],
      ['down', 'd1', 'down', '3.00'],
    ]);
    expect(lineWhere(inv, { charge: 'down', device: 'd1' }).rated_quantity).toBe('12');
    // 1.50 + 0.50 + 3.00
    expect(inv.total).toBe('5.00');
  });

  it('Given a device without usage, then it has no usage line', () => {
    const inv = rate({
      plans: onePlan(data('MB', '1')),
      devices: [
        { id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 1 * MB })] },
        { id: 'idle' },
      ],
    });
    expect(inv.lines.map((l) => l.device)).toEqual(['d1']);
    expect(inv.total).toBe('1.00');
  });

  it('Given samples outside the device assignment, then they are not rated', () => {
    // Assigned 2026-03-10 00:00 → 2026-03-20 00:00; only the 2 MB sample inside counts.
    // 2 MB × 1 = 2.00
    const inv = rate({
      plans: onePlan(data('MB', '1')),
      devices: [
        {
          id: 'd1',
          spans: [[at('2026-03-10 00:00'), at('2026-03-20 00:00')]],
          samples: [
            sample(at('2026-03-09 23:55'), { up: 100 * MB }),
            sample(at('2026-03-15 12:00'), { up: 2 * MB }),
            sample(at('2026-03-20 00:00'), { up: 100 * MB }),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '2000000',
      rated_quantity: '2',
      amount: '2.00',
    });
  });
});

describe('per-unit price, binary units (plan units: binary, 1 KB = 1024 B)', () => {
  it('Given 10,240,000 B priced per KB, then 10,000 KB', () => {
    // 10,240,000 / 1024 = 10,000 KB × 0.001 = 10.00 (decimal units would give 10.24)
    const inv = rate({
      plans: onePlan(data('KB', '0.001'), { units: 'binary' }),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { down: 10_240_000 })] }],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '10240000',
      rated_quantity: '10000',
      unit: 'KB',
      amount: '10.00',
    });
  });

  it('Given 1.5 × 2^30 B priced per GB, then 1.5 GB', () => {
    // 1,610,612,736 B / 1,073,741,824 = 1.5 GB × 3 = 4.50
    const inv = rate({
      plans: onePlan(data('GB', '3'), { units: 'binary' }),
      devices: [
        { id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: GiB, down: GiB / 2 })] },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '1610612736',
      rated_quantity: '1.5',
      unit: 'GB',
      amount: '4.50',
    });
  });

  it('Given 1,500,000 B priced per MB, then the exact binary fraction', () => {
    // 1,500,000 / 1,048,576 = 1.430511474609375 MB (finite: the divisor is 2^20)
    // × 2 = 2.86102294921875 → 2.86
    const inv = rate({
      plans: onePlan(data('MB', '2'), { units: 'binary' }),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 1_500_000 })] }],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      rated_quantity: '1.430511474609375',
      amount: '2.86',
    });
  });
});

describe('unit_price is the price as the plan writes it', () => {
  it('Given prices "0.010" and "2.00", then the lines show "0.010" and "2.00"', () => {
    // plan.ts: prices are "Kept as written ("2.00" stays "2.00"): invoices show the price the
    // plan states." 100 KB × 0.010 = 1.00; 1 GB × 2.00 = 2.00.
    const inv = rate({
      plans: planVersion({
        charges: [
          { ...data('KB', '0.010', 'up'), id: 'up' },
          { ...data('GB', '2.00', 'down'), id: 'down' },
        ],
      }),
      devices: [
        { id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 100 * KB, down: 1 * GB })] },
      ],
    });
    expect(lineWhere(inv, { charge: 'up' }).amount).toBe('1.00');
    expect(lineWhere(inv, { charge: 'down' }).amount).toBe('2.00');
    expect([
      lineWhere(inv, { charge: 'up' }).unit_price,
      lineWhere(inv, { charge: 'down' }).unit_price,
    ]).toEqual(['0.010', '2.00']);
  });
});

describe('amounts rounded to the currency minor unit', () => {
  it('Given JPY (0 decimals), then amounts are whole yen', () => {
    // 2,345,000,000 B = 2.345 GB × 150 = 351.75 → half_up to 0 places → 352
    const inv = rate({
      plans: onePlan(data('GB', '150'), { currency: 'JPY' }),
      devices: [{ id: 'd1', samples: [sample(at('2026-03-05 00:00'), { down: 2_345_000_000 })] }],
    });
    expect(inv.currency).toBe('JPY');
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      rated_quantity: '2.345',
      unit_price: '150',
      amount: '352',
    });
    expect(inv.total).toBe('352');
  });

  it('Given KWD (3 decimals), then amounts have 3 places', () => {
    // d1: 12,345,678 B = 12.345678 MB × 0.0125 = 0.154320975 → 0.154
    // d2: 100,000 B = 0.1 MB × 0.0125 = 0.00125 → 0.001 (half_up: next digit 2)
    // total 0.154 + 0.001 = 0.155
    const inv = rate({
      plans: onePlan(data('MB', '0.0125'), { currency: 'KWD' }),
      devices: [
        { id: 'd1', samples: [sample(at('2026-03-05 00:00'), { up: 12_345_678 })] },
        { id: 'd2', samples: [sample(at('2026-03-05 00:00'), { up: 100_000 })] },
      ],
    });
    expect(lineWhere(inv, { device: 'd1' }).amount).toBe('0.154');
    expect(lineWhere(inv, { device: 'd2' }).amount).toBe('0.001');
    expect(inv.total).toBe('0.155');
  });
});

describe('amount_rounding modes: each line is rounded, the total adds the rounded lines', () => {
  // Three devices at 0.01 per MB:
  //   a: 12.5 MB → 0.125 (a tie)      b: 13.5 MB → 0.135 (a tie)      c: 12.1 MB → 0.121
  // up (away from zero):  0.13 + 0.14 + 0.13 = 0.40
  // down (towards zero):  0.12 + 0.13 + 0.12 = 0.37
  // half_up:              0.13 + 0.14 + 0.12 = 0.39
  // half_even:            0.12 + 0.14 + 0.12 = 0.38   (ties go to the even digit)
  // The exact sum 0.381 is never rounded as a whole: half_up gives 0.39, not 0.38.
  it.each([
    ['up', ['0.13', '0.14', '0.13'], '0.40'],
    ['down', ['0.12', '0.13', '0.12'], '0.37'],
    ['half_up', ['0.13', '0.14', '0.12'], '0.39'],
    ['half_even', ['0.12', '0.14', '0.12'], '0.38'],
  ])('amount_rounding %s', (mode, amounts, total) => {
    const inv = rate({
      plans: onePlan(data('MB', '0.01'), { amount_rounding: mode }),
      devices: [
        { id: 'a', samples: [sample(at('2026-03-05 00:00'), { up: 12_500_000 })] },
        { id: 'b', samples: [sample(at('2026-03-05 00:00'), { up: 13_500_000 })] },
        { id: 'c', samples: [sample(at('2026-03-05 00:00'), { up: 12_100_000 })] },
      ],
    });
    expect(['a', 'b', 'c'].map((d) => lineWhere(inv, { device: d }).amount)).toEqual(amounts);
    expect(inv.total).toBe(total);
  });

  it('Given no amount_rounding, then half_up is the default', () => {
    // 12.5 MB × 0.01 = 0.125 → 0.13
    const inv = rate({
      plans: onePlan(data('MB', '0.01')),
      devices: [{ id: 'a', samples: [sample(at('2026-03-05 00:00'), { up: 12_500_000 })] }],
    });
    expect(inv.total).toBe('0.13');
  });
});
