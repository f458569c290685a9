// Plan versions, plan changes and device moves inside one period: buildSegments
// (rater/rating/segments.ts) cuts the period, and rateAccount rates a device under each
// (plan, version) for its part (docs/rating.md "Versions and assignments"; engine.ts step 1:
// tiers apply within a version, allowances and fees are prorated by the days of that part).
import { describe, it, expect } from 'vitest';
import {
  billingPeriod,
  buildSegments,
  planVersionAt,
  rateAccount,
  validatePlan,
  type DeviceInput,
  type Invoice,
  type PlanVersion,
  type RatingInput,
  type Sample,
  type Segment,
} from '../rater/rating/index.ts';
import type { SegmentInputs } from '../rater/rating/segments.ts';

const ms = (iso: string) => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad instant ${iso}`);
  return t;
};
const isoOf = (t: number) => new Date(t).toISOString();
const MB = 1_000_000;

const TZ = 'Europe/Berlin';
const march = billingPeriod('2026-03', TZ); // 2026-02-28T23:00Z … 2026-03-31T22:00Z, 743 h
/** Version 2 of plan P takes effect on 15 March: midnight in Berlin (CET, +01:00). */
const CUT = ms('2026-03-14T23:00:00Z');
const LONG_AGO = ms('2025-01-01T00:00:00Z');

function version(id: string, v: number, doc: Record<string, unknown>): PlanVersion {
  return { id, version: v, plan: validatePlan({ plan: id, currency: 'EUR', ...doc }) };
}
/** Another version of a validated plan, effective from `effective_from`. */
const reissue = (of: PlanVersion, v: number, effective_from: string): PlanVersion => ({
  id: of.id,
  version: v,
  plan: { ...of.plan, effective_from },
});

const tiered = (price2: string) => ({
  id: 'data',
  type: 'usage',
  meter: 'total',
  unit: 'MB',
  pricing: {
    model: 'graduated',
    tiers: [{ up_to: 1000, price: '0' }, { price: price2 }],
  },
});
const p95 = {
  id: 'p95',
  type: 'peak',
  method: 'percentile',
  direction: 'in',
  pricing: { model: 'per_unit', price: '1' },
};

const P1 = version('P', 1, {
  effective_from: '2026-01-01',
  charges: [
    tiered('0.01'),
    p95,
    { id: 'fee', type: 'fixed', per: 'device', devices: 'assigned', amount: '31.00' },
    { id: 'acct', type: 'fixed', per: 'account', amount: '62.00' },
  ],
});
const P2 = version('P', 2, {
  effective_from: '2026-03-15',
  charges: [
    tiered('0.02'),
    p95,
    { id: 'fee', type: 'fixed', per: 'device', devices: 'assigned', amount: '62.00' },
    { id: 'acct', type: 'fixed', per: 'account', amount: '62.00' },
  ],
});
const Q1 = version('Q', 1, {
  effective_from: '2025-01-01',
  charges: [
    {
      id: 'data',
      type: 'usage',
      meter: 'total',
      unit: 'MB',
      pricing: { model: 'per_unit', price: '0.005' },
    },
    { id: 'fee', type: 'fixed', per: 'device', devices: 'assigned', amount: '3.10' },
    { id: 'acct', type: 'fixed', per: 'account', amount: '31.00' },
  ],
});
const VIDEO1 = version('VIDEO', 1, {
  effective_from: '2025-01-01',
  charges: [
    {
      id: 'video',
      type: 'usage',
      meter: 'total',
      unit: 'MB',
      pricing: { model: 'per_unit', price: '0.001' },
    },
  ],
});

const VERSIONS: Record<string, PlanVersion[]> = { P: [P1, P2], Q: [Q1], VIDEO: [VIDEO1] };
const PLANS: Record<string, PlanVersion> = Object.fromEntries(
  [P1, P2, Q1, VIDEO1].map((v) => [`${v.id}@${v.version}`, v]),
);

const sample = (iso: string, bytes: number): Sample => ({
  bucketMs: ms(iso),
  dims: {},
  up: bytes,
  down: 0,
  records: 1,
  meters: {},
});

function segments(over: Partial<SegmentInputs>): Segment[] {
  return buildSegments({
    accountId: 'A',
    timeZone: TZ,
    fromMs: march.startMs,
    toMs: march.endMs,
    accountPlans: [{ planId: 'P', fromMs: LONG_AGO }],
    assignments: [{ accountId: 'A', planId: null, fromMs: LONG_AGO }],
    planVersions: VERSIONS,
    ...over,
  });
}

/** The account's own plan timeline: built like a device that belongs to it all the time. */
const accountSegments = (over: Partial<SegmentInputs> = {}) =>
  segments({ assignments: [{ accountId: 'A', planId: null, fromMs: 0 }], ...over });

function rate(devices: DeviceInput[], over: Partial<RatingInput> = {}, accountId = 'A'): Invoice {
  return rateAccount({
    account: { id: accountId, currency: 'EUR', timeZone: TZ },
    period: march,
    plans: PLANS,
    devices,
    ...over,
  });
}

const seg = (fromMs: number, toMs: number, planId: string, planVersion: number): Segment => ({
  fromMs,
  toMs,
  planId,
  planVersion,
});
const brief = (inv: Invoice) =>
  inv.lines.map((l) => [l.charge, l.device ?? '-', `${l.plan}@${l.plan_version}`, l.amount]);

// ---------------------------------------------------------------------------------------------

describe('a plan version effective mid-period', () => {
  const before = sample('2026-03-14T22:55:00Z', 800 * MB); // 23:55 local on 14 March
  const after = sample('2026-03-14T23:00:00Z', 800 * MB); // 00:00 local on 15 March

  it('splits the period at midnight of its date in the account zone', () => {
    expect(segments({})).toEqual([seg(march.startMs, CUT, 'P', 1), seg(CUT, march.endMs, 'P', 2)]);
    expect(planVersionAt(VERSIONS.P ?? [], CUT - 1, TZ)?.version).toBe(1);
    expect(planVersionAt(VERSIONS.P ?? [], CUT, TZ)?.version).toBe(2);
  });

  it('the same date is a different instant for accounts in other zones', () => {
    const cutIn = (timeZone: string) => {
      const p = billingPeriod('2026-03', timeZone);
      const s = segments({ timeZone, fromMs: p.startMs, toMs: p.endMs });
      expect(s).toHaveLength(2);
      return isoOf(s[0]?.toMs ?? 0);
    };
    expect(cutIn('Europe/Berlin')).toBe('2026-03-14T23:00:00.000Z');
    expect(cutIn('Asia/Kolkata')).toBe('2026-03-14T18:30:00.000Z');
    expect(cutIn('America/New_York')).toBe('2026-03-15T04:00:00.000Z'); // EDT since 8 March
    expect(cutIn('Pacific/Auckland')).toBe('2026-03-14T11:00:00.000Z'); // NZDT +13:00
  });

  it('usage before is rated under version 1, after under version 2; lines carry plan_version', () => {
    const inv = rate([{ deviceId: 'd', segments: segments({}), samples: [before, after] }]);
    expect(brief(inv)).toEqual([
      ['data', 'd', 'P@1', '0.00'],
      ['p95', 'd', 'P@1', expect.any(String)],
      ['fee', 'd', 'P@1', '14.00'], // 31.00 × 14/31
      ['acct', '-', 'P@1', '28.00'], // 62.00 × 14/31
      ['data', 'd', 'P@2', '0.00'],
      ['p95', 'd', 'P@2', expect.any(String)],
      ['fee', 'd', 'P@2', '34.00'], // 62.00 × 17/31
      ['acct', '-', 'P@2', '34.00'],
    ]);
    const data = inv.lines.filter((l) => l.charge === 'data');
    expect(data.map((l) => [l.from, l.to, l.raw_quantity])).toEqual([
      [isoOf(march.startMs), isoOf(CUT), String(800 * MB)],
      [isoOf(CUT), isoOf(march.endMs), String(800 * MB)],
    ]);
    expect(inv.lines.filter((l) => l.charge === 'fee').map((l) => l.prorated_days)).toEqual([
      14, 17,
    ]);
    expect(inv.devices[0]?.assigned_days).toBe(31);
    expect(inv.devices[0]?.total).toBe(2 * 800 * MB);
  });

  it('invoice.plans lists the versions with their spans', () => {
    const inv = rate([{ deviceId: 'd', segments: segments({}), samples: [before, after] }]);
    expect(inv.plans).toEqual([
      { plan: 'P', version: 1, from: isoOf(march.startMs), to: isoOf(CUT) },
      { plan: 'P', version: 2, from: isoOf(CUT), to: isoOf(march.endMs) },
    ]);
  });

  it('tiers restart per version: 800 MB + 800 MB stay in the free first tier of each', () => {
    const split = rate([{ deviceId: 'd', segments: segments({}), samples: [before, after] }]);
    expect(
      split.lines
        .filter((l) => l.charge === 'data')
        .map((l) => [l.tier, l.rated_quantity, l.amount]),
    ).toEqual([
      ['0-1000 MB', '800', '0.00'],
      ['0-1000 MB', '800', '0.00'],
    ]);
    // Rated as one version, the same usage would reach the second tier (600 MB × 0.01).
    const whole = rate([
      {
        deviceId: 'd',
        segments: [seg(march.startMs, march.endMs, 'P', 1)],
        samples: [before, after],
      },
    ]);
    expect(
      whole.lines
        .filter((l) => l.charge === 'data')
        .map((l) => [l.tier, l.rated_quantity, l.amount]),
    ).toEqual([
      ['0-1000 MB', '1000', '0.00'],
      ['1000 MB+', '600', '6.00'],
    ]);
  });

  it("peaks are taken over each part's own samples and intervals", () => {
    const inv = rate([
      {
        deviceId: 'd',
        segments: segments({}),
        samples: [before, after, sample('2026-03-20T10:00:00Z', 3 * MB)],
      },
    ]);
    const peaks = inv.lines.filter((l) => l.kind === 'peak').map((l) => l.peak);
    // 14 days = 4,032 intervals; 17 days less the hour lost on 29 March = 407 h = 4,884.
    expect(peaks.map((p) => [p?.samples_observed, p?.samples_expected])).toEqual([
      [1, 4032],
      [2, 4884],
    ]);
  });

  it('a version effective at an RFC 3339 instant cuts there; ties go to the higher version', () => {
    const P3 = reissue(P2, 3, '2026-03-20T12:00:00Z');
    const P4 = reissue(P2, 4, '2026-03-20T12:00:00Z');
    expect(segments({ planVersions: { P: [P4, P1, P3, P2] } })).toEqual([
      seg(march.startMs, CUT, 'P', 1),
      seg(CUT, ms('2026-03-20T12:00:00Z'), 'P', 2),
      seg(ms('2026-03-20T12:00:00Z'), march.endMs, 'P', 4),
    ]);
  });

  // segments.ts planVersionAt: the highest version whose effective time has come; a newer
  // version supersedes an older one even if the older one was dated later.
  it('a correction (higher version, earlier date) supersedes a version dated later', () => {
    const planned = reissue(P2, 2, '2026-03-25');
    const correction = reissue(P2, 3, '2026-03-20');
    expect(segments({ planVersions: { P: [P1, planned, correction] } })).toEqual([
      seg(march.startMs, ms('2026-03-19T23:00:00Z'), 'P', 1),
      seg(ms('2026-03-19T23:00:00Z'), march.endMs, 'P', 3),
    ]);
  });

  it('a device active in one part is a monthly active device in every part', () => {
    const fee = (amount: string) => ({ id: 'fee', type: 'fixed', per: 'device', amount });
    const A1 = version('ACT', 1, { effective_from: '2026-01-01', charges: [fee('31.00')] });
    const A2 = version('ACT', 2, { effective_from: '2026-03-15', charges: [fee('62.00')] });
    const segs = segments({
      accountPlans: [{ planId: 'ACT', fromMs: LONG_AGO }],
      planVersions: { ACT: [A1, A2] },
    });
    const inv = rate([{ deviceId: 'd', segments: segs, samples: [after] }], {
      plans: { 'ACT@1': A1, 'ACT@2': A2 },
    });
    expect(
      inv.lines.map((l) => [`${l.plan}@${l.plan_version}`, l.prorated_days, l.amount]),
    ).toEqual([
      ['ACT@1', 14, '14.00'],
      ['ACT@2', 17, '34.00'],
    ]);
    expect(inv.active_devices).toBe(1);
  });

  it('a version effective at the period start or after the period does not cut it', () => {
    const fromStart = reissue(P2, 2, '2026-03-01');
    const later = reissue(P2, 3, '2026-04-01');
    expect(segments({ planVersions: { P: [P1, fromStart, later] } })).toEqual([
      seg(march.startMs, march.endMs, 'P', 2),
    ]);
  });

  it('versions of plans the device is not under do not cut its segments', () => {
    const Q2 = reissue(Q1, 2, '2026-03-10');
    expect(
      segments({
        accountPlans: [{ planId: 'Q', fromMs: LONG_AGO }],
        planVersions: { P: [P1, P2], Q: [Q1] },
      }),
    ).toEqual([seg(march.startMs, march.endMs, 'Q', 1)]);
    expect(segments({ planVersions: { P: [P1], Q: [Q1, Q2] } })).toEqual([
      seg(march.startMs, march.endMs, 'P', 1),
    ]);
  });

  it('an open period is cut at as-of', () => {
    const asOf = ms('2026-03-20T12:00:00Z');
    expect(segments({ toMs: asOf })).toEqual([
      seg(march.startMs, CUT, 'P', 1),
      seg(CUT, asOf, 'P', 2),
    ]);
    expect(segments({ toMs: march.startMs })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a device moving from account A to B mid-period', () => {
  const move = ms('2026-03-10T09:00:00+01:00');
  // Any order: the history is sorted by time.
  const assignments = [
    { accountId: 'B', planId: null, fromMs: move },
    { accountId: 'A', planId: null, fromMs: ms('2025-06-01T00:00:00Z') },
  ];
  const samples = [
    sample('2026-03-05T12:00:00Z', 10 * MB),
    sample('2026-03-10T07:55:00Z', 1 * MB), // 08:55 local: still A
    sample('2026-03-10T08:00:00Z', 2 * MB), // 09:00 local: B
    sample('2026-03-20T12:00:00Z', 20 * MB),
  ];
  const segA = segments({ assignments });
  const segB = segments({
    accountId: 'B',
    assignments,
    accountPlans: [{ planId: 'Q', fromMs: LONG_AGO }],
  });

  it('each account gets its part of the period', () => {
    expect(segA).toEqual([seg(march.startMs, move, 'P', 1)]);
    // B is on Q: the versions of P do not cut B's part.
    expect(segB).toEqual([seg(move, march.endMs, 'Q', 1)]);
  });

  it("appears in each account's invoice for its part only", () => {
    // Storage may hand both accounts the device's rows of the whole period; the segments decide.
    const a = rate([{ deviceId: 'd', segments: segA, samples }], {}, 'A');
    const b = rate([{ deviceId: 'd', segments: segB, samples }], {}, 'B');
    expect(a.devices).toMatchObject([{ device: 'd', up: 11 * MB, assigned_days: 9 }]);
    expect(b.devices).toMatchObject([{ device: 'd', up: 22 * MB, assigned_days: 22 }]);
    expect(a.lines.find((l) => l.charge === 'data')?.raw_quantity).toBe(String(11 * MB));
    expect(b.lines.find((l) => l.charge === 'data')?.raw_quantity).toBe(String(22 * MB));
    expect(a.lines.find((l) => l.charge === 'fee')?.amount).toBe('9.00'); // 31.00 × 9/31
    expect(b.lines.find((l) => l.charge === 'fee')?.amount).toBe('2.20'); // 3.10 × 22/31
    expect(a.plans).toEqual([
      { plan: 'P', version: 1, from: isoOf(march.startMs), to: isoOf(move) },
    ]);
    expect(b.plans).toEqual([{ plan: 'Q', version: 1, from: isoOf(move), to: isoOf(march.endMs) }]);
    expect(a.lines.every((l) => l.to <= isoOf(move))).toBe(true);
    expect(b.lines.every((l) => l.from >= isoOf(move))).toBe(true);
  });

  it('of two changes at the same instant, the later entry of the history wins', () => {
    const t = ms('2026-03-10T09:00:00+01:00');
    const history = [
      { accountId: 'A', planId: null, fromMs: LONG_AGO },
      { accountId: 'B', planId: null, fromMs: t },
      { accountId: 'A', planId: 'VIDEO', fromMs: t },
    ];
    expect(segments({ assignments: history })).toEqual([
      seg(march.startMs, t, 'P', 1),
      seg(t, march.endMs, 'VIDEO', 1),
    ]);
    expect(segments({ accountId: 'B', assignments: history })).toEqual([]);
  });

  it('a device unassigned mid-period is rated only up to then', () => {
    const out = segments({
      assignments: [
        { accountId: 'A', planId: null, fromMs: LONG_AGO },
        { accountId: null, planId: null, fromMs: move },
      ],
    });
    expect(out).toEqual([seg(march.startMs, move, 'P', 1)]);
    // Back on 20 March: two parts, the second cut by version 2.
    const back = ms('2026-03-20T00:00:00+01:00');
    expect(
      segments({
        assignments: [
          { accountId: 'A', planId: null, fromMs: LONG_AGO },
          { accountId: null, planId: null, fromMs: move },
          { accountId: 'A', planId: null, fromMs: back },
        ],
      }),
    ).toEqual([seg(march.startMs, move, 'P', 1), seg(back, march.endMs, 'P', 2)]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a device with a plan override', () => {
  it('is rated under its own plan while the account plan rates the others', () => {
    const camSegs = segments({
      assignments: [{ accountId: 'A', planId: 'VIDEO', fromMs: LONG_AGO }],
    });
    expect(camSegs).toEqual([seg(march.startMs, march.endMs, 'VIDEO', 1)]);
    const inv = rate([
      {
        deviceId: 'cam',
        segments: camSegs,
        samples: [sample('2026-03-05T12:00:00Z', 500 * MB)],
      },
      {
        deviceId: 'router',
        segments: segments({}),
        samples: [sample('2026-03-05T12:00:00Z', 1500 * MB)],
      },
    ]);
    expect(inv.lines.filter((l) => l.device === 'cam').map((l) => [l.charge, l.plan])).toEqual([
      ['video', 'VIDEO'],
    ]);
    expect(inv.lines.find((l) => l.device === 'cam')?.amount).toBe('0.50'); // 500 MB × 0.001
    expect(inv.lines.filter((l) => l.device === 'router').every((l) => l.plan === 'P')).toBe(true);
    expect(inv.plans.map((p) => `${p.plan}@${p.version} ${p.from} ${p.to}`)).toEqual([
      `VIDEO@1 ${isoOf(march.startMs)} ${isoOf(march.endMs)}`,
      `P@1 ${isoOf(march.startMs)} ${isoOf(CUT)}`,
      `P@2 ${isoOf(CUT)} ${isoOf(march.endMs)}`,
    ]);
  });

  it('an override set mid-period takes over from then', () => {
    const from = ms('2026-03-20T00:00:00+01:00');
    expect(
      segments({
        assignments: [
          { accountId: 'A', planId: null, fromMs: LONG_AGO },
          { accountId: 'A', planId: 'VIDEO', fromMs: from },
        ],
      }),
    ).toEqual([
      seg(march.startMs, CUT, 'P', 1),
      seg(CUT, from, 'P', 2),
      seg(from, march.endMs, 'VIDEO', 1),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('an account plan change', () => {
  const change = ms('2026-03-20T00:00:00+01:00');
  const accountPlans = [
    { planId: 'Q', fromMs: change },
    { planId: 'P', fromMs: LONG_AGO },
  ];

  it('cuts the devices and the account timeline; fees are prorated per part', () => {
    const devSegs = segments({ accountPlans });
    expect(devSegs).toEqual([
      seg(march.startMs, CUT, 'P', 1),
      seg(CUT, change, 'P', 2),
      seg(change, march.endMs, 'Q', 1),
    ]);
    const acctSegs = accountSegments({ accountPlans });
    expect(acctSegs).toEqual(devSegs);
    const inv = rate([{ deviceId: 'd', segments: devSegs, samples: [] }], {
      accountSegments: acctSegs,
    });
    // 14 + 5 + 12 days = 31.
    expect(
      inv.lines
        .filter((l) => l.kind === 'fixed')
        .map((l) => [l.charge, `${l.plan}@${l.plan_version}`, l.prorated_days, l.amount]),
    ).toEqual([
      ['fee', 'P@1', 14, '14.00'],
      ['acct', 'P@1', 14, '28.00'],
      ['fee', 'P@2', 5, '10.00'],
      ['acct', 'P@2', 5, '10.00'],
      ['fee', 'Q@1', 12, '1.20'],
      ['acct', 'Q@1', 12, '12.00'],
    ]);
    expect(inv.plans).toEqual([
      { plan: 'P', version: 1, from: isoOf(march.startMs), to: isoOf(CUT) },
      { plan: 'P', version: 2, from: isoOf(CUT), to: isoOf(change) },
      { plan: 'Q', version: 1, from: isoOf(change), to: isoOf(march.endMs) },
    ]);
  });

  it('a device override is not changed by the account plan change', () => {
    expect(
      segments({
        accountPlans,
        assignments: [{ accountId: 'A', planId: 'VIDEO', fromMs: LONG_AGO }],
      }),
    ).toEqual([seg(march.startMs, march.endMs, 'VIDEO', 1)]);
  });
});
