// Packages (blocks): a price per started package, packages = ceil(quantity / size).
// The plan here: 2.00 per started 500 MB. Expected values by hand.
import { describe, it, expect } from 'vitest';
import { GB, MB, MiB, at, brief, lineWhere, onePlan, rate, sample } from './helpers/rating.ts';

const pkg = (extra: Record<string, unknown> = {}) => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit: 'MB',
  pricing: { model: 'package', size: '500 MB', price: '2.00' },
  ...extra,
});

const used = (id: string, bytes: number) => ({
  id,
  samples: [sample(at('2026-03-05 10:00'), { up: bytes })],
});

describe('package: 2.00 per started 500 MB', () => {
  it('Given 1.2 GB, then 3 packages of 500 MB: 6.00', () => {
    // 1,200 MB / 500 = 2.4 → 3 started packages × 2.00 = 6.00
    const inv = rate({ plans: onePlan(pkg()), devices: [used('d1', 1.2 * GB)] });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      kind: 'usage',
      raw_quantity: '1200000000',
      rated_quantity: '3',
      unit: 'package of 500 MB',
      amount: '6.00',
    });
    expect(inv.total).toBe('6.00');
  });

  it('Given the package price "2.00", then unit_price reads "2.00" as written', () => {
    // plan.ts keeps prices as written ("2.00" stays "2.00"); 1 package × 2.00 = 2.00
    const inv = rate({ plans: onePlan(pkg()), devices: [used('d1', 1 * MB)] });
    expect(lineWhere(inv, { device: 'd1' }).amount).toBe('2.00');
    expect(lineWhere(inv, { device: 'd1' }).unit_price).toBe('2.00');
  });

  //   1 B            → ceil(0.000001)  = 1 → 2.00
  //   500 MB         → ceil(1)         = 1 → 2.00
  //   500 MB + 1 B   → ceil(1.000000002) = 2 → 4.00
  //   1000 MB        → ceil(2)         = 2 → 4.00
  it.each([
    [1, '1', '2.00'],
    [500 * MB, '1', '2.00'],
    [500 * MB + 1, '2', '4.00'],
    [1000 * MB, '2', '4.00'],
  ])('Given %d B, then %s package(s): %s', (bytes, packages, amount) => {
    const inv = rate({ plans: onePlan(pkg()), devices: [used('d1', bytes)] });
    expect(lineWhere(inv, { device: 'd1' })).toMatchObject({
      rated_quantity: packages,
      amount,
    });
    expect(inv.total).toBe(amount);
  });

  it('Given binary units, then a package of 500 MB is 524,288,000 B', () => {
    // 500 × 1,048,576 = 524,288,000 B → 1 package; one byte more → 2 packages
    const inv = rate({
      plans: onePlan(pkg(), { units: 'binary' }),
      devices: [used('a', 500 * MiB), used('b', 500 * MiB + 1)],
    });
    expect(lineWhere(inv, { device: 'a' }).rated_quantity).toBe('1');
    expect(lineWhere(inv, { device: 'b' }).rated_quantity).toBe('2');
    // 2.00 + 4.00
    expect(inv.total).toBe('6.00');
  });

  it('Given a GB charge with a 500 MB package, then the size converts: 0.5 GB', () => {
    // 1.2 GB / 0.5 GB = 2.4 → 3 packages → 6.00; the unit names the size as written
    const inv = rate({ plans: onePlan(pkg({ unit: 'GB' })), devices: [used('d1', 1.2 * GB)] });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      rated_quantity: '3',
      unit: 'package of 500 MB',
      amount: '6.00',
    });
  });

  it('Given a size without unit, then it is in the charge unit', () => {
    // size "500" on an MB charge = 500 MB; 1.2 GB → 3 packages → 6.00
    const inv = rate({
      plans: onePlan(pkg({ pricing: { model: 'package', size: '500', price: '2' } })),
      devices: [used('d1', 1.2 * GB)],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      rated_quantity: '3',
      unit: 'package of 500 MB',
      amount: '6.00',
    });
  });

  it('Given an allowance of 1 GB, then packages count the overage only', () => {
    // a: 1.2 GB - 1 GB = 200 MB → 1 package → 2.00
    // b: 1 GB - 1 GB = 0 → 0 packages → 0.00
    const inv = rate({
      plans: onePlan(pkg({ included: { quantity: '1 GB' } })),
      devices: [used('a', 1.2 * GB), used('b', 1 * GB)],
    });
    expect(brief(lineWhere(inv, { device: 'a' }))).toMatchObject({
      included: '1000',
      rated_quantity: '1',
      amount: '2.00',
    });
    expect(brief(lineWhere(inv, { device: 'b' }))).toMatchObject({
      rated_quantity: '0',
      amount: '0.00',
    });
    expect(inv.total).toBe('2.00');
  });

  it('Given account scope, then packages are counted on the summed usage', () => {
    // Two devices of 200 MB: account 400 MB → 1 package → 2.00
    // (per device it would be 1 + 1 packages → 4.00)
    const inv = rate({
      plans: onePlan(pkg({ scope: 'account' })),
      devices: [used('a', 200 * MB), used('b', 200 * MB)],
    });
    expect(inv.lines).toHaveLength(1);
    const l = lineWhere(inv, { charge: 'data' });
    expect(l.device).toBeUndefined();
    expect(brief(l)).toMatchObject({
      raw_quantity: '400000000',
      rated_quantity: '1',
      amount: '2.00',
    });
    expect(inv.total).toBe('2.00');
  });
});
