// Included allowances with overage: per device (prorated by the days the device was assigned in
// the period; the day of a change belongs to the new assignment; a prorated allowance is cut
// down to whole bytes) and pooled across the account's devices (pool = allowance × active
// devices, each prorated by its days; inactive devices add nothing). Expected values by hand.
// March 2026 has 31 days.
import { describe, it, expect } from 'vitest';
import {
  BERLIN,
  GB,
  MiB,
  at,
  brief,
  lineWhere,
  onePlan,
  planVersion,
  rate,
  sample,
} from './helpers/rating.ts';

const END = at('2026-04-01 00:00');
const START = at('2026-03-01 00:00');

const withAllowance = (included: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit: 'GB',
  included,
  pricing: { model: 'per_unit', price: '1' },
  ...extra,
});

const usedAt = (ms: number, bytes: number) => sample(ms, { down: bytes });

describe('allowance per device', () => {
  it('Given a whole month, then the full 1 GB is included and only the overage is priced', () => {
    // a: 1.5 GB - 1 GB = 0.5 GB × 1 = 0.50
    // b: 0.8 GB - 1 GB → 0 GB → 0.00 (a line with nothing to pay)
    const inv = rate({
      plans: onePlan(withAllowance({ quantity: '1 GB' })),
      devices: [
        { id: 'a', samples: [usedAt(at('2026-03-05 10:00'), 1.5 * GB)] },
        { id: 'b', samples: [usedAt(at('2026-03-05 10:00'), 0.8 * GB)] },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'a' }))).toMatchObject({
      raw_quantity: '1500000000',
      included: '1',
      rated_quantity: '0.5',
      unit: 'GB',
      amount: '0.50',
    });
    expect(lineWhere(inv, { device: 'a' }).prorated_days).toBe(31);
    expect(brief(lineWhere(inv, { device: 'b' }))).toMatchObject({
      included: '1',
      rated_quantity: '0',
      amount: '0.00',
    });
    expect(inv.total).toBe('0.50');
  });

  it('Given a device arriving and one leaving on Mar 11, then 21 and 10 days, cut to whole bytes', () => {
    // in: assigned from Mar 11 10:00 → days Mar 11..31 = 21
    //   allowance 1,000,000,000 × 21/31 = 677,419,354.83… → 677,419,354 B = 0.677419354 GB
    //   used 1 GB → 1 - 0.677419354 = 0.322580646 GB × 1 → 0.32
    // out: assigned until Mar 11 10:00 → days Mar 1..10 = 10 (Mar 11 belongs to the new
    //   assignment)
    //   allowance 1,000,000,000 × 10/31 = 322,580,645.16… → 322,580,645 B = 0.322580645 GB
    //   used 0.5 GB while assigned → 0.177419355 GB → 0.18; the 5 GB of Mar 20 is not ours
    // total 0.32 + 0.18 = 0.50
    const move = at('2026-03-11 10:00');
    const inv = rate({
      plans: onePlan(withAllowance({ quantity: '1 GB' })),
      devices: [
        { id: 'in', spans: [[move, END]], samples: [usedAt(at('2026-03-15 10:00'), 1 * GB)] },
        {
          id: 'out',
          spans: [[START, move]],
          samples: [
            usedAt(at('2026-03-05 10:00'), 0.5 * GB),
            usedAt(at('2026-03-20 10:00'), 5 * GB),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'in' }))).toMatchObject({
      included: '0.677419354',
      rated_quantity: '0.322580646',
      amount: '0.32',
    });
    expect(lineWhere(inv, { device: 'in' }).prorated_days).toBe(21);
    expect(brief(lineWhere(inv, { device: 'out' }))).toMatchObject({
      raw_quantity: '500000000',
      included: '0.322580645',
      rated_quantity: '0.177419355',
      amount: '0.18',
    });
    expect(lineWhere(inv, { device: 'out' }).prorated_days).toBe(10);
    expect(inv.devices.map((d) => [d.device, d.assigned_days])).toEqual([
      ['in', 21],
      ['out', 10],
    ]);
    expect(inv.total).toBe('0.50');
  });

  it('Given changes at 00:05 and 23:55 of Mar 11, then the day still belongs to the new assignment', () => {
    // left at Mar 11 00:05 → Mar 1..10 = 10 days; arrived Mar 11 23:55 → Mar 11..31 = 21 days
    const inv = rate({
      plans: onePlan(withAllowance({ quantity: '1 GB' })),
      devices: [
        {
          id: 'late',
          spans: [[at('2026-03-11 23:55'), END]],
          samples: [usedAt(at('2026-03-20 10:00'), 1 * GB)],
        },
        {
          id: 'early',
          spans: [[START, at('2026-03-11 00:05')]],
          samples: [usedAt(at('2026-03-05 10:00'), 1 * GB)],
        },
      ],
    });
    expect(lineWhere(inv, { device: 'late' }).prorated_days).toBe(21);
    expect(lineWhere(inv, { device: 'late' }).included).toBe('0.677419354');
    expect(lineWhere(inv, { device: 'early' }).prorated_days).toBe(10);
    expect(lineWhere(inv, { device: 'early' }).included).toBe('0.322580645');
  });

  it('Given an account in Europe/Berlin, then days are counted in local time', () => {
    // Arrives 2026-03-11 00:30 Berlin (= Mar 10 23:30 UTC): local days Mar 11..31 = 21
    // (22 if counted in UTC). Allowance 0.677419354 GB as above; 1 GB used → 0.32
    const inv = rate({
      zone: BERLIN,
      plans: onePlan(withAllowance({ quantity: '1 GB' })),
      devices: [
        {
          id: 'd1',
          spans: [[at('2026-03-11 00:30', BERLIN), at('2026-04-01 00:00', BERLIN)]],
          samples: [usedAt(at('2026-03-15 10:00'), 1 * GB)],
        },
      ],
    });
    const l = lineWhere(inv, { device: 'd1' });
    expect(l.prorated_days).toBe(21);
    expect(brief(l)).toMatchObject({ included: '0.677419354', amount: '0.32' });
  });

  it('Given binary units, then the prorated allowance is computed in binary bytes', () => {
    // 31 MB = 31 × 1,048,576 B; 10 days (Mar 22..31): × 10/31 = 10,485,760 B = 10 MB
    // 20 MB used → 10 MB over × 0.1 = 1.00
    const inv = rate({
      plans: onePlan(
        withAllowance(
          { quantity: '31 MB' },
          { unit: 'MB', pricing: { model: 'per_unit', price: '0.1' } },
        ),
        { units: 'binary' },
      ),
      devices: [
        {
          id: 'd1',
          spans: [[at('2026-03-22 00:00'), END]],
          samples: [usedAt(at('2026-03-25 10:00'), 20 * MiB)],
        },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '20971520',
      included: '10',
      rated_quantity: '10',
      amount: '1.00',
    });
  });

  it('Given prorate: false, then a partial month still gets the whole allowance', () => {
    // 10 days assigned, 1 GB included anyway: 1.5 - 1 = 0.5 GB → 0.50
    const inv = rate({
      plans: onePlan(withAllowance({ quantity: '1 GB', prorate: false })),
      devices: [
        {
          id: 'd1',
          spans: [[at('2026-03-22 00:00'), END]],
          samples: [usedAt(at('2026-03-25 10:00'), 1.5 * GB)],
        },
      ],
    });
    const l = lineWhere(inv, { device: 'd1' });
    expect(brief(l)).toMatchObject({ included: '1', rated_quantity: '0.5', amount: '0.50' });
    expect(l.prorated_days).toBeUndefined();
  });

  it('Given a plan change on Mar 16, then each version prorates its own allowance', () => {
    // 3.1 GB included. v1 Mar 1..15 = 15 days: 3.1 × 15/31 = 1.5 GB; v2 Mar 16..31 = 16
    // days: 3.1 × 16/31 = 1.6 GB.
    // v1: 2 GB used → 0.5 GB × 1 = 0.50; v2: 1 GB used → 0 → 0.00
    const doc = { charges: [withAllowance({ quantity: '3.1 GB' })] };
    const v1 = planVersion(doc, 1);
    const v2 = planVersion(doc, 2);
    const change = at('2026-03-16 00:00');
    const inv = rate({
      plans: [v1, v2],
      devices: [
        {
          id: 'd1',
          spans: [
            [START, change, v1],
            [change, END, v2],
          ],
          samples: [usedAt(at('2026-03-10 10:00'), 2 * GB), usedAt(at('2026-03-20 10:00'), 1 * GB)],
        },
      ],
    });
    expect(brief(lineWhere(inv, { plan_version: 1 }))).toMatchObject({
      included: '1.5',
      rated_quantity: '0.5',
      amount: '0.50',
    });
    expect(brief(lineWhere(inv, { plan_version: 2 }))).toMatchObject({
      included: '1.6',
      rated_quantity: '0',
      amount: '0.00',
    });
    expect(inv.total).toBe('0.50');
  });
});

describe('allowance pooled across the account (scope: account, pooled: true)', () => {
  const pooled = onePlan(
    withAllowance(
      { quantity: '1 GB', pooled: true },
      { scope: 'account', pricing: { model: 'per_unit', price: '2' } },
    ),
  );

  it('Given one full-month, one new and one inactive device, then the pool is 1 + 15/31 GB', () => {
    // a: whole month, active, 1.2 GB → 1 GB in the pool
    // b: from Mar 17 (Mar 17..31 = 15 days), active, 0.5 GB
    //    → 1,000,000,000 × 15/31 = 483,870,967.74… → 483,870,967 B
    // c: whole month, no usage → inactive → adds nothing
    // pool = 1,483,870,967 B = 1.483870967 GB; used 1.7 GB
    // overage 1.7 - 1.483870967 = 0.216129033 GB × 2 = 0.432258066 → 0.43
    const inv = rate({
      plans: pooled,
      devices: [
        { id: 'a', samples: [usedAt(at('2026-03-05 10:00'), 1.2 * GB)] },
        {
          id: 'b',
          spans: [[at('2026-03-17 00:00'), END]],
          samples: [usedAt(at('2026-03-20 10:00'), 0.5 * GB)],
        },
        { id: 'c' },
      ],
    });
    expect(inv.lines).toHaveLength(1);
    const l = lineWhere(inv, { charge: 'data' });
    expect(l.device).toBeUndefined();
    expect(brief(l)).toMatchObject({
      raw_quantity: '1700000000',
      included: '1.483870967',
      rated_quantity: '0.216129033',
      amount: '0.43',
    });
    expect(inv.total).toBe('0.43');
    expect(inv.active_devices).toBe(2);
    // The account line is shared by bytes, largest remainder: 43 cents × 12/17 = 30.35,
    // × 5/17 = 12.65, × 0/17 = 0 → floors 30 + 12 = 42, the cent left goes to b (0.65).
    expect(inv.allocations).toEqual([
      { line: 1, device: 'a', amount: '0.30' },
      { line: 1, device: 'b', amount: '0.13' },
      { line: 1, device: 'c', amount: '0.00' },
    ]);
  });

  it('Given the third device active too, then the pool grows by its 1 GB', () => {
    // pool = 1 + 0.483870967 + 1 = 2.483870967 GB; used 1.2 + 0.5 + 0.1 = 1.8 GB → 0 → 0.00
    const inv = rate({
      plans: pooled,
      devices: [
        { id: 'a', samples: [usedAt(at('2026-03-05 10:00'), 1.2 * GB)] },
        {
          id: 'b',
          spans: [[at('2026-03-17 00:00'), END]],
          samples: [usedAt(at('2026-03-20 10:00'), 0.5 * GB)],
        },
        { id: 'c', samples: [usedAt(at('2026-03-05 10:00'), 0.1 * GB)] },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'data' }))).toMatchObject({
      raw_quantity: '1800000000',
      included: '2.483870967',
      rated_quantity: '0',
      amount: '0.00',
    });
  });

  it('Given the same usage without pooling, then one device pays while the other has spare', () => {
    // Device scope, both whole month, 1 GB each at 2 per GB:
    //   a: 1.2 - 1 = 0.2 GB → 0.40; b: 0.5 - 1 → 0 → 0.00; total 0.40
    // Pooled: pool 2 GB ≥ 1.7 GB used → 0.00
    const devices = [
      { id: 'a', samples: [usedAt(at('2026-03-05 10:00'), 1.2 * GB)] },
      { id: 'b', samples: [usedAt(at('2026-03-05 10:00'), 0.5 * GB)] },
    ];
    const perDevice = rate({
      plans: onePlan(
        withAllowance({ quantity: '1 GB' }, { pricing: { model: 'per_unit', price: '2' } }),
      ),
      devices,
    });
    expect(perDevice.lines.map((l) => [l.device, l.rated_quantity, l.amount])).toEqual([
      ['a', '0.2', '0.40'],
      ['b', '0', '0.00'],
    ]);
    expect(perDevice.total).toBe('0.40');
    const shared = rate({ plans: pooled, devices });
    expect(brief(lineWhere(shared, { charge: 'data' }))).toMatchObject({
      included: '2',
      rated_quantity: '0',
      amount: '0.00',
    });
  });
});
