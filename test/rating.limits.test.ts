// Minimums and caps, per device and per account, on the usage and peak lines only (fixed fees
// excluded). Device limits come first (a device minimum only for active devices), then account
// limits (which see the device top-ups and credits). Prorated limits are rounded to the minor
// unit; lines are compared as they print (rounded). Expected values by hand; March has 31 days.
import { describe, it, expect } from 'vitest';
import {
  GB,
  at,
  brief,
  lineWhere,
  linesWhere,
  planVersion,
  rate,
  sample,
} from './helpers/rating.ts';

const END = at('2026-04-01 00:00');
const data = (id = 'data', meter = 'total', price = '1') => ({
  id,
  type: 'usage',
  meter,
  unit: 'GB',
  pricing: { model: 'per_unit', price },
});
const used = (id: string, gb: number, when = '2026-03-25 10:00') => ({
  id,
  samples: [sample(at(when), { down: gb * GB })],
});

describe('minimum per device', () => {
  it('Given a minimum of 5, then a device at 2.00 is topped up by 3.00; inactive devices are not', () => {
    // a: 2 GB × 1 = 2.00 → top-up 5 - 2 = 3.00
    // b: 7 GB × 1 = 7.00 ≥ 5 → nothing
    // c: assigned, no usage → inactive → no minimum
    // total 2.00 + 7.00 + 3.00 = 12.00
    const inv = rate({
      plans: planVersion({ charges: [data()], minimum: [{ per: 'device', amount: '5' }] }),
      devices: [used('a', 2), used('b', 7), { id: 'c' }],
    });
    expect(inv.lines.map((l) => [l.kind, l.device, l.amount])).toEqual([
      ['usage', 'a', '2.00'],
      ['usage', 'b', '7.00'],
      ['minimum', 'a', '3.00'],
    ]);
    const top = lineWhere(inv, { kind: 'minimum' });
    expect(brief(top)).toMatchObject({
      charge: 'minimum',
      raw_quantity: '2',
      rated_quantity: '1',
      unit: 'adjustment',
      unit_price: '3',
      amount: '3.00',
    });
    expect(top.prorated_days).toBe(31);
    expect(inv.total).toBe('12.00');
  });

  it('Given peak and fixed charges, then peak lines count towards the minimum and fees do not', () => {
    // data (up, 1 per GB): 2 GB → 2.00
    // peak (max of in, 1 per Mbps): samples in = 0 and 37,500,000 B → 37,500,000 × 8 / 300
    //   = 1,000,000 bps = 1 Mbps → 1.00
    // fee: 10 per active device, whole month → 10.00
    // minimum 5 on 2.00 + 1.00 = 3.00 → top-up 2.00; total 2 + 1 + 10 + 2 = 15.00
    const inv = rate({
      plans: planVersion({
        charges: [
          data('data', 'up'),
          {
            id: 'peak',
            type: 'peak',
            method: 'max',
            direction: 'in',
            unit: 'Mbps',
            pricing: { model: 'per_unit', price: '1' },
          },
          { id: 'fee', type: 'fixed', per: 'device', amount: '10' },
        ],
        minimum: [{ per: 'device', amount: '5' }],
      }),
      devices: [
        {
          id: 'a',
          samples: [
            sample(at('2026-03-05 10:00'), { up: 2 * GB }),
            sample(at('2026-03-05 10:05'), { down: 37_500_000 }),
          ],
        },
      ],
    });
    expect(inv.lines.map((l) => [l.kind, l.charge, l.amount])).toEqual([
      ['usage', 'data', '2.00'],
      ['peak', 'peak', '1.00'],
      ['fixed', 'fee', '10.00'],
      ['minimum', 'minimum', '2.00'],
    ]);
    expect(lineWhere(inv, { kind: 'minimum' }).raw_quantity).toBe('3');
    expect(inv.total).toBe('15.00');
  });

  it('Given a device assigned 10 days, then its minimum is prorated and rounded to the cent', () => {
    // From Mar 22: Mar 22..31 = 10 days; 5 × 10/31 = 1.6129… → 1.61
    // usage 1 GB → 1.00 → top-up 0.61; total 1.61
    const inv = rate({
      plans: planVersion({ charges: [data()], minimum: [{ per: 'device', amount: '5' }] }),
      devices: [{ ...used('a', 1), spans: [[at('2026-03-22 00:00'), END]] }],
    });
    const top = lineWhere(inv, { kind: 'minimum' });
    expect(top.amount).toBe('0.61');
    expect(top.prorated_days).toBe(10);
    expect(top.description).toContain('1.61');
    expect(inv.total).toBe('1.61');
  });

  it('Given JPY, then the prorated minimum is rounded to whole yen', () => {
    // 1000 × 10/31 = 322.58… → 323; usage 1 GB × 100 = 100 → top-up 223; total 323
    const inv = rate({
      plans: planVersion({
        currency: 'JPY',
        charges: [data('data', 'total', '100')],
        minimum: [{ per: 'device', amount: '1000' }],
      }),
      devices: [{ ...used('a', 1), spans: [[at('2026-03-22 00:00'), END]] }],
    });
    expect(lineWhere(inv, { kind: 'minimum' }).amount).toBe('223');
    expect(inv.total).toBe('323');
  });

  it('Given lines that round up, then the top-up is computed on the printed amounts', () => {
    // up 1.005 GB × 1 = 1.005 → 1.01; down 1.005 GB × 1 = 1.005 → 1.01
    // printed subtotal 2.02 → top-up 5 - 2.02 = 2.98 → total exactly 5.00
    // (on the exact 2.01 the top-up would be 2.99 and the invoice 5.01)
    const inv = rate({
      plans: planVersion({
        charges: [data('up', 'up'), data('down', 'down')],
        minimum: [{ per: 'device', amount: '5' }],
      }),
      devices: [
        {
          id: 'a',
          samples: [sample(at('2026-03-05 10:00'), { up: 1_005_000_000, down: 1_005_000_000 })],
        },
      ],
    });
    expect(lineWhere(inv, { charge: 'up' }).amount).toBe('1.01');
    expect(lineWhere(inv, { charge: 'down' }).amount).toBe('1.01');
    expect(brief(lineWhere(inv, { kind: 'minimum' }))).toMatchObject({
      raw_quantity: '2.02',
      amount: '2.98',
    });
    expect(inv.total).toBe('5.00');
  });
});

describe('cap per device', () => {
  it('Given a cap of 10, then a device at 15.00 gets a credit of -5.00', () => {
    // a: 15 GB → 15.00 → credit 10 - 15 = -5.00; b: 4 GB → 4.00, under the cap
    // total 15.00 - 5.00 + 4.00 = 14.00
    const inv = rate({
      plans: planVersion({ charges: [data()], cap: [{ per: 'device', amount: '10' }] }),
      devices: [used('a', 15), used('b', 4)],
    });
    expect(linesWhere(inv, { kind: 'cap' })).toHaveLength(1);
    expect(brief(lineWhere(inv, { kind: 'cap' }))).toMatchObject({
      charge: 'cap',
      device: 'a',
      raw_quantity: '15',
      rated_quantity: '1',
      unit: 'adjustment',
      unit_price: '-5',
      amount: '-5.00',
    });
    expect(inv.total).toBe('14.00');
  });
});

describe('minimum and cap per account', () => {
  it('Given device and account minimums, then the account tops up after the device top-ups', () => {
    // device: a 2.00 → +3.00; b 7.00 → nothing
    // account minimum 20 on 2.00 + 7.00 + 3.00 = 12.00 → +8.00 (an account line, no device)
    // total 20.00
    const inv = rate({
      plans: planVersion({
        charges: [data()],
        minimum: [
          { per: 'device', amount: '5' },
          { per: 'account', amount: '20' },
        ],
      }),
      devices: [used('a', 2), used('b', 7)],
    });
    expect(inv.lines.map((l) => [l.kind, l.device, l.amount])).toEqual([
      ['usage', 'a', '2.00'],
      ['usage', 'b', '7.00'],
      ['minimum', 'a', '3.00'],
      ['minimum', undefined, '8.00'],
    ]);
    const acct = linesWhere(inv, { kind: 'minimum' }).find((l) => l.device === undefined);
    expect(acct?.raw_quantity).toBe('12');
    expect(acct?.prorated_days).toBe(31);
    expect(inv.total).toBe('20.00');
  });

  it('Given an account cap, then fixed fees stay outside it', () => {
    // usage a 8.00 + b 7.00 = 15.00 → cap 10 → credit -5.00; account fee 50.00 not capped
    // total 8 + 7 + 50 - 5 = 60.00
    const inv = rate({
      plans: planVersion({
        charges: [data(), { id: 'base', type: 'fixed', per: 'account', amount: '50' }],
        cap: [{ per: 'account', amount: '10' }],
      }),
      devices: [used('a', 8), used('b', 7)],
    });
    const credit = lineWhere(inv, { kind: 'cap' });
    expect(credit.device).toBeUndefined();
    expect(brief(credit)).toMatchObject({ raw_quantity: '15', amount: '-5.00' });
    expect(lineWhere(inv, { kind: 'fixed' }).amount).toBe('50.00');
    expect(inv.total).toBe('60.00');
  });

  it('Given the account on the plan for 10 days, then the account minimum is prorated', () => {
    // Account segment Mar 22..31 = 10 days: 20 × 10/31 = 6.4516… → 6.45
    // usage 1 GB → 1.00 → top-up 5.45; total 6.45
    const from = at('2026-03-22 00:00');
    const inv = rate({
      plans: planVersion({ charges: [data()], minimum: [{ per: 'account', amount: '20' }] }),
      accountSpans: [[from, END]],
      devices: [{ ...used('a', 1), spans: [[from, END]] }],
    });
    const top = lineWhere(inv, { kind: 'minimum' });
    expect(top.device).toBeUndefined();
    expect(top.amount).toBe('5.45');
    expect(top.prorated_days).toBe(10);
    expect(inv.total).toBe('6.45');
  });
});
