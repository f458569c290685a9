// Properties of the pure rating engine (rater/rating), checked with fast-check on random plans
// and usage. Fixed seeds and run counts keep the file deterministic and quick.
//
// Every reference computation here is plain BigInt/number logic written for the test: it does
// not reuse peak.ts, pricing.ts or money.ts.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import {
  billingPeriod,
  currencyDecimals,
  rateAccount,
  validatePlan,
  type DeviceInput,
  type Invoice,
  type PlanVersion,
  type RatingInput,
  type RawRecord,
  type Sample,
  type Segment,
} from '../rater/rating/index.ts';
import { allocate, Dec } from '../rater/rating/money.ts';

const SAMPLE_MS = 300_000;
const SEED = 20260301;

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers (no Math.random: a failure must replay from the fast-check seed)
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG for splitting and shuffling inside a property. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const randInt = (rand: () => number, maxInclusive: number) =>
  Math.floor(rand() * (maxInclusive + 1));

/** Splits the integer n into k non-negative integers that add up to n. */
function partition(n: number, k: number, rand: () => number): number[] {
  const cuts = Array.from({ length: k - 1 }, () => randInt(rand, n)).sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(c - prev);
    prev = c;
  }
  out.push(n - prev);
  return out;
}

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(rand, i);
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** "n" with `places` digits after the point: dec(12345, 4) = "1.2345". */
function dec(n: number, places: number): string {
  if (places === 0) return String(n);
  const s = String(n).padStart(places + 1, '0');
  return `${s.slice(0, -places)}.${s.slice(-places)}`;
}

const json = (x: unknown) => JSON.stringify(x);
const amountRe = (decimals: number) =>
  decimals === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${decimals}}$`);

// ---------------------------------------------------------------------------------------------
// Random plans
// ---------------------------------------------------------------------------------------------

type Doc = Record<string, unknown>;

const priceArb = fc.integer({ min: 0, max: 200_000 }).map((n) => dec(n, 4)); // 0 … 20.0000
const modeArb = fc.constantFrom('up', 'down', 'half_up', 'half_even');

const tiersArb = fc
  .array(
    fc.record({
      width: fc.integer({ min: 1, max: 5000 }),
      price: priceArb,
      flat: fc.option(priceArb, { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((ts) => {
    let bound = 0;
    return ts.map((t, i) => {
      bound += t.width;
      return {
        ...(i < ts.length - 1 ? { up_to: bound } : {}),
        price: t.price,
        ...(t.flat !== undefined ? { flat: t.flat } : {}),
      };
    });
  });

const pricingArb: fc.Arbitrary<Doc> = fc.oneof(
  priceArb.map((price) => ({ model: 'per_unit', price })),
  tiersArb.map((tiers) => ({ model: 'graduated', tiers })),
  tiersArb.map((tiers) => ({ model: 'volume', tiers })),
  fc
    .record({ size: fc.integer({ min: 1, max: 5000 }), price: priceArb })
    .map((p) => ({ model: 'package', ...p })),
);

/** Price models whose amount never falls when the quantity rises (volume tiers can). */
const monotonePricingArb: fc.Arbitrary<Doc> = fc.oneof(
  priceArb.map((price) => ({ model: 'per_unit', price })),
  tiersArb.map((tiers) => ({ model: 'graduated', tiers })),
  fc
    .record({ size: fc.integer({ min: 1, max: 5000 }), price: priceArb })
    .map((p) => ({ model: 'package', ...p })),
);

const filterArb = fc.constantFrom<Doc | undefined>(
  undefined,
  { dims: { zone: 'eu' } },
  { exclude_dims: { zone: 'eu' } },
  { window: 'day' },
  { outside_window: 'day' },
);

interface UsageOpts {
  perRecord?: 'up' | 'any';
  pricing?: fc.Arbitrary<Doc>;
}

const usageChargeArb = (o: UsageOpts = {}): fc.Arbitrary<Doc> =>
  fc
    .record({
      meter: fc.constantFrom('total', 'up', 'down', 'meters.sms'),
      unit: fc.constantFrom('B', 'KB', 'MB'),
      scope: fc.constantFrom('device', 'account'),
      included: fc.option(
        fc.record({
          q: fc.integer({ min: 0, max: 3000 }),
          pooled: fc.boolean(),
          prorate: fc.boolean(),
        }),
        { nil: undefined },
      ),
      perPeriod: fc.option(fc.record({ inc: fc.integer({ min: 1, max: 100 }), mode: modeArb }), {
        nil: undefined,
      }),
      perRecordInc: fc.integer({ min: 1, max: 100 }),
      perRecordMode: modeArb,
      filter: filterArb,
      pricing: o.pricing ?? pricingArb,
    })
    .map((c) => {
      const count = c.meter.startsWith('meters.');
      const rounding: Doc = {};
      if (c.perPeriod)
        rounding.per_period = { increment: String(c.perPeriod.inc), mode: c.perPeriod.mode };
      if (o.perRecord)
        rounding.per_record = {
          increment: String(c.perRecordInc),
          mode: o.perRecord === 'up' ? 'up' : c.perRecordMode,
        };
      return {
        type: 'usage',
        meter: c.meter,
        ...(count ? {} : { unit: c.unit }),
        scope: c.scope,
        ...(c.filter ? { filter: c.filter } : {}),
        ...(Object.keys(rounding).length > 0 ? { rounding } : {}),
        ...(c.included
          ? {
              included: {
                quantity: String(c.included.q),
                pooled: c.scope === 'account' && c.included.pooled,
                prorate: c.included.prorate,
              },
            }
          : {}),
        pricing: c.pricing,
      };
    });

const peakChargeArb: fc.Arbitrary<Doc> = fc
  .record({
    method: fc.constantFrom('percentile', 'max', 'daily_peak_avg'),
    percentile: fc.integer({ min: 1, max: 100 }),
    direction: fc.constantFrom('in', 'out', 'max', 'sum'),
    unit: fc.constantFrom('bps', 'kbps', 'Mbps'),
    rate_decimals: fc.integer({ min: 0, max: 6 }),
    rate_rounding: modeArb,
    scope: fc.constantFrom('device', 'account'),
    committed: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
    filter: filterArb,
    pricing: fc.oneof(
      priceArb.map((price) => ({ model: 'per_unit', price })),
      tiersArb.map((tiers) => ({ model: 'graduated', tiers })),
    ),
  })
  .map(({ committed, filter, ...c }) => ({
    type: 'peak',
    ...c,
    ...(committed !== undefined ? { committed: String(committed) } : {}),
    ...(filter ? { filter } : {}),
  }));

const fixedChargeArb: fc.Arbitrary<Doc> = fc
  .record({
    per: fc.constantFrom('device', 'account'),
    devices: fc.constantFrom('active', 'assigned'),
    prorate: fc.boolean(),
    amount: priceArb,
  })
  .map((c) => ({ type: 'fixed', ...c }));

const limitArb = (max: number) =>
  fc
    .array(
      fc.record({
        per: fc.constantFrom('device', 'account'),
        amount: fc.integer({ min: 0, max }).map((n) => dec(n, 2)),
      }),
      { maxLength: 2 },
    )
    .map((ls) => ls.filter((l, i) => ls.findIndex((m) => m.per === l.per) === i));

interface PlanOpts {
  /** One usage charge that rounds per record (always first). */
  perRecord?: 'up' | 'any';
  /** Only price models monotone in quantity, for the per-record charge. */
  monotonePerRecord?: boolean;
}

const planDocArb = (currency: string, o: PlanOpts = {}): fc.Arbitrary<Doc> =>
  fc
    .record({
      units: fc.constantFrom('decimal', 'binary'),
      amount_rounding: modeArb,
      perRecordCharge: usageChargeArb({
        perRecord: o.perRecord ?? 'any',
        ...(o.monotonePerRecord ? { pricing: monotonePricingArb } : {}),
      }),
      charges: fc.array(
        fc.oneof(usageChargeArb(), usageChargeArb(), peakChargeArb, fixedChargeArb),
        {
          minLength: 1,
          maxLength: 5,
        },
      ),
      minimum: limitArb(2000),
      cap: limitArb(100_000_00),
    })
    .map((p) => ({
      plan: 'p',
      currency,
      effective_from: '2020-01-01',
      units: p.units,
      amount_rounding: p.amount_rounding,
      windows: { day: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }] },
      charges: [...(o.perRecord ? [p.perRecordCharge] : []), ...p.charges].map((c, i) => ({
        id: `c${i}`,
        ...c,
      })),
      minimum: p.minimum,
      cap: p.cap,
    }));

/** Validates a generated document (a JSON round trip drops undefined keys first). */
const planOf = (doc: Doc) => validatePlan(JSON.parse(json(doc)));

// ---------------------------------------------------------------------------------------------
// Random accounts and usage
// ---------------------------------------------------------------------------------------------

const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const LABELS = ['2026-02', '2026-03', '2026-10'];
const CURRENCIES = ['EUR', 'JPY', 'KWD', 'USD'];

const bytesArb = fc.oneof(
  fc.integer({ min: 0, max: 3000 }),
  fc.integer({ min: 0, max: 5_000_000_000 }),
);

interface SampleSpec {
  /** Position in the period, 0 … 1e6 (mapped onto the period's buckets). */
  at: number;
  up: number;
  down: number;
  records: number;
  sms: number;
  zone: 'eu' | 'us' | undefined;
}

const sampleSpecArb: fc.Arbitrary<SampleSpec> = fc.record({
  at: fc.integer({ min: 0, max: 999_999 }),
  up: bytesArb,
  down: bytesArb,
  records: fc.integer({ min: 1, max: 3 }),
  sms: fc.integer({ min: 0, max: 20 }),
  zone: fc.constantFrom<'eu' | 'us' | undefined>('eu', 'us', undefined),
});

interface DeviceSpec {
  whole: boolean;
  a: number;
  b: number;
  samples: SampleSpec[];
}

const deviceSpecArb: fc.Arbitrary<DeviceSpec> = fc.record({
  whole: fc.boolean(),
  a: fc.integer({ min: 0, max: 1000 }),
  b: fc.integer({ min: 0, max: 1000 }),
  samples: fc.array(sampleSpecArb, { maxLength: 12 }),
});

interface Scenario {
  currency: string;
  tz: string;
  label: string;
  v1: Doc;
  /** A second plan version from `cut` (per mille of the period) on. */
  v2: Doc | undefined;
  cut: number;
  /** Open period: as of this point (per mille of the period). */
  asOf: number | undefined;
  devices: DeviceSpec[];
  seed: number;
}

const scenarioArb = (o: PlanOpts & { open?: boolean } = {}): fc.Arbitrary<Scenario> =>
  fc.constantFrom(...CURRENCIES).chain((currency) =>
    fc.record({
      currency: fc.constant(currency),
      tz: fc.constantFrom(...ZONES),
      label: fc.constantFrom(...LABELS),
      v1: planDocArb(currency, o),
      v2: fc.option(planDocArb(currency, o), { nil: undefined }),
      cut: fc.integer({ min: 1, max: 999 }),
      asOf: o.open
        ? fc.option(fc.integer({ min: 1, max: 999 }), { nil: undefined })
        : fc.constant(undefined),
      devices: fc.array(deviceSpecArb, { minLength: 1, maxLength: 4 }),
      seed: fc.integer(),
    }),
  );

/** Open or closed periods, with or without a charge that rounds per record. */
const anyScenarioArb = fc.oneof(
  scenarioArb({ open: true }),
  scenarioArb({ perRecord: 'any', open: true }),
);

function buildInput(s: Scenario): RatingInput {
  const period = billingPeriod(s.label, s.tz);
  const slots = (period.endMs - period.startMs) / SAMPLE_MS;
  const at = (perMille: number) =>
    period.startMs + Math.floor((perMille * slots) / 1000) * SAMPLE_MS;
  const cut = s.v2 ? at(s.cut) : period.endMs;
  const end = s.asOf !== undefined ? at(s.asOf) : period.endMs;
  const rand = prng(s.seed);
  const plans: Record<string, PlanVersion> = { 'p@1': { id: 'p', version: 1, plan: planOf(s.v1) } };
  if (s.v2) plans['p@2'] = { id: 'p', version: 2, plan: planOf(s.v2) };

  const devices: DeviceInput[] = s.devices.map((d, i) => {
    let from = d.whole ? period.startMs : at(Math.min(d.a, d.b));
    let to = d.whole ? period.endMs : at(Math.max(d.a, d.b));
    if (to <= from) to = from + SAMPLE_MS;
    from = Math.min(from, end);
    to = Math.min(to, end);
    const segments: Segment[] = [];
    const push = (f: number, t: number, v: number) => {
      if (t > f) segments.push({ fromMs: f, toMs: t, planId: 'p', planVersion: v });
    };
    push(from, Math.min(to, cut), 1);
    push(Math.max(from, cut), to, 2);

    const samples: Sample[] = [];
    const records: RawRecord[] = [];
    for (const sp of d.samples) {
      const bucketMs = period.startMs + Math.floor((sp.at * slots) / 1_000_000) * SAMPLE_MS;
      if (bucketMs >= end) continue; // an open period knows usage only so far
      const dims: Record<string, string> = sp.zone ? { zone: sp.zone } : {};
      samples.push({
        bucketMs,
        dims,
        up: sp.up,
        down: sp.down,
        records: sp.records,
        meters: { sms: String(sp.sms) },
      });
      // The raw records behind the rollup row: same bucket, bytes and meters split over them.
      const ups = partition(sp.up, sp.records, rand);
      const downs = partition(sp.down, sp.records, rand);
      const smss = partition(sp.sms, sp.records, rand);
      for (let k = 0; k < sp.records; k++)
        records.push({
          tsMs: bucketMs + 1 + randInt(rand, SAMPLE_MS - 1),
          dims,
          up: ups[k] ?? 0,
          down: downs[k] ?? 0,
          meters: { sms: String(smss[k] ?? 0) },
        });
    }
    return { deviceId: `dev-${i}`, segments, samples, records };
  });
  return {
    account: { id: 'acct', currency: s.currency, timeZone: s.tz },
    period,
    ...(s.asOf !== undefined ? { asOfMs: end } : {}),
    plans,
    devices,
  };
}

/** The same usage in more rollup rows: each row split into 1-3 rows of the same bucket and dims. */
function splitSamples(samples: Sample[], rand: () => number): Sample[] {
  return samples.flatMap((s) => {
    const k = 1 + randInt(rand, 2);
    const ups = partition(s.up, k, rand);
    const downs = partition(s.down, k, rand);
    const recs = partition(s.records, k, rand);
    const smss = partition(Number(s.meters.sms ?? '0'), k, rand);
    return ups.map((up, j) => ({
      bucketMs: s.bucketMs,
      dims: { ...s.dims },
      up,
      down: downs[j] ?? 0,
      records: recs[j] ?? 0,
      meters: { sms: String(smss[j] ?? 0) },
    }));
  });
}

/** The same usage in more raw records: each split in 1-3 records ending in the same bucket. */
function splitRecords(records: RawRecord[], rand: () => number): RawRecord[] {
  return records.flatMap((r) => {
    const k = 1 + randInt(rand, 2);
    const ups = partition(r.up, k, rand);
    const downs = partition(r.down, k, rand);
    const smss = partition(Number(r.meters.sms ?? '0'), k, rand);
    const bucket = Math.floor((r.tsMs - 1) / SAMPLE_MS) * SAMPLE_MS;
    return ups.map((up, j) => ({
      tsMs: bucket + 1 + randInt(rand, SAMPLE_MS - 1),
      dims: { ...r.dims },
      up,
      down: downs[j] ?? 0,
      meters: { sms: String(smss[j] ?? 0) },
    }));
  });
}

const withDevices = (input: RatingInput, f: (d: DeviceInput) => DeviceInput): RatingInput => ({
  ...input,
  devices: input.devices.map(f),
});

const sumMinor = (amounts: string[]) => amounts.reduce((s, a) => s.plus(a), new Decimal(0));

// ---------------------------------------------------------------------------------------------

describe('invoice arithmetic', () => {
  it('total = sum of line amounts; every amount has exactly the currency decimals', () => {
    fc.assert(
      fc.property(anyScenarioArb, (s) => {
        const inv = rateAccount(buildInput(s));
        const d = currencyDecimals(s.currency);
        const re = amountRe(d);
        for (const l of inv.lines) expect(l.amount, `line ${l.line}`).toMatch(re);
        expect(inv.total).toMatch(re);
        for (const a of inv.allocations) expect(a.amount).toMatch(re);
        for (const dev of inv.devices) expect(dev.amount).toMatch(re);
        if (inv.projected_total !== undefined) expect(inv.projected_total).toMatch(re);
        expect(sumMinor(inv.lines.map((l) => l.amount)).toFixed(d)).toBe(inv.total);
        // Lines are numbered 1..n in order.
        expect(inv.lines.map((l) => l.line)).toEqual(inv.lines.map((_, i) => i + 1));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  // plan.ts: "Digits after the decimal point in the currency's minor unit"; docs/rating.md:
  // "ISO 4217; amounts are rounded to its minor unit". The ISO 4217 minor units are the oracle.
  it('the currency decimals are the ISO 4217 minor units', () => {
    const iso: Record<string, number> = {
      EUR: 2,
      USD: 2,
      JPY: 0,
      KRW: 0,
      ISK: 0,
      KWD: 3,
      BHD: 3,
      TND: 3,
      HUF: 2,
      IDR: 2,
      COP: 2,
      PKR: 2,
      IQD: 3,
    };
    const engine = Object.fromEntries(Object.keys(iso).map((c) => [c, currencyDecimals(c)]));
    expect(engine).toEqual(iso);
  });
});

describe('splitting usage over more rows', () => {
  it('more rollup rows in the same buckets change nothing (any plan, per-record charges included)', () => {
    fc.assert(
      fc.property(scenarioArb({ perRecord: 'any', open: true }), fc.integer(), (s, seed) => {
        const input = buildInput(s);
        const rand = prng(seed);
        const split = withDevices(input, (d) => ({ ...d, samples: splitSamples(d.samples, rand) }));
        expect(json(rateAccount(split))).toBe(json(rateAccount(input)));
      }),
      { seed: SEED + 1, numRuns: 150 },
    );
  });

  it('without per-record rounding, more rows and more raw records change nothing', () => {
    fc.assert(
      fc.property(scenarioArb({ open: true }), fc.integer(), (s, seed) => {
        const input = buildInput(s);
        const rand = prng(seed);
        const split = withDevices(input, (d) => ({
          ...d,
          samples: splitSamples(d.samples, rand),
          records: splitRecords(d.records ?? [], rand),
        }));
        expect(json(rateAccount(split))).toBe(json(rateAccount(input)));
      }),
      { seed: SEED + 2, numRuns: 150 },
    );
  });

  it('with per-record rounding up, splitting records never lowers the bill', () => {
    fc.assert(
      fc.property(
        scenarioArb({ perRecord: 'up', monotonePerRecord: true }),
        fc.integer(),
        (s, seed) => {
          const input = buildInput(s);
          const rand = prng(seed);
          // The rollup rows (bytes per bucket) stay as they were; only the raw records split.
          const split = withDevices(input, (d) => ({
            ...d,
            records: splitRecords(d.records ?? [], rand),
          }));
          const before = new Decimal(rateAccount(input).total);
          const after = new Decimal(rateAccount(split).total);
          expect(
            after.greaterThanOrEqualTo(before),
            `${after.toFixed()} < ${before.toFixed()}`,
          ).toBe(true);
        },
      ),
      { seed: SEED + 3, numRuns: 150 },
    );
  });

  it('per-record rounding does make splitting matter (1000 B vs 2 × 500 B, rounded up to 1 KB)', () => {
    const plan = planOf({
      plan: 'p',
      currency: 'EUR',
      effective_from: '2020-01-01',
      charges: [
        {
          id: 'sessions',
          type: 'usage',
          meter: 'total',
          unit: 'KB',
          rounding: { per_record: { increment: '1 KB', mode: 'up' } },
          pricing: { model: 'per_unit', price: '1.00' },
        },
      ],
    });
    const period = billingPeriod('2026-03', 'UTC');
    const t = period.startMs + 300_000;
    const rate = (records: RawRecord[]) =>
      rateAccount({
        account: { id: 'a', currency: 'EUR', timeZone: 'UTC' },
        period,
        plans: { 'p@1': { id: 'p', version: 1, plan } },
        devices: [
          {
            deviceId: 'd',
            segments: [{ fromMs: period.startMs, toMs: period.endMs, planId: 'p', planVersion: 1 }],
            samples: [
              {
                bucketMs: period.startMs,
                dims: {},
                up: 1000,
                down: 0,
                records: records.length,
                meters: {},
              },
            ],
            records,
          },
        ],
      }).total;
    const rec = (up: number): RawRecord => ({ tsMs: t, dims: {}, up, down: 0, meters: {} });
    expect(rate([rec(1000)])).toBe('1.00');
    expect(rate([rec(500), rec(500)])).toBe('2.00');
  });
});

// ---------------------------------------------------------------------------------------------

/** One device, one usage charge, the whole of March 2026 (UTC), usage `bytes` in one row. */
function rateOneCharge(charge: Doc, bytes: number, extra: Doc = {}): Invoice {
  const plan = planOf({
    plan: 'p',
    currency: 'EUR',
    effective_from: '2020-01-01',
    ...extra,
    charges: [{ id: 'data', ...charge }],
  });
  const period = billingPeriod('2026-03', 'UTC');
  return rateAccount({
    account: { id: 'a', currency: 'EUR', timeZone: 'UTC' },
    period,
    plans: { 'p@1': { id: 'p', version: 1, plan } },
    devices: [
      {
        deviceId: 'd',
        segments: [{ fromMs: period.startMs, toMs: period.endMs, planId: 'p', planVersion: 1 }],
        samples: [
          { bucketMs: period.startMs, dims: {}, up: bytes, down: 0, records: 1, meters: {} },
        ],
      },
    ],
  });
}

const usageOptsArb = fc.record({
  unit: fc.constantFrom('B', 'KB', 'MB'),
  included: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
  perPeriod: fc.option(fc.record({ inc: fc.integer({ min: 1, max: 100 }), mode: modeArb }), {
    nil: undefined,
  }),
  units: fc.constantFrom('decimal', 'binary'),
  amount_rounding: modeArb,
});

type UsageOptsSpec = typeof usageOptsArb extends fc.Arbitrary<infer T> ? T : never;

const usageCharge = (o: UsageOptsSpec, pricing: Doc): Doc => ({
  type: 'usage',
  meter: 'up',
  unit: o.unit,
  ...(o.included !== undefined ? { included: { quantity: String(o.included) } } : {}),
  ...(o.perPeriod
    ? { rounding: { per_period: { increment: String(o.perPeriod.inc), mode: o.perPeriod.mode } } }
    : {}),
  pricing,
});

describe('price models', () => {
  it('graduated price is monotone non-decreasing in usage', () => {
    fc.assert(
      fc.property(usageOptsArb, tiersArb, bytesArb, bytesArb, (o, tiers, q1, delta) => {
        const charge = usageCharge(o, { model: 'graduated', tiers });
        const extra = { units: o.units, amount_rounding: o.amount_rounding };
        const a = new Decimal(rateOneCharge(charge, q1, extra).total);
        const b = new Decimal(rateOneCharge(charge, q1 + delta, extra).total);
        expect(b.greaterThanOrEqualTo(a), `${q1}+${delta}: ${b.toFixed()} < ${a.toFixed()}`).toBe(
          true,
        );
      }),
      { seed: SEED + 4, numRuns: 300 },
    );
  });

  it('volume and graduated agree on a single tier (byte-identical invoices)', () => {
    fc.assert(
      fc.property(
        usageOptsArb,
        priceArb,
        fc.option(priceArb, { nil: undefined }),
        bytesArb,
        (o, price, flat, q) => {
          const tiers = [{ price, ...(flat !== undefined ? { flat } : {}) }];
          const extra = { units: o.units, amount_rounding: o.amount_rounding };
          const g = rateOneCharge(usageCharge(o, { model: 'graduated', tiers }), q, extra);
          const v = rateOneCharge(usageCharge(o, { model: 'volume', tiers }), q, extra);
          expect(json(v)).toBe(json(g));
        },
      ),
      { seed: SEED + 5, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Percentile: the engine against a plain reference
// ---------------------------------------------------------------------------------------------

/** k = ceil(p/100 × n) in integers. */
const refRank = (p: number, n: number) => Number((BigInt(p) * BigInt(n) + 99n) / 100n);

/** The k-th smallest (1-based) of BigInt values. */
function kthSmallest(values: bigint[], k: number): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[k - 1] ?? 0n;
}

/** num/den rounded to `places` decimals by `mode`, as a plain decimal string (no trailing zeros). */
function roundRational(num: bigint, den: bigint, places: number, mode: string): string {
  const scale = 10n ** BigInt(places);
  const n = num * scale;
  let q = n / den;
  const r = n % den;
  if (r !== 0n) {
    const twice = 2n * r;
    const up =
      mode === 'up' ||
      (mode === 'half_up' && twice >= den) ||
      (mode === 'half_even' && (twice > den || (twice === den && q % 2n === 1n)));
    if (up) q += 1n;
  }
  const s = q.toString().padStart(places + 1, '0');
  const int = places === 0 ? s : s.slice(0, -places);
  const frac = places === 0 ? '' : s.slice(-places).replace(/0+$/, '');
  return frac === '' ? int : `${int}.${frac}`;
}

const RATE_UNIT_BPS: Record<string, bigint> = { bps: 1n, kbps: 1000n, Mbps: 1_000_000n };

interface PeakCase {
  percentile: number;
  direction: 'in' | 'out' | 'max' | 'sum';
  scope: 'device' | 'account';
  unit: 'bps' | 'kbps' | 'Mbps';
  rate_decimals: number;
  rate_rounding: 'up' | 'down' | 'half_up' | 'half_even';
  devices: Array<Array<{ slot: number; up: number; down: number }>>;
}

const peakCaseArb: fc.Arbitrary<PeakCase> = fc.record({
  percentile: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(95, 50, 100)),
  direction: fc.constantFrom('in', 'out', 'max', 'sum'),
  scope: fc.constantFrom('device', 'account'),
  unit: fc.constantFrom('bps', 'kbps', 'Mbps'),
  rate_decimals: fc.integer({ min: 0, max: 9 }),
  rate_rounding: modeArb,
  devices: fc.array(
    fc.array(
      fc.record({
        // Few distinct buckets, so that rows of one bucket (and devices of the account) add up.
        slot: fc.integer({ min: 0, max: 60 }),
        up: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 4_000_000_000 })),
        down: fc.oneof(
          fc.integer({ min: 0, max: 200 }),
          fc.integer({ min: 0, max: 4_000_000_000 }),
        ),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    { minLength: 1, maxLength: 3 },
  ),
});

function ratePeak(c: PeakCase): Invoice {
  const plan = planOf({
    plan: 'p',
    currency: 'EUR',
    effective_from: '2020-01-01',
    charges: [
      {
        id: 'pk',
        type: 'peak',
        method: 'percentile',
        percentile: c.percentile,
        direction: c.direction,
        scope: c.scope,
        unit: c.unit,
        rate_decimals: c.rate_decimals,
        rate_rounding: c.rate_rounding,
        pricing: { model: 'per_unit', price: '1' },
      },
    ],
  });
  const period = billingPeriod('2026-03', 'Europe/Berlin');
  return rateAccount({
    account: { id: 'a', currency: 'EUR', timeZone: 'Europe/Berlin' },
    period,
    plans: { 'p@1': { id: 'p', version: 1, plan } },
    devices: c.devices.map((rows, i) => ({
      deviceId: `d${i}`,
      segments: [{ fromMs: period.startMs, toMs: period.endMs, planId: 'p', planVersion: 1 }],
      samples: rows.map((r) => ({
        bucketMs: period.startMs + r.slot * SAMPLE_MS,
        dims: {},
        up: r.up,
        down: r.down,
        records: 1,
        meters: {},
      })),
    })),
  });
}

/** Reference figure for one series (bucket → [in, out] summed in BigInt). */
function refFigure(c: PeakCase, rows: Array<{ slot: number; up: number; down: number }>) {
  const byBucket = new Map<number, [bigint, bigint]>();
  for (const r of rows) {
    const cur = byBucket.get(r.slot) ?? [0n, 0n];
    byBucket.set(r.slot, [cur[0] + BigInt(r.down), cur[1] + BigInt(r.up)]);
  }
  const series = [...byBucket.values()];
  const n = series.length;
  const k = refRank(c.percentile, n);
  const pick = (f: (x: [bigint, bigint]) => bigint) => kthSmallest(series.map(f), k);
  let bytes: bigint;
  let selected: 'in' | 'out' | undefined;
  if (c.direction === 'max') {
    const i = pick((x) => x[0]);
    const o = pick((x) => x[1]);
    selected = o > i ? 'out' : 'in';
    bytes = o > i ? o : i;
  } else if (c.direction === 'sum') bytes = pick((x) => x[0] + x[1]);
  else bytes = pick((x) => (c.direction === 'in' ? x[0] : x[1]));
  // rate = bytes × 8 / 300 bits per second.
  return {
    n,
    k,
    selected,
    rate_bps_3: roundRational(bytes * 8n, 300n, 3, 'half_even'),
    rated: roundRational(
      bytes * 8n,
      300n * RATE_UNIT_BPS[c.unit]!,
      c.rate_decimals,
      c.rate_rounding,
    ),
  };
}

describe('percentile (nearest rank) against a plain reference', () => {
  it('rank, observed samples, selected direction and rate match sort-and-pick', () => {
    fc.assert(
      fc.property(peakCaseArb, (c) => {
        const inv = ratePeak(c);
        const series = c.scope === 'account' ? [c.devices.flat()] : c.devices;
        const peakLines = inv.lines.filter((l) => l.kind === 'peak');
        expect(peakLines).toHaveLength(series.length);
        series.forEach((rows, i) => {
          const ref = refFigure(c, rows);
          const fig = peakLines[i]?.peak;
          expect(fig?.samples_observed).toBe(ref.n);
          expect(fig?.rank).toBe(ref.k);
          expect(fig?.rate_bps).toBe(ref.rate_bps_3);
          if (c.direction === 'max') expect(fig?.selected).toBe(ref.selected);
        });
      }),
      { seed: SEED + 6, numRuns: 300 },
    );
  });

  // The plan's rate_decimals/rate_rounding apply to the exact rate bytes × 8 / 300 (money.ts:
  // "carried at 60 digits and then rounded by the plan's stated rule"; PeakFigure.rate_bps is
  // "exact before the plan's rounding").
  it('the rated quantity is the exact rate rounded once, by the plan rule, in the plan unit', () => {
    fc.assert(
      fc.property(peakCaseArb, (c) => {
        const inv = ratePeak(c);
        const series = c.scope === 'account' ? [c.devices.flat()] : c.devices;
        const peakLines = inv.lines.filter((l) => l.kind === 'peak');
        series.forEach((rows, i) => {
          expect(peakLines[i]?.rated_quantity).toBe(refFigure(c, rows).rated);
        });
      }),
      { seed: SEED + 7, numRuns: 300 },
    );
  });

  it('the reference itself: hand-checked nearest ranks', () => {
    expect([
      refRank(95, 8928),
      refRank(95, 20),
      refRank(95, 21),
      refRank(100, 7),
      refRank(1, 1),
    ]).toEqual([8482, 19, 20, 7, 1]);
    expect(roundRational(100n * 8n, 300n, 3, 'half_even')).toBe('2.667');
    expect(roundRational(100n * 8n, 300n, 3, 'down')).toBe('2.666');
    expect(roundRational(75n * 8n, 300n, 3, 'half_even')).toBe('2');
  });
});

// ---------------------------------------------------------------------------------------------

describe('allocate (largest remainder)', () => {
  it('parts are whole minor units, add up to the total exactly, and stay within one unit of the exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.integer({ min: 0, max: 4 }),
        fc.oneof(
          fc.array(fc.integer({ min: 0, max: 5_000_000_000 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.constant(0), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        ),
        (units, decimals, weights) => {
          const total = new Dec(units).dividedBy(new Dec(10).pow(decimals));
          const parts = allocate(
            total,
            weights.map((w) => new Dec(w)),
            decimals,
          );
          expect(parts).toHaveLength(weights.length);
          // Whole minor units: as integers of the minor unit (BigInt), summing to the total.
          const minor = parts.map((p) => {
            const m = p.times(new Dec(10).pow(decimals));
            expect(m.isInteger(), p.toFixed()).toBe(true);
            return BigInt(m.toFixed());
          });
          expect(minor.reduce((a, b) => a + b, 0n)).toBe(BigInt(units));
          // Within one minor unit of the exact proportional share (even split when no weight).
          const wsum = weights.reduce((a, b) => a + BigInt(b), 0n);
          const ws = wsum === 0n ? weights.map(() => 1n) : weights.map((w) => BigInt(w));
          const wtot = wsum === 0n ? BigInt(weights.length) : wsum;
          minor.forEach((m, i) => {
            // |m - units × w / wtot| < 1  ⇔  |m × wtot - units × w| < wtot
            const diff = m * wtot - BigInt(units) * (ws[i] ?? 0n);
            expect(diff < wtot && -diff < wtot, `part ${i}`).toBe(true);
            // Same sign as the total (no part of a charge becomes a credit).
            if (units >= 0) expect(m >= 0n).toBe(true);
            else expect(m <= 0n).toBe(true);
          });
        },
      ),
      { seed: SEED + 8, numRuns: 500 },
    );
  });

  it('ties go to the earlier entry; no weight splits evenly', () => {
    const s = (xs: Dec[]) => xs.map((x) => x.toFixed(2));
    expect(s(allocate(new Dec('0.05'), [new Dec(1), new Dec(1), new Dec(1)], 2))).toEqual([
      '0.02',
      '0.02',
      '0.01',
    ]);
    expect(s(allocate(new Dec('1.00'), [new Dec(0), new Dec(0)], 2))).toEqual(['0.50', '0.50']);
    expect(allocate(new Dec('1'), [], 2)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('reproducibility', () => {
  it('same input ⇒ byte-identical JSON, also with devices, rows and records in another order', () => {
    fc.assert(
      fc.property(anyScenarioArb, fc.integer(), (s, seed) => {
        const input = buildInput(s);
        const first = json(rateAccount(input));
        expect(json(rateAccount(buildInput(s)))).toBe(first);
        const rand = prng(seed);
        const shuffledInput: RatingInput = {
          ...input,
          devices: shuffled(input.devices, rand).map((d) => ({
            ...d,
            samples: shuffled(d.samples, rand),
            records: shuffled(d.records ?? [], rand),
          })),
        };
        expect(json(rateAccount(shuffledInput))).toBe(first);
        // Rating does not modify its input.
        expect(json(rateAccount(input))).toBe(first);
      }),
      { seed: SEED + 9, numRuns: 150 },
    );
  });
});
