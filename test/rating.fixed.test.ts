// Fixed fees per device (devices: active = devices that reported any usage in the period,
// assigned = every assigned device) and per account, prorated by days:
// amount = fee × days / days of the month. Expected values by hand; March has 31 days.
import { describe, it, expect } from 'vitest';
import {
  BERLIN,
  MB,
  at,
  brief,
  lineWhere,
  linesWhere,
  planVersion,
  rate,
  sample,
} from './helpers/rating.ts';

const END = at('2026-04-01 00:00');
const START = at('2026-03-01 00:00');
const perDevice = (extra: Record<string, unknown> = {}) => ({
  id: 'fee',
  type: 'fixed',
  per: 'device',
  amount: '3.00',
  ...extra,
});
const active = (id: string, when = '2026-03-25 10:00', dims: Record<string, string> = {}) => ({
  id,
  samples: [sample(at(when), { up: 1 * MB, dims })],
});

describe('fixed fee per device', () => {
  it('Given devices: active, then only devices with usage pay, prorated by their days', () => {
    // a: whole month, active → 3.00 × 31/31 = 3.00
    // b: whole month, no usage → inactive → no fee
    // c: from Mar 22 (Mar 22..31 = 10 days), active → 3.00 × 10/31 = 0.9677… → 0.97
    // total 3.97
    const inv = rate({
      plans: planVersion({ charges: [perDevice()] }),
      devices: [
        active('a'),
        { id: 'b' },
        { ...active('c'), spans: [[at('2026-03-22 00:00'), END]] },
      ],
    });
    expect(inv.lines.map((l) => [l.device, l.amount])).toEqual([
      ['a', '3.00'],
      ['c', '0.97'],
    ]);
    expect(brief(lineWhere(inv, { device: 'a' }))).toMatchObject({
      kind: 'fixed',
      charge: 'fee',
      raw_quantity: '31',
      rated_quantity: '31',
      unit: 'day (of 31)',
      unit_price: '3.00',
      amount: '3.00',
    });
    const c = lineWhere(inv, { device: 'c' });
    expect(brief(c)).toMatchObject({ rated_quantity: '10', unit: 'day (of 31)', amount: '0.97' });
    expect(c.prorated_days).toBe(10);
    expect(c.description).toBe('Fee per device (fee), 10 of 31 days');
    expect(inv.active_devices).toBe(2);
    expect(inv.total).toBe('3.97');
  });

  it('Given devices: assigned, then every assigned device pays, with or without usage', () => {
    // a 3.00 + b 3.00 + c 0.97 = 6.97
    const inv = rate({
      plans: planVersion({ charges: [perDevice({ devices: 'assigned' })] }),
      devices: [
        active('a'),
        { id: 'b' },
        { ...active('c'), spans: [[at('2026-03-22 00:00'), END]] },
      ],
    });
    expect(inv.lines.map((l) => [l.device, l.amount])).toEqual([
      ['a', '3.00'],
      ['b', '3.00'],
      ['c', '0.97'],
    ]);
    expect(inv.total).toBe('6.97');
  });

  it('Given usage that a filter zero-rates, then the device is still active (it reported usage)', () => {
    // The only sample is zero-rated (excluded from the data charge): data line 0 → none,
    // but the device reported usage → fee 3.00
    const inv = rate({
      plans: planVersion({
        charges: [
          {
            id: 'data',
            type: 'usage',
            meter: 'total',
            unit: 'MB',
            filter: { exclude_dims: { rg: 'zero-rated' } },
            pricing: { model: 'per_unit', price: '1' },
          },
          perDevice(),
        ],
      }),
      devices: [active('a', '2026-03-25 10:00', { rg: 'zero-rated' })],
    });
    expect(inv.lines.map((l) => [l.kind, l.device, l.amount])).toEqual([['fixed', 'a', '3.00']]);
    expect(inv.active_devices).toBe(1);
  });

  it('Given prorate: false, then a partial month pays the whole fee', () => {
    // a 3.00 + c (10 days, not prorated) 3.00 = 6.00
    const inv = rate({
      plans: planVersion({ charges: [perDevice({ prorate: false })] }),
      devices: [active('a'), { ...active('c'), spans: [[at('2026-03-22 00:00'), END]] }],
    });
    expect(brief(lineWhere(inv, { device: 'c' }))).toMatchObject({
      raw_quantity: '1',
      rated_quantity: '1',
      unit: 'month',
      unit_price: '3.00',
      amount: '3.00',
    });
    expect(lineWhere(inv, { device: 'c' }).prorated_days).toBeUndefined();
    expect(inv.total).toBe('6.00');
  });

  it('Given a Berlin account, then days are local days', () => {
    // Assigned from 2026-03-22 00:30 Berlin (= Mar 21 23:30 UTC) → local Mar 22..31 = 10 days
    // 3.00 × 10/31 → 0.97
    const inv = rate({
      zone: BERLIN,
      plans: planVersion({ charges: [perDevice()] }),
      devices: [
        {
          ...active('c'),
          spans: [[at('2026-03-22 00:30', BERLIN), at('2026-04-01 00:00', BERLIN)]],
        },
      ],
    });
    expect(lineWhere(inv, { device: 'c' }).prorated_days).toBe(10);
    expect(inv.total).toBe('0.97');
  });

  it('Given a plan change on Mar 16, then each version charges its own days', () => {
    // v1 3.10 × 15/31 (Mar 1..15) = 1.50; v2 6.20 × 16/31 (Mar 16..31) = 3.20; total 4.70
    const v1 = planVersion({ charges: [perDevice({ amount: '3.10' })] }, 1);
    const v2 = planVersion({ charges: [perDevice({ amount: '6.20' })] }, 2);
    const change = at('2026-03-16 00:00');
    const inv = rate({
      plans: [v1, v2],
      devices: [
        {
          id: 'a',
          spans: [
            [START, change, v1],
            [change, END, v2],
          ],
          samples: [
            sample(at('2026-03-05 10:00'), { up: MB }),
            sample(at('2026-03-20 10:00'), { up: MB }),
          ],
        },
      ],
    });
    expect(
      inv.lines.map((l) => [l.plan_version, l.rated_quantity, l.unit_price, l.amount]),
    ).toEqual([
      [1, '15', '3.10', '1.50'],
      [2, '16', '6.20', '3.20'],
    ]);
    expect(inv.total).toBe('4.70');
  });
});

describe('fixed fee per account', () => {
  it('Given a whole month, then the fee is charged once, not per device', () => {
    const inv = rate({
      plans: planVersion({
        charges: [{ id: 'base', type: 'fixed', per: 'account', amount: '10.00' }],
      }),
      devices: [active('a'), active('b')],
    });
    expect(linesWhere(inv, { kind: 'fixed' })).toHaveLength(1);
    const l = lineWhere(inv, { charge: 'base' });
    expect(l.device).toBeUndefined();
    expect(brief(l)).toMatchObject({ rated_quantity: '31', unit_price: '10.00', amount: '10.00' });
    expect(inv.total).toBe('10.00');
  });

  it('Given the account on the plan from Mar 22, then 10 of 31 days', () => {
    // 10.00 × 10/31 = 3.2258… → 3.23
    const from = at('2026-03-22 00:00');
    const inv = rate({
      plans: planVersion({
        charges: [{ id: 'base', type: 'fixed', per: 'account', amount: '10.00' }],
      }),
      accountSpans: [[from, END]],
      devices: [{ ...active('a'), spans: [[from, END]] }],
    });
    const l = lineWhere(inv, { charge: 'base' });
    expect(l.prorated_days).toBe(10);
    expect(l.amount).toBe('3.23');
    expect(inv.total).toBe('3.23');
  });
});
