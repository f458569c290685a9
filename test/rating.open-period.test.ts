// The current, still open period (RatingInput.asOfMs inside the period): status and as_of,
// usage so far against each allowance, and the projected bill (docs/rating.md "The current
// period and projections": usage quantities scaled by period length / time elapsed, peaks as
// measured so far, fees for the full month; fees and allowances of assignments still running
// are counted to the end of the month).
import { describe, it, expect } from 'vitest';
import {
  billingPeriod,
  rateAccount,
  validatePlan,
  type DeviceInput,
  type Invoice,
  type PlanVersion,
  type Sample,
} from '../rater/rating/index.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const GB = 1_000_000_000;
const MB = 1_000_000;

function planOf(charges: unknown[], id = 'p'): PlanVersion {
  return {
    id,
    version: 1,
    plan: validatePlan({ plan: id, currency: 'EUR', effective_from: '2020-01-01', charges }),
  };
}

const march = billingPeriod('2026-03', 'UTC'); // 31 days
const AS_OF = march.startMs + 10 * DAY; // 2026-03-11T00:00Z: 10 of 31 days, scale 3.1

const sample = (ms: number, bytes: number): Sample => ({
  bucketMs: ms,
  dims: {},
  up: bytes,
  down: 0,
  records: 1,
  meters: {},
});
const onDay = (day: number, bytes: number) => sample(march.startMs + (day - 1) * DAY + HOUR, bytes);

function rate(
  plan: PlanVersion,
  devices: Array<{ id: string; from?: number; to?: number; samples: Sample[] }>,
  /** null: no as-of at all (a closed period). */
  asOfMs: number | null = AS_OF,
  period = march,
  timeZone = 'UTC',
): Invoice {
  const end = Math.min(asOfMs ?? period.endMs, period.endMs);
  return rateAccount({
    account: { id: 'a', currency: 'EUR', timeZone },
    period,
    ...(asOfMs !== null ? { asOfMs } : {}),
    plans: { [`${plan.id}@1`]: plan },
    devices: devices.map((d): DeviceInput => ({
      deviceId: d.id,
      // Segments are clipped to as-of for an open period (types.ts DeviceInput.segments).
      segments: [
        {
          fromMs: d.from ?? period.startMs,
          toMs: Math.min(d.to ?? period.endMs, end),
          planId: plan.id,
          planVersion: 1,
        },
      ],
      samples: d.samples.filter((s) => s.bucketMs < end),
    })),
  });
}

const brief = (inv: Invoice) =>
  inv.lines.map((l) => [l.charge, l.device ?? '-', l.included ?? '', l.amount]);

// ---------------------------------------------------------------------------------------------

describe('an open period', () => {
  const plan = planOf([
    {
      id: 'data',
      type: 'usage',
      meter: 'total',
      unit: 'GB',
      included: { quantity: '1 GB' },
      pricing: { model: 'per_unit', price: '2.00' },
    },
    {
      id: 'pool',
      type: 'usage',
      meter: 'total',
      unit: 'GB',
      scope: 'account',
      included: { quantity: '1 GB', pooled: true },
      pricing: { model: 'per_unit', price: '0.10' },
    },
    { id: 'fee', type: 'fixed', per: 'device', amount: '3.10' },
  ]);
  const devices = [
    // Assigned all month, 1.5 GB so far.
    { id: 'd1', samples: [onDay(1, 0.5 * GB), onDay(2, 1 * GB)] },
    // Joined on 4 March (days 4-31 = 28 days), 0.7 GB so far.
    { id: 'd2', from: march.startMs + 3 * DAY, samples: [onDay(5, 0.7 * GB)] },
  ];
  const inv = rate(plan, devices);

  it('is marked open, as of the given instant', () => {
    expect(inv.status).toBe('open');
    expect(inv.as_of).toBe('2026-03-11T00:00:00.000Z');
    expect(inv.period_end).toBe('2026-04-01T00:00:00.000Z');
    expect(inv.plans).toEqual([
      { plan: 'p', version: 1, from: '2026-03-01T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' },
    ]);
  });

  it('allowances and fees of running assignments count to the end of the month', () => {
    // d1: 1 GB; d2: 1 GB × 28/31 = 903,225,806.45 B → cut to whole bytes: 0.903225806 GB.
    // pool: 1 + 0.903225806 GB for the two active devices.
    expect(brief(inv)).toEqual([
      ['data', 'd1', '1', '1.00'], // (1.5 - 1) × 2.00
      ['data', 'd2', '0.903225806', '0.00'], // 0.7 < allowance
      ['pool', '-', '1.903225806', '0.03'], // (2.2 - 1.903225806) × 0.10 = 0.0296…
      ['fee', 'd1', '', '3.10'], // 31 of 31 days
      ['fee', 'd2', '', '2.80'], // 3.10 × 28/31
    ]);
    expect(inv.lines.filter((l) => l.charge === 'fee').map((l) => l.prorated_days)).toEqual([
      31, 28,
    ]);
    expect(inv.devices.map((d) => [d.device, d.assigned_days])).toEqual([
      ['d1', 31],
      ['d2', 28],
    ]);
    expect(inv.total).toBe('6.93');
  });

  it('allowances: usage so far against each allowance, the allowance the lines apply', () => {
    expect(inv.allowances).toEqual([
      { charge: 'data', device: 'd1', used: '1.5', included: '1', unit: 'GB' },
      { charge: 'data', device: 'd2', used: '0.7', included: '0.903225806', unit: 'GB' },
      { charge: 'pool', used: '2.2', included: '1.903225806', unit: 'GB' },
    ]);
    // The same figures the invoice lines use.
    for (const a of inv.allowances ?? []) {
      const line = inv.lines.find((l) => l.charge === a.charge && l.device === a.device);
      expect(a.included, `${a.charge} ${a.device ?? ''}`).toBe(line?.included);
    }
  });

  it("projected_total scales each device's usage by its assignment's run to period end over its run so far", () => {
    // d1 (whole month, 10 days so far): × 31/10; d2 (from day 4, 7 days so far): × 28/7 = 4.
    // data d1: 1.5 × 3.1 = 4.65 GB - 1 = 3.65 × 2.00 = 7.30
    // data d2: 0.7 × 4 = 2.8 GB - 0.903225806 = 1.896774194 × 2.00 = 3.793548388 → 3.79
    // pool: 4.65 + 2.8 = 7.45 GB - 1.903225806 = 5.546774194 × 0.10 = 0.5546774194 → 0.55
    // fees: 3.10 + 2.80
    expect(inv.projected_total).toBe('17.54');
  });

  it('count allowances are cut to 6 decimals; non-prorated allowances stay whole', () => {
    const sms = planOf([
      {
        id: 'sms',
        type: 'usage',
        meter: 'meters.sms',
        included: { quantity: 100 },
        pricing: { model: 'per_unit', price: '0.05' },
      },
      {
        id: 'mms',
        type: 'usage',
        meter: 'meters.mms',
        included: { quantity: 10, prorate: false },
        pricing: { model: 'per_unit', price: '0.20' },
      },
    ]);
    const s: Sample = { ...onDay(5, 0), meters: { sms: '95', mms: '12' } };
    const open = rate(sms, [{ id: 'd2', from: march.startMs + 3 * DAY, samples: [s] }]);
    // 100 × 28/31 = 90.3225806451… → 90.322580
    expect(open.allowances).toEqual([
      { charge: 'sms', device: 'd2', used: '95', included: '90.32258', unit: 'sms' },
      { charge: 'mms', device: 'd2', used: '12', included: '10', unit: 'mms' },
    ]);
    expect(brief(open)).toEqual([
      ['sms', 'd2', '90.32258', '0.23'], // 4.67742 × 0.05 = 0.233871
      ['mms', 'd2', '10', '0.40'],
    ]);
    // Projected (d2 from day 4, 7 of its 28 days so far: × 4):
    // 95 × 4 = 380 - 90.32258 = 289.67742 × 0.05 = 14.483871 → 14.48;
    // 12 × 4 = 48 - 10 = 38 × 0.20 = 7.60.
    expect(open.projected_total).toBe('22.08');
  });

  it('a device whose assignment ended before as-of: its own days only', () => {
    // Left on 6 March at 12:00: days 1-5. Allowance 1 GB × 5/31 = 161,290,322 B.
    const left = rate(plan, [
      { id: 'd3', to: march.startMs + 5.5 * DAY, samples: [onDay(2, 0.2 * GB)] },
    ]);
    expect(left.devices[0]?.assigned_days).toBe(5);
    expect(brief(left)).toEqual([
      ['data', 'd3', '0.161290322', '0.08'], // 0.038709678 × 2.00 = 0.077…
      ['pool', '-', '0.161290322', '0.00'], // 0.038709678 × 0.10 = 0.0038…
      ['fee', 'd3', '', '0.50'], // 3.10 × 5/31
    ]);
    expect(left.total).toBe('0.58');
    // A device that has left uses nothing more: its usage is not scaled, the projection is
    // what it already owes.
    expect(left.projected_total).toBe('0.58');
  });

  it('peaks are projected as measured so far', () => {
    const pk = planOf([
      {
        id: 'p95',
        type: 'peak',
        method: 'max',
        direction: 'out',
        pricing: { model: 'per_unit', price: '1.00' },
      },
      { id: 'acct', type: 'fixed', per: 'account', amount: '10.00' },
    ]);
    // 37.5 MB in 5 minutes = 1,000,000 bps = 1 Mbps.
    const open = rate(pk, [{ id: 'd1', samples: [onDay(3, 37.5 * MB), onDay(4, 1 * MB)] }]);
    expect(brief(open)).toEqual([
      ['p95', 'd1', '', '1.00'],
      ['acct', '-', '', '10.00'], // the account fee for the whole month
    ]);
    expect(open.lines[0]?.peak).toMatchObject({
      rate_bps: '1000000',
      samples_observed: 2,
      samples_expected: 10 * 288, // intervals of the span so far
    });
    expect(open.projected_total).toBe('11.00');
  });

  it('the scale uses the real length of the period (a DST month has 743 hours)', () => {
    const berlin = billingPeriod('2026-03', 'Europe/Berlin');
    const asOf = berlin.startMs + 371.5 * HOUR; // half of 743 hours
    const perGb = planOf([
      {
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'GB',
        pricing: { model: 'per_unit', price: '1.00' },
      },
    ]);
    const open = rate(
      perGb,
      [{ id: 'd1', samples: [sample(berlin.startMs, 1000 * GB)] }],
      asOf,
      berlin,
      'Europe/Berlin',
    );
    expect(open.total).toBe('1000.00');
    expect(open.projected_total).toBe('2000.00'); // 744/371.5 would give 2002.69
  });

  it('a scale that is not a finite decimal (31/7) still projects the exact pace', () => {
    const perGb = planOf([
      {
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'GB',
        pricing: { model: 'per_unit', price: '2.00' },
      },
    ]);
    const open = rate(
      perGb,
      [{ id: 'd1', samples: [onDay(1, 0.7 * GB)] }],
      march.startMs + 7 * DAY,
    );
    expect(open.total).toBe('1.40');
    expect(open.projected_total).toBe('6.20'); // 0.7 × 31/7 = 3.1 GB × 2.00
  });

  // A steady 1 MB per hour, 22 hours into February (672 hours): the pace projects to exactly
  // 672 MB. Scaling by a rounded quotient (672/22 = 30.5454… at 60 digits) gives
  // 672.000…001 MB, and a charge that rounds up to whole MB or sells started 1 MB packages
  // then bills 673.
  it('projecting a steady pace onto an exact package or increment boundary does not add one', () => {
    const feb = billingPeriod('2026-02', 'UTC');
    const asOf = feb.startMs + 22 * HOUR;
    const mb = planOf([
      {
        id: 'pkg',
        type: 'usage',
        meter: 'total',
        unit: 'MB',
        pricing: { model: 'package', size: '1 MB', price: '1.00' },
      },
      {
        id: 'rounded',
        type: 'usage',
        meter: 'total',
        unit: 'MB',
        rounding: { per_period: { increment: '1 MB', mode: 'up' } },
        pricing: { model: 'per_unit', price: '1.00' },
      },
    ]);
    const open = rate(mb, [{ id: 'd1', samples: [sample(feb.startMs, 22 * MB)] }], asOf, feb);
    expect(open.total).toBe('44.00');
    expect(open.projected_total).toBe('1344.00'); // 672 + 672
  });
});

describe('a closed period', () => {
  const plan = planOf([
    {
      id: 'data',
      type: 'usage',
      meter: 'total',
      unit: 'GB',
      included: { quantity: '1 GB' },
      pricing: { model: 'per_unit', price: '2.00' },
    },
  ]);
  const devices = [{ id: 'd1', samples: [onDay(1, 2 * GB)] }];

  it.each([
    ['no as-of', null],
    ['as-of at the period end', march.endMs],
    ['as-of after the period', march.endMs + DAY],
  ])('%s: closed, no as_of, projection or allowances', (_, asOf) => {
    const inv = rate(plan, devices, asOf);
    expect(inv.status).toBe('closed');
    expect(inv).not.toHaveProperty('as_of');
    expect(inv).not.toHaveProperty('projected_total');
    expect(inv).not.toHaveProperty('allowances');
    expect(inv.total).toBe('2.00');
  });

  it('as-of one bucket before the end is still open, with a projection close to the total', () => {
    const inv = rate(plan, devices, march.endMs - 5 * 60_000);
    expect(inv.status).toBe('open');
    expect(inv.total).toBe('2.00');
    // 2 GB × 8928/8927 - 1 GB = 1.000224… GB × 2.00
    expect(inv.projected_total).toBe('2.00');
  });
});
