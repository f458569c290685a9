// Per-account fees and limits follow the account's own plan timeline (accountSegments), not
// its devices: an account with no device still pays its platform fee, a device joining late
// does not shrink it, and a device-level plan override does not bill the account twice.
import { describe, expect, it } from 'vitest';
import { billingPeriod, rateAccount, validatePlan } from '../rater/rating/index.ts';
import type { DeviceInput, RatingInput } from '../rater/rating/types.ts';

const period = billingPeriod('2026-03', 'UTC'); // 31 days
const DAY = 86_400_000;

const planOf = (id: string, fee: string, price: string) =>
  validatePlan({
    plan: id,
    currency: 'EUR',
    effective_from: '2026-01-01',
    charges: [
      {
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'GB',
        pricing: { model: 'per_unit', price },
      },
      { id: 'platform', type: 'fixed', per: 'account', amount: fee },
    ],
    minimum: [{ per: 'account', amount: '100.00' }],
  });

const P1 = { id: 'p1', version: 1, plan: planOf('p1', '25.00', '1.00') };
const P2 = { id: 'p2', version: 1, plan: planOf('p2', '40.00', '3.00') };

function input(devices: DeviceInput[]): RatingInput {
  return {
    account: { id: 'acme', currency: 'EUR', timeZone: 'UTC' },
    period,
    accountSegments: [{ fromMs: period.startMs, toMs: period.endMs, planId: 'p1', planVersion: 1 }],
    plans: { 'p1@1': P1, 'p2@1': P2 },
    devices,
  };
}

const GB = 1_000_000_000;
const device = (id: string, planId: string, fromMs: number): DeviceInput => ({
  deviceId: id,
  segments: [{ fromMs, toMs: period.endMs, planId, planVersion: 1 }],
  samples: [
    { bucketMs: period.endMs - 300_000, dims: {}, up: 2 * GB, down: 0, records: 1, meters: {} },
  ],
});

describe('per-account fees and limits follow the account plan timeline', () => {
  it('Given an account with no devices, Then it pays its platform fee and its minimum', () => {
    const inv = rateAccount(input([]));
    // Platform 25.00 (31 of 31 days); minimum 100.00 on 0.00 of usage: top-up 100.00.
    expect(inv.lines.map((l) => [l.charge, l.amount])).toEqual([
      ['platform', '25.00'],
      ['minimum', '100.00'],
    ]);
    expect(inv.total).toBe('125.00');
  });

  it('Given the only device joins on the 21st, Then the account fee is still the whole month', () => {
    const inv = rateAccount(input([device('d1', 'p1', period.startMs + 20 * DAY)]));
    // data 2 GB × 1.00 = 2.00; platform 25.00 for 31 days; minimum 100.00 - 2.00 = 98.00.
    expect(inv.lines.map((l) => [l.charge, l.device ?? '-', l.amount])).toEqual([
      ['data', 'd1', '2.00'],
      ['platform', '-', '25.00'],
      ['minimum', '-', '98.00'],
    ]);
    expect(inv.total).toBe('125.00');
  });

  it('Given a device on an override plan, Then its usage is priced by the override but the account pays only its own plan fee and minimum', () => {
    const inv = rateAccount(
      input([device('d1', 'p1', period.startMs), device('d2', 'p2', period.startMs)]),
    );
    // p1: data d1 2 GB × 1.00 = 2.00; platform 25.00; minimum 100.00 - 2.00 = 98.00.
    // p2 (override for d2 only): data 2 GB × 3.00 = 6.00; no second platform fee, no minimum.
    expect(inv.lines.map((l) => [l.plan, l.charge, l.device ?? '-', l.amount])).toEqual([
      ['p1', 'data', 'd1', '2.00'],
      ['p1', 'platform', '-', '25.00'],
      ['p1', 'minimum', '-', '98.00'],
      ['p2', 'data', 'd2', '6.00'],
    ]);
    expect(inv.total).toBe('131.00');
  });
});
