// Tiered pricing: graduated (each tier prices its own part, one line per tier reached, a tier's
// flat amount once the quantity enters it) and volume (the whole quantity at the price of the
// tier it falls in; a bound belongs to the tier it closes). Expected values by hand.
import { describe, it, expect } from 'vitest';
import { GB, MiB, at, brief, lineWhere, onePlan, rate, sample } from './helpers/rating.ts';

const tiered = (model: 'graduated' | 'volume', tiers: unknown[], extra = {}) => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit: 'GB',
  pricing: { model, tiers },
  ...extra,
});

const used = (id: string, bytes: number) => ({
  id,
  samples: [sample(at('2026-03-05 10:00'), { down: bytes })],
});

// 0-1 GB at 2; 1-10 GB at 1 plus 5 flat; above 10 GB at 0.5 plus 20 flat.
const GRADUATED = tiered('graduated', [
  { up_to: '1', price: '2' },
  { up_to: '10', price: '1', flat: '5' },
  { price: '0.5', flat: '20' },
]);

describe('graduated tiers', () => {
  it('Given 12.5 GB, then one line per tier with its part and flat amount', () => {
    // 0-1 GB:   1   × 2           =  2.00
    // 1-10 GB:  9   × 1   +  5    = 14.00
    // 10 GB+:   2.5 × 0.5 + 20    = 21.25
    // total                         37.25
    const inv = rate({ plans: onePlan(GRADUATED), devices: [used('d1', 12.5 * GB)] });
    expect(inv.lines.map(brief)).toMatchObject([
      {
        tier: '0-1 GB',
        raw_quantity: '12500000000',
        rated_quantity: '1',
        unit: 'GB',
        unit_price: '2',
        amount: '2.00',
      },
      { tier: '1-10 GB', rated_quantity: '9', unit_price: '1', amount: '14.00' },
      { tier: '10 GB+', rated_quantity: '2.5', unit_price: '0.5', amount: '21.25' },
    ]);
    expect(inv.lines.every((l) => l.device === 'd1' && l.charge === 'data')).toBe(true);
    expect(inv.total).toBe('37.25');
  });

  it('Given 0.4 GB, then only the first tier: 0.80', () => {
    // 0.4 × 2 = 0.80
    const inv = rate({ plans: onePlan(GRADUATED), devices: [used('d1', 0.4 * GB)] });
    expect(inv.lines.map(brief)).toMatchObject([
      { tier: '0-1 GB', rated_quantity: '0.4', amount: '0.80' },
    ]);
    expect(inv.total).toBe('0.80');
  });

  it('Given exactly 1 GB, then the next tier is not entered (no flat 5)', () => {
    // 1 × 2 = 2.00; the quantity is not above 1 GB, so tier 1-10 is not reached.
    const inv = rate({ plans: onePlan(GRADUATED), devices: [used('d1', 1 * GB)] });
    expect(inv.lines.map((l) => l.tier)).toEqual(['0-1 GB']);
    expect(inv.total).toBe('2.00');
  });

  it('Given 1 GB + 1 B, then the second tier is entered and its flat amount applies', () => {
    // 0-1 GB: 2.00; 1-10 GB: 0.000000001 × 1 + 5 = 5.000000001 → 5.00; total 7.00
    const inv = rate({ plans: onePlan(GRADUATED), devices: [used('d1', 1 * GB + 1)] });
    expect(inv.lines.map(brief)).toMatchObject([
      { tier: '0-1 GB', amount: '2.00' },
      { tier: '1-10 GB', rated_quantity: '0.000000001', amount: '5.00' },
    ]);
    expect(inv.total).toBe('7.00');
  });

  it('Given device scope, then each device climbs the tiers on its own', () => {
    // Each device 6 GB: 1 × 2 + (5 × 1 + 5) = 2.00 + 10.00 = 12.00; two devices: 24.00
    const inv = rate({
      plans: onePlan(GRADUATED),
      devices: [used('a', 6 * GB), used('b', 6 * GB)],
    });
    expect(inv.lines.map((l) => [l.device, l.tier, l.amount])).toEqual([
      ['a', '0-1 GB', '2.00'],
      ['a', '1-10 GB', '10.00'],
      ['b', '0-1 GB', '2.00'],
      ['b', '1-10 GB', '10.00'],
    ]);
    expect(inv.total).toBe('24.00');
  });

  it('Given account scope, then the summed usage climbs the tiers once', () => {
    // 6 + 6 = 12 GB: 1 × 2 = 2.00; 9 × 1 + 5 = 14.00; 2 × 0.5 + 20 = 21.00; total 37.00
    const inv = rate({
      plans: onePlan({ ...GRADUATED, scope: 'account' }),
      devices: [used('a', 6 * GB), used('b', 6 * GB)],
    });
    expect(inv.lines.map((l) => [l.device, l.tier, l.rated_quantity, l.amount])).toEqual([
      [undefined, '0-1 GB', '1', '2.00'],
      [undefined, '1-10 GB', '9', '14.00'],
      [undefined, '10 GB+', '2', '21.00'],
    ]);
    expect(inv.total).toBe('37.00');
  });

  it('Given bounds written in GB on an MB charge with binary units, then 1 GB = 1024 MB', () => {
    // 2 GiB = 2048 MB (binary): 0-1024 MB: 1024 × 0.01 = 10.24; 1024 MB+: 1024 × 0.005 = 5.12
    // total 15.36
    const inv = rate({
      plans: onePlan(
        tiered('graduated', [{ up_to: '1 GB', price: '0.01' }, { price: '0.005' }], {
          unit: 'MB',
        }),
        { units: 'binary' },
      ),
      devices: [used('d1', 2048 * MiB)],
    });
    expect(inv.lines.map(brief)).toMatchObject([
      { tier: '0-1024 MB', rated_quantity: '1024', unit: 'MB', amount: '10.24' },
      { tier: '1024 MB+', rated_quantity: '1024', amount: '5.12' },
    ]);
    expect(inv.total).toBe('15.36');
  });

  it('Given a count meter (meters.sms), then tiers count messages', () => {
    // 200 + 50 = 250 SMS: 0-100 free; 150 × 0.05 = 7.50
    const inv = rate({
      plans: onePlan({
        id: 'sms',
        type: 'usage',
        meter: 'meters.sms',
        pricing: { model: 'graduated', tiers: [{ up_to: 100, price: '0' }, { price: '0.05' }] },
      }),
      devices: [
        {
          id: 'd1',
          samples: [
            sample(at('2026-03-05 10:00'), { meters: { sms: '200' } }),
            sample(at('2026-03-06 10:00'), { meters: { sms: '50' } }),
          ],
        },
      ],
    });
    expect(inv.lines.map(brief)).toMatchObject([
      { tier: '0-100', raw_quantity: '250', rated_quantity: '100', unit: 'sms', amount: '0.00' },
      { tier: '100+', rated_quantity: '150', unit: 'sms', amount: '7.50' },
    ]);
    expect(inv.total).toBe('7.50');
  });
});

// 0-1 GB at 2; 1-10 GB at 1; above 10 GB at 0.5 plus 3 flat.
const VOLUME = tiered('volume', [
  { up_to: '1', price: '2' },
  { up_to: '10', price: '1' },
  { price: '0.5', flat: '3' },
]);

describe('volume tiers', () => {
  // The whole quantity at the tier it falls in (a bound belongs to the lower tier):
  //   0.4 GB → 0-1 GB:  0.4  × 2         = 0.80
  //   5 GB   → 1-10 GB: 5    × 1         = 5.00
  //   10 GB  → 1-10 GB: 10   × 1         = 10.00
  //   12.5 GB→ 10 GB+:  12.5 × 0.5 + 3   = 9.25  (cheaper than 10 GB: the volume cliff)
  it.each([
    [0.4 * GB, '0-1 GB', '0.4', '2', '0.80'],
    [5 * GB, '1-10 GB', '5', '1', '5.00'],
    [10 * GB, '1-10 GB', '10', '1', '10.00'],
    [12.5 * GB, '10 GB+', '12.5', '0.5', '9.25'],
  ])('Given %d B, then tier %s, quantity %s × %s = %s', (bytes, tier, qty, unitPrice, amount) => {
    const inv = rate({ plans: onePlan(VOLUME), devices: [used('d1', bytes)] });
    expect(inv.lines).toHaveLength(1);
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      tier,
      rated_quantity: qty,
      unit: 'GB',
      unit_price: unitPrice,
      amount,
    });
    expect(inv.total).toBe(amount);
  });

  it('Given a flat amount on the first tier, then it applies once usage is above zero', () => {
    // tiers: 0-1 GB flat 4 (price 0); above: 1 per GB plus 1 flat.
    //   a: 0.6 GB → 0-1 GB: 0 + 4 = 4.00
    //   b: 2 GB   → 1 GB+:  2 × 1 + 1 = 3.00
    //   total 7.00
    const inv = rate({
      plans: onePlan(
        tiered('volume', [
          { up_to: '1', price: '0', flat: '4' },
          { price: '1', flat: '1' },
        ]),
      ),
      devices: [used('a', 0.6 * GB), used('b', 2 * GB)],
    });
    expect(inv.lines.map((l) => [l.device, l.tier, l.amount])).toEqual([
      ['a', '0-1 GB', '4.00'],
      ['b', '1 GB+', '3.00'],
    ]);
    expect(inv.total).toBe('7.00');
  });

  it('Given usage inside the allowance, then a zero quantity costs nothing (no flat)', () => {
    // 0.5 GB used, 1 GB included (whole month) → 0 GB rated → first tier, 0.00
    const inv = rate({
      plans: onePlan(
        tiered('volume', [{ up_to: '1', price: '0', flat: '4' }, { price: '1' }], {
          included: { quantity: '1 GB' },
        }),
      ),
      devices: [used('a', 0.5 * GB)],
    });
    expect(brief(lineWhere(inv, { device: 'a' }))).toMatchObject({
      included: '1',
      rated_quantity: '0',
      amount: '0.00',
    });
    expect(inv.total).toBe('0.00');
  });
});
