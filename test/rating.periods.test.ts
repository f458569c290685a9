// Billing periods are calendar months in the account's time zone (rater/rating/period.ts), and
// everything that depends on them: which month a 5-minute interval lands in, the days credited
// to an assignment, and the 5-minute intervals a peak figure expects.
//
// Every expected instant below is computed by hand from the zone's rules and written as a UTC
// ISO string, so the test does not trust the same zone library the engine uses.
import { describe, it, expect } from 'vitest';
import {
  billingPeriod,
  periodAt,
  isValidTimeZone,
  rateAccount,
  validatePlan,
  PeriodError,
  type BillingPeriod,
  type Invoice,
  type Sample,
} from '../rater/rating/index.ts';
import { assignedDays } from '../rater/rating/period.ts';

const HOUR = 3_600_000;
const ms = (iso: string) => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad instant ${iso}`);
  return t;
};
const isoOf = (t: number) => new Date(t).toISOString();

const plan = validatePlan({
  plan: 'p',
  currency: 'EUR',
  effective_from: '2020-01-01',
  charges: [
    {
      id: 'data',
      type: 'usage',
      meter: 'total',
      unit: 'B',
      pricing: { model: 'per_unit', price: '0.01' },
    },
    { id: 'p95', type: 'peak', method: 'percentile', pricing: { model: 'per_unit', price: '1' } },
    { id: 'fee', type: 'fixed', per: 'device', devices: 'assigned', amount: '31.00' },
  ],
});

const sample = (bucketMs: number, up: number): Sample => ({
  bucketMs,
  dims: {},
  up,
  down: 0,
  records: 1,
  meters: {},
});

/** One account in `tz`, one device assigned over `spans` of `period`, rated with `plan`. */
function rate(
  period: BillingPeriod,
  tz: string,
  samples: Sample[],
  spans: Array<[number, number]> = [[period.startMs, period.endMs]],
): Invoice {
  return rateAccount({
    account: { id: 'a', currency: 'EUR', timeZone: tz },
    period,
    plans: { 'p@1': { id: 'p', version: 1, plan } },
    devices: [
      {
        deviceId: 'd',
        segments: spans.map(([fromMs, toMs]) => ({ fromMs, toMs, planId: 'p', planVersion: 1 })),
        samples,
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------

describe('billingPeriod: calendar months in the account zone', () => {
  // [label, zone, start (UTC), end (UTC), hours, days]
  const cases: Array<[string, string, string, string, number, number]> = [
    ['2026-01', 'UTC', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 744, 31],
    ['2026-04', 'UTC', '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z', 720, 30],
    // Europe/Berlin: CET +01:00, CEST +02:00 from the last Sunday of March (29 March 2026)
    // to the last Sunday of October (25 October 2026).
    ['2026-01', 'Europe/Berlin', '2025-12-31T23:00:00.000Z', '2026-01-31T23:00:00.000Z', 744, 31],
    ['2026-03', 'Europe/Berlin', '2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z', 743, 31],
    ['2026-07', 'Europe/Berlin', '2026-06-30T22:00:00.000Z', '2026-07-31T22:00:00.000Z', 744, 31],
    ['2026-10', 'Europe/Berlin', '2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z', 745, 31],
    ['2024-03', 'Europe/Berlin', '2024-02-29T23:00:00.000Z', '2024-03-31T22:00:00.000Z', 743, 31],
    // America/New_York: EST -05:00, EDT -04:00 from 8 March 2026 to 1 November 2026 (02:00).
    [
      '2026-03',
      'America/New_York',
      '2026-03-01T05:00:00.000Z',
      '2026-04-01T04:00:00.000Z',
      743,
      31,
    ],
    [
      '2026-11',
      'America/New_York',
      '2026-11-01T04:00:00.000Z',
      '2026-12-01T05:00:00.000Z',
      721,
      30,
    ],
    [
      '2026-06',
      'America/New_York',
      '2026-06-01T04:00:00.000Z',
      '2026-07-01T04:00:00.000Z',
      720,
      30,
    ],
    // Asia/Kolkata: +05:30 all year.
    ['2026-05', 'Asia/Kolkata', '2026-04-30T18:30:00.000Z', '2026-05-31T18:30:00.000Z', 744, 31],
    ['2026-02', 'Asia/Kolkata', '2026-01-31T18:30:00.000Z', '2026-02-28T18:30:00.000Z', 672, 28],
    // Pacific/Auckland (southern hemisphere): NZDT +13:00 until the first Sunday of April
    // (5 April 2026), NZST +12:00 until the last Sunday of September (27 September 2026).
    [
      '2026-01',
      'Pacific/Auckland',
      '2025-12-31T11:00:00.000Z',
      '2026-01-31T11:00:00.000Z',
      744,
      31,
    ],
    [
      '2026-04',
      'Pacific/Auckland',
      '2026-03-31T11:00:00.000Z',
      '2026-04-30T12:00:00.000Z',
      721,
      30,
    ],
    [
      '2026-09',
      'Pacific/Auckland',
      '2026-08-31T12:00:00.000Z',
      '2026-09-30T11:00:00.000Z',
      719,
      30,
    ],
    // Australia/Lord_Howe: +10:30 standard, +11:00 in summer, a 30-minute change on the first
    // Sunday of April (5 April 2026) and of October (4 October 2026).
    [
      '2026-04',
      'Australia/Lord_Howe',
      '2026-03-31T13:00:00.000Z',
      '2026-04-30T13:30:00.000Z',
      720.5,
      30,
    ],
    [
      '2026-10',
      'Australia/Lord_Howe',
      '2026-09-30T13:30:00.000Z',
      '2026-10-31T13:00:00.000Z',
      743.5,
      31,
    ],
    [
      '2026-06',
      'Australia/Lord_Howe',
      '2026-05-31T13:30:00.000Z',
      '2026-06-30T13:30:00.000Z',
      720,
      30,
    ],
  ];

  it.each(cases)('%s in %s', (label, tz, start, end, hours, days) => {
    const p = billingPeriod(label, tz);
    expect({ label: p.label, start: isoOf(p.startMs), end: isoOf(p.endMs), days: p.days }).toEqual({
      label,
      start,
      end,
      days,
    });
    expect((p.endMs - p.startMs) / HOUR).toBe(hours);
  });

  it('consecutive months tile time without gaps or overlaps', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'Pacific/Auckland', 'Australia/Lord_Howe']) {
      let prev: BillingPeriod | undefined;
      for (let m = 1; m <= 12; m++) {
        const p = billingPeriod(`2026-${String(m).padStart(2, '0')}`, tz);
        if (prev) expect(p.startMs, `${tz} ${p.label}`).toBe(prev.endMs);
        prev = p;
      }
      expect(prev?.endMs).toBe(billingPeriod('2027-01', tz).startMs);
    }
  });

  // America/Asuncion (2023): clocks went from 00:00 (-04:00) to 01:00 (-03:00) on Sunday
  // 1 October, so October 2023 begins at 01:00 local (04:00 UTC) and ends at midnight of
  // 1 November (-03:00, 03:00 UTC): 743 hours. A month whose first midnight does not exist must
  // still end where the next month begins.
  it('a month that starts on a skipped midnight (America/Asuncion, October 2023)', () => {
    const sep = billingPeriod('2023-09', 'America/Asuncion');
    const oct = billingPeriod('2023-10', 'America/Asuncion');
    const nov = billingPeriod('2023-11', 'America/Asuncion');
    expect(isoOf(sep.endMs)).toBe('2023-10-01T04:00:00.000Z');
    expect(isoOf(oct.startMs)).toBe('2023-10-01T04:00:00.000Z');
    expect(isoOf(nov.startMs)).toBe('2023-11-01T03:00:00.000Z');
    expect.soft({ end: isoOf(oct.endMs), hours: (oct.endMs - oct.startMs) / HOUR }).toEqual({
      end: '2023-11-01T03:00:00.000Z',
      hours: 743,
    });
    // Usage at 00:30 local on 1 November belongs to November only.
    const t = ms('2023-11-01T00:30:00-03:00');
    const samples = [sample(t, 100)];
    const inOct = rate(oct, 'America/Asuncion', samples).devices[0]?.up;
    const inNov = rate(nov, 'America/Asuncion', samples).devices[0]?.up;
    expect({ inOct, inNov }).toEqual({ inOct: 0, inNov: 100 });
  });

  it('February has 29 days in leap years (2024, 2000) and 28 otherwise (2023, 2026, 2100)', () => {
    const feb = (y: number) => billingPeriod(`${y}-02`, 'UTC');
    expect([2024, 2000, 2023, 2026, 2100].map((y) => feb(y).days)).toEqual([29, 29, 28, 28, 28]);
    expect((feb(2024).endMs - feb(2024).startMs) / HOUR).toBe(696);
    expect((feb(2023).endMs - feb(2023).startMs) / HOUR).toBe(672);
    expect(isoOf(feb(2024).endMs)).toBe('2024-03-01T00:00:00.000Z');
    expect(billingPeriod('2024-02', 'Europe/Berlin').days).toBe(29);
    expect(isoOf(billingPeriod('2024-02', 'Europe/Berlin').endMs)).toBe('2024-02-29T23:00:00.000Z');
  });

  it('days in month for every month of a year', () => {
    const days = (y: number, tz: string) =>
      Array.from(
        { length: 12 },
        (_, i) => billingPeriod(`${y}-${String(i + 1).padStart(2, '0')}`, tz).days,
      );
    expect(days(2026, 'UTC')).toEqual([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
    expect(days(2024, 'Pacific/Auckland')).toEqual([
      31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]);
  });

  it('periodAt places an instant in the month of its zone', () => {
    const t = ms('2026-03-31T22:30:00Z'); // 00:30 on 1 April in Berlin, still 31 March in UTC/NY
    expect(periodAt(t, 'UTC').label).toBe('2026-03');
    expect(periodAt(t, 'Europe/Berlin').label).toBe('2026-04');
    expect(periodAt(t, 'America/New_York').label).toBe('2026-03');
    expect(periodAt(ms('2026-03-31T11:00:00Z'), 'Pacific/Auckland').label).toBe('2026-04');
    expect(periodAt(ms('2026-03-31T10:59:59.999Z'), 'Pacific/Auckland').label).toBe('2026-03');
    expect(periodAt(ms('2026-09-30T13:30:00Z'), 'Australia/Lord_Howe').label).toBe('2026-10');
    expect(periodAt(ms('2026-09-30T13:29:59.999Z'), 'Australia/Lord_Howe').label).toBe('2026-09');
  });

  it('invalid labels and zones throw PeriodError', () => {
    for (const label of [
      '2026-13',
      '2026-00',
      '2026-1',
      '26-01',
      '2026/01',
      '2026-01-01',
      '',
      ' 2026-01',
    ])
      expect(() => billingPeriod(label, 'UTC'), label).toThrow(PeriodError);
    for (const tz of [
      'Mars/Olympus_Mons',
      'Europe/Berlinn',
      'UTC+3',
      '+05:30',
      '',
      'Europe/../etc',
    ])
      expect(() => billingPeriod('2026-01', tz), tz).toThrow(PeriodError);
    expect(isValidTimeZone('Australia/Lord_Howe')).toBe(true);
    expect(isValidTimeZone('UTC+3')).toBe(false);
    const err = (() => {
      try {
        billingPeriod('2026-13', 'UTC');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PeriodError);
    expect((err as Error).name).toBe('PeriodError');
    expect((err as Error).message).toContain('2026-13');
  });
});

// ---------------------------------------------------------------------------------------------

describe('month boundaries: usage lands in the month of its local interval start', () => {
  // [zone, this month, next month, 23:30 local on the last day, 00:10 local on the 1st]
  const cases: Array<[string, string, string, string, string]> = [
    ['UTC', '2026-01', '2026-02', '2026-01-31T23:30:00Z', '2026-02-01T00:10:00Z'],
    [
      'Europe/Berlin',
      '2026-03',
      '2026-04',
      '2026-03-31T23:30:00+02:00',
      '2026-04-01T00:10:00+02:00',
    ],
    [
      'Europe/Berlin',
      '2026-10',
      '2026-11',
      '2026-10-31T23:30:00+01:00',
      '2026-11-01T00:10:00+01:00',
    ],
    // 1 November 2026 at 00:10 is still EDT in New York (the change is at 02:00).
    [
      'America/New_York',
      '2026-10',
      '2026-11',
      '2026-10-31T23:30:00-04:00',
      '2026-11-01T00:10:00-04:00',
    ],
    [
      'Asia/Kolkata',
      '2026-05',
      '2026-06',
      '2026-05-31T23:30:00+05:30',
      '2026-06-01T00:10:00+05:30',
    ],
    [
      'Pacific/Auckland',
      '2026-03',
      '2026-04',
      '2026-03-31T23:30:00+13:00',
      '2026-04-01T00:10:00+13:00',
    ],
    [
      'Pacific/Auckland',
      '2026-09',
      '2026-10',
      '2026-09-30T23:30:00+13:00',
      '2026-10-01T00:10:00+13:00',
    ],
    [
      'Australia/Lord_Howe',
      '2026-09',
      '2026-10',
      '2026-09-30T23:30:00+10:30',
      '2026-10-01T00:10:00+10:30',
    ],
    [
      'Australia/Lord_Howe',
      '2026-03',
      '2026-04',
      '2026-03-31T23:30:00+11:00',
      '2026-04-01T00:10:00+11:00',
    ],
  ];

  it.each(cases)('%s: %s → %s', (tz, first, second, lateIso, earlyIso) => {
    const late = ms(lateIso);
    const early = ms(earlyIso);
    const p1 = billingPeriod(first, tz);
    const p2 = billingPeriod(second, tz);
    expect(p2.startMs).toBe(p1.endMs);
    expect(late).toBeGreaterThanOrEqual(p1.startMs);
    // The rollup rows of both months; each month's rating must take only its own.
    const samples = [
      sample(p1.startMs, 1), // first bucket of the first month
      sample(late, 1000),
      sample(p1.endMs - 300_000, 5), // 23:55 local, the last bucket of the month
      sample(p2.startMs, 7), // 00:00 local on the 1st
      sample(early, 20),
    ];
    const a = rate(p1, tz, samples, [[p1.startMs, p1.endMs]]);
    const b = rate(p2, tz, samples, [[p2.startMs, p2.endMs]]);
    expect(a.devices[0]?.up).toBe(1 + 1000 + 5);
    expect(b.devices[0]?.up).toBe(7 + 20);
    expect(a.lines.find((l) => l.charge === 'data')?.raw_quantity).toBe('1006');
    expect(b.lines.find((l) => l.charge === 'data')?.raw_quantity).toBe('27');
    expect(a.lines.find((l) => l.charge === 'p95')?.peak?.samples_observed).toBe(3);
    expect(b.lines.find((l) => l.charge === 'p95')?.peak?.samples_observed).toBe(2);
    expect(periodAt(late, tz).label).toBe(first);
    expect(periodAt(early, tz).label).toBe(second);
  });
});

// ---------------------------------------------------------------------------------------------

describe('assigned days: the day of a change belongs to the new assignment', () => {
  const tz = 'Europe/Berlin';
  const march = billingPeriod('2026-03', tz); // 31 days, 743 hours

  it('a whole-month assignment gets every day, also in DST months and 30-minute zones', () => {
    expect(assignedDays(march.startMs, march.endMs, tz)).toBe(31);
    const oct = billingPeriod('2026-10', tz);
    expect(assignedDays(oct.startMs, oct.endMs, tz)).toBe(31);
    for (const [label, z, days] of [
      ['2026-04', 'Australia/Lord_Howe', 30],
      ['2026-10', 'Australia/Lord_Howe', 31],
      ['2026-04', 'Pacific/Auckland', 30],
      ['2026-11', 'America/New_York', 30],
      ['2024-02', 'Asia/Kolkata', 29],
    ] as const) {
      const p = billingPeriod(label, z);
      expect(assignedDays(p.startMs, p.endMs, z), `${z} ${label}`).toBe(days);
    }
    const inv = rate(march, tz, [sample(march.startMs, 1)]);
    expect(inv.devices[0]?.assigned_days).toBe(31);
    const fee = inv.lines.find((l) => l.charge === 'fee');
    expect(fee?.prorated_days).toBe(31);
    expect(fee?.amount).toBe('31.00');
  });

  it('a move at 10:00 local on 5 March: days 1-4 for the old, 5-31 for the new assignment', () => {
    const move = ms('2026-03-05T10:00:00+01:00');
    expect(assignedDays(march.startMs, move, tz)).toBe(4);
    expect(assignedDays(move, march.endMs, tz)).toBe(27);
    // The same whether the change is at midnight or at the last minute of the day.
    for (const t of ['2026-03-05T00:00:00+01:00', '2026-03-05T23:59:59+01:00']) {
      expect(assignedDays(march.startMs, ms(t), tz), t).toBe(4);
      expect(assignedDays(ms(t), march.endMs, tz), t).toBe(27);
    }
    // Midnight is local: 23:30 UTC on 4 March is already 5 March in Berlin.
    expect(assignedDays(march.startMs, ms('2026-03-04T23:30:00Z'), tz)).toBe(4);
    // Through the engine: summary days and prorated fee (31.00 × days / 31).
    const before = rate(march, tz, [], [[march.startMs, move]]);
    const after = rate(march, tz, [], [[move, march.endMs]]);
    expect(before.devices[0]?.assigned_days).toBe(4);
    expect(after.devices[0]?.assigned_days).toBe(27);
    expect(before.lines.find((l) => l.charge === 'fee')?.amount).toBe('4.00');
    expect(after.lines.find((l) => l.charge === 'fee')?.amount).toBe('27.00');
  });

  it('a change on a DST day and in a 30-minute zone', () => {
    // 29 March 2026: Berlin skips 02:00-03:00. A move at 12:00 local that day.
    const move = ms('2026-03-29T12:00:00+02:00');
    expect(assignedDays(march.startMs, move, tz)).toBe(28);
    expect(assignedDays(move, march.endMs, tz)).toBe(3);
    // Lord Howe, 4 October 2026 (02:00 → 02:30): a move at 01:45 local (+10:30).
    const lh = billingPeriod('2026-10', 'Australia/Lord_Howe');
    const lhMove = ms('2026-10-04T01:45:00+10:30');
    expect(assignedDays(lh.startMs, lhMove, 'Australia/Lord_Howe')).toBe(3);
    expect(assignedDays(lhMove, lh.endMs, 'Australia/Lord_Howe')).toBe(28);
  });

  it('an assignment that starts and ends on the same day gets 0 days; split assignments add up', () => {
    expect(assignedDays(ms('2026-03-10T08:00:00+01:00'), ms('2026-03-10T20:00:00+01:00'), tz)).toBe(
      0,
    );
    // Out on the 10th, back on the 20th: 9 + 12 days here, 10 elsewhere.
    const out = ms('2026-03-10T09:00:00+01:00');
    const back = ms('2026-03-20T15:00:00+01:00');
    const inv = rate(
      march,
      tz,
      [],
      [
        [march.startMs, out],
        [back, march.endMs],
      ],
    );
    expect(inv.devices[0]?.assigned_days).toBe(9 + 12);
    expect(assignedDays(out, back, tz)).toBe(10);
    expect(inv.lines.find((l) => l.charge === 'fee')?.prorated_days).toBe(21);
  });
});

// ---------------------------------------------------------------------------------------------

describe('peak coverage: 5-minute intervals expected in the span', () => {
  const expected = (label: string, tz: string, spans?: Array<[number, number]>) => {
    const p = billingPeriod(label, tz);
    const inv = rate(p, tz, [sample(spans ? spans[0]![0] : p.startMs, 123)], spans);
    return inv.lines.find((l) => l.kind === 'peak')?.peak?.samples_expected;
  };

  it('a 31-day month has 8,928; one that loses an hour 8,916; one that gains an hour 8,940', () => {
    expect(expected('2026-03', 'UTC')).toBe(8928);
    expect(expected('2026-03', 'Europe/Berlin')).toBe(8916); // 743 h × 12
    expect(expected('2026-10', 'Europe/Berlin')).toBe(8940); // 745 h × 12
    expect(expected('2026-03', 'America/New_York')).toBe(8916);
    expect(expected('2026-11', 'America/New_York')).toBe(8652); // 721 h × 12
    expect(expected('2026-02', 'UTC')).toBe(8064); // 28 × 288
    expect(expected('2024-02', 'UTC')).toBe(8352); // 29 × 288
    expect(expected('2026-10', 'Australia/Lord_Howe')).toBe(8922); // 743.5 h × 12
    expect(expected('2026-04', 'Australia/Lord_Howe')).toBe(8646); // 720.5 h × 12
    expect(expected('2026-09', 'Pacific/Auckland')).toBe(8628); // 719 h × 12
  });

  it('a part of a DST month counts only its own intervals', () => {
    // From 00:00 on 10 March (Berlin, +01:00) to the end: 22 days less the lost hour = 527 h.
    const from = ms('2026-03-10T00:00:00+01:00');
    const end = billingPeriod('2026-03', 'Europe/Berlin').endMs;
    expect(expected('2026-03', 'Europe/Berlin', [[from, end]])).toBe(527 * 12);
    // Two parts: 1-10 March (9 days = 216 h) and 20 March on (12 days less 1 h = 287 h).
    const out = ms('2026-03-10T00:00:00+01:00');
    const back = ms('2026-03-20T00:00:00+01:00');
    const start = billingPeriod('2026-03', 'Europe/Berlin').startMs;
    expect(
      expected('2026-03', 'Europe/Berlin', [
        [start, out],
        [back, end],
      ]),
    ).toBe((216 + 287) * 12);
  });
});
