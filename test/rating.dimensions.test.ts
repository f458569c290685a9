// Usage filters: dimensions (filter.dims: every listed dim must match one of its values;
// exclude_dims: usage matching any is left out) and time of day (plan windows; filter.window /
// outside_window in the local time of the ACCOUNT's zone, by weekday, across a DST change).
// Expected values by hand. 2026-03-01 is a Sunday; Europe/Berlin is UTC+1 until Sunday
// 2026-03-29 02:00 local, when clocks jump to 03:00 (UTC+2).
import { describe, it, expect } from 'vitest';
import {
  BERLIN,
  MB,
  at,
  brief,
  buckets,
  lineWhere,
  planVersion,
  onePlan,
  rate,
  sample,
} from './helpers/rating.ts';

const charge = (id: string, price: string, filter: Record<string, unknown>) => ({
  id,
  type: 'usage',
  meter: 'total',
  unit: 'MB',
  filter,
  pricing: { model: 'per_unit', price },
});

const T = at('2026-03-05 10:00');
const used = (mb: number, dims: Record<string, string> = {}, ms = T) =>
  sample(ms, { down: mb * MB, dims });

describe('dimension filters', () => {
  it('Given a zero-rated rating group excluded, then only the other usage is priced', () => {
    // zero-rated 5 MB: left out; internet 2 MB + no rg 1 MB = 3 MB × 0.1 = 0.30
    const inv = rate({
      plans: onePlan(charge('data', '0.1', { exclude_dims: { rg: 'zero-rated' } })),
      devices: [
        {
          id: 'd1',
          samples: [used(5, { rg: 'zero-rated' }), used(2, { rg: 'internet' }), used(1)],
        },
      ],
    });
    expect(brief(lineWhere(inv, { device: 'd1' }))).toMatchObject({
      raw_quantity: '3000000',
      rated_quantity: '3',
      amount: '0.30',
    });
    expect(inv.total).toBe('0.30');
  });

  it('Given exclude_dims with a list, then any listed value is excluded', () => {
    // zero-rated 5 MB and ims 4 MB left out; internet 2 MB × 0.1 = 0.20
    const inv = rate({
      plans: onePlan(charge('data', '0.1', { exclude_dims: { rg: ['zero-rated', 'ims'] } })),
      devices: [
        {
          id: 'd1',
          samples: [
            used(5, { rg: 'zero-rated' }),
            used(4, { rg: 'ims' }),
            used(2, { rg: 'internet' }),
          ],
        },
      ],
    });
    expect(lineWhere(inv, { device: 'd1' }).rated_quantity).toBe('2');
    expect(inv.total).toBe('0.20');
  });

  it('Given per-zone prices as two charges, then each zone is priced by its own charge', () => {
    // eu: 300 MB × 0.01 = 3.00
    // world (us or apac): 20 + 5 = 25 MB × 0.1 = 2.50
    // usage without a zone (7 MB) matches neither charge
    // total 5.50
    const inv = rate({
      plans: planVersion({
        charges: [
          charge('data-eu', '0.01', { dims: { zone: 'eu' } }),
          charge('data-world', '0.1', { dims: { zone: ['us', 'apac'] } }),
        ],
      }),
      devices: [
        {
          id: 'd1',
          samples: [
            used(300, { zone: 'eu' }),
            used(20, { zone: 'us' }),
            used(5, { zone: 'apac' }),
            used(7),
          ],
        },
      ],
    });
    expect(inv.lines.map((l) => [l.charge, l.raw_quantity, l.rated_quantity, l.amount])).toEqual([
      ['data-eu', '300000000', '300', '3.00'],
      ['data-world', '25000000', '25', '2.50'],
    ]);
    expect(inv.total).toBe('5.50');
  });

  it('Given several dims, then every one must match; exclusions apply on top', () => {
    // Samples: eu/internet 10 MB, eu/zero-rated 100 MB, us/internet 50 MB, eu (no rg) 1 MB
    // eu-internet (dims zone=eu AND rg=internet): 10 MB × 0.1 = 1.00
    // eu-billable (zone=eu, excluding zero-rated): 10 + 1 = 11 MB × 0.1 = 1.10
    const inv = rate({
      plans: planVersion({
        charges: [
          charge('eu-internet', '0.1', { dims: { zone: 'eu', rg: 'internet' } }),
          charge('eu-billable', '0.1', {
            dims: { zone: 'eu' },
            exclude_dims: { rg: 'zero-rated' },
          }),
        ],
      }),
      devices: [
        {
          id: 'd1',
          samples: [
            used(10, { zone: 'eu', rg: 'internet' }),
            used(100, { zone: 'eu', rg: 'zero-rated' }),
            used(50, { zone: 'us', rg: 'internet' }),
            used(1, { zone: 'eu' }),
          ],
        },
      ],
    });
    expect(lineWhere(inv, { charge: 'eu-internet' }).amount).toBe('1.00');
    expect(lineWhere(inv, { charge: 'eu-billable' }).rated_quantity).toBe('11');
    expect(lineWhere(inv, { charge: 'eu-billable' }).amount).toBe('1.10');
    expect(inv.total).toBe('2.10');
  });
});

describe('time-of-day windows (local time of the account zone)', () => {
  const business = {
    windows: {
      business: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }],
    },
  };
  const dayNight = planVersion({
    ...business,
    charges: [
      charge('day', '0.1', { window: 'business' }),
      charge('off', '0.02', { outside_window: 'business' }),
    ],
  });

  it('Given a Berlin account, then buckets are placed by local time and weekday', () => {
    // Each sample is a 5-minute bucket; it is in the window when its local start is in
    // [08:00, 18:00) on Mon-Fri.
    //   Mon Mar 2 07:55 local   1 MB → off
    //   Mon Mar 2 08:00 local   2 MB → day
    //   Mon Mar 2 17:55 local   4 MB → day
    //   Mon Mar 2 18:00 local   8 MB → off
    //   Sat Mar 7 12:00 local  16 MB → off (weekend)
    //   Mon Mar 2 07:30 UTC    32 MB → 08:30 local → day (in UTC it would be off)
    // day: 2 + 4 + 32 = 38 MB × 0.1 = 3.80; off: 1 + 8 + 16 = 25 MB × 0.02 = 0.50
    // total 4.30
    const L = (wall: string) => at(wall, BERLIN);
    const inv = rate({
      zone: BERLIN,
      plans: dayNight,
      devices: [
        {
          id: 'd1',
          samples: [
            used(1, {}, L('2026-03-02 07:55')),
            used(2, {}, L('2026-03-02 08:00')),
            used(4, {}, L('2026-03-02 17:55')),
            used(8, {}, L('2026-03-02 18:00')),
            used(16, {}, L('2026-03-07 12:00')),
            used(32, {}, at('2026-03-02 07:30')),
          ],
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'day' }))).toMatchObject({
      rated_quantity: '38',
      amount: '3.80',
    });
    expect(brief(lineWhere(inv, { charge: 'off' }))).toMatchObject({
      rated_quantity: '25',
      amount: '0.50',
    });
    expect(inv.total).toBe('4.30');
  });

  it('Given a weekend window 00:00-24:00, then the weekday is the local one', () => {
    // Mon Mar 2 00:30 Berlin (= Sun Mar 1 23:30 UTC)  1 MB → Monday locally → not weekend
    // Sat Mar 7 00:10 Berlin (= Fri Mar 6 23:10 UTC)  2 MB → Saturday → weekend
    // Sun Mar 8 23:55 Berlin                            4 MB → Sunday, before 24:00 → weekend
    // 6 MB × 1 = 6.00
    const inv = rate({
      zone: BERLIN,
      plans: planVersion({
        windows: { weekend: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }] },
        charges: [charge('weekend', '1', { window: 'weekend' })],
      }),
      devices: [
        {
          id: 'd1',
          samples: [
            used(1, {}, at('2026-03-01 23:30')),
            used(2, {}, at('2026-03-06 23:10')),
            used(4, {}, at('2026-03-08 23:55', BERLIN)),
          ],
        },
      ],
    });
    expect(lineWhere(inv, { charge: 'weekend' }).rated_quantity).toBe('6');
    expect(inv.total).toBe('6.00');
  });

  it('Given a window around the DST change, then it holds 2 real hours, not 3', () => {
    // Window "night": Sundays 01:00-04:00 local. On Sun Mar 29 local 01:00 CET = 00:00 UTC
    // and local 04:00 CEST = 02:00 UTC (02:00-03:00 local does not exist).
    // 48 buckets of 1 MB from Sat Mar 28 23:00 UTC (= Sun 00:00 local) to 03:00 UTC:
    //   23:00-00:00 UTC = 00:00-01:00 local   12 buckets → outside
    //   00:00-02:00 UTC = 01:00-04:00 local   24 buckets → inside
    //   02:00-03:00 UTC = 04:00-05:00 local   12 buckets → outside
    // night: 24 MB × 1 = 24.00; other: 24 MB × 0.1 = 2.40; total 26.40
    const inv = rate({
      zone: BERLIN,
      plans: planVersion({
        windows: { night: [{ days: ['sun'], from: '01:00', to: '04:00' }] },
        charges: [
          charge('night', '1', { window: 'night' }),
          charge('other', '0.1', { outside_window: 'night' }),
        ],
      }),
      devices: [
        {
          id: 'd1',
          samples: buckets(at('2026-03-28 23:00'), 48).map((b) => used(1, {}, b)),
        },
      ],
    });
    expect(brief(lineWhere(inv, { charge: 'night' }))).toMatchObject({
      raw_quantity: '24000000',
      rated_quantity: '24',
      amount: '24.00',
    });
    expect(brief(lineWhere(inv, { charge: 'other' }))).toMatchObject({
      rated_quantity: '24',
      amount: '2.40',
    });
    expect(inv.total).toBe('26.40');
  });

  it('Given a window and a dims filter together, then both must pass', () => {
    // Business hours AND zone eu: Mon Mar 2 09:00 local eu 10 MB → yes;
    // same time us 20 MB → no (zone); Mon 20:00 local eu 40 MB → no (time).
    // 10 MB × 0.1 = 1.00
    const inv = rate({
      zone: BERLIN,
      plans: planVersion({
        ...business,
        charges: [charge('eu-day', '0.1', { window: 'business', dims: { zone: 'eu' } })],
      }),
      devices: [
        {
          id: 'd1',
          samples: [
            used(10, { zone: 'eu' }, at('2026-03-02 09:00', BERLIN)),
            used(20, { zone: 'us' }, at('2026-03-02 09:00', BERLIN)),
            used(40, { zone: 'eu' }, at('2026-03-02 20:00', BERLIN)),
          ],
        },
      ],
    });
    expect(lineWhere(inv, { charge: 'eu-day' }).rated_quantity).toBe('10');
    expect(inv.total).toBe('1.00');
  });
});
