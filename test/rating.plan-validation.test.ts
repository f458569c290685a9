// Plan documents (rater/rating/plan.ts): YAML and JSON parse to the same plan, and an invalid
// document is refused with EVERY problem listed, each with its path ("edgemeter plans validate
// … offline: lists every problem"; validatePlan: "throws PlanValidationError listing every
// problem").
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  parsePlan,
  validatePlan,
  PlanValidationError,
  type PlanProblem,
} from '../rater/rating/index.ts';

const YAML_PLAN = `
plan: iot-basic
name: IoT Basic
currency: EUR
effective_from: 2026-01-01
units: binary
windows:
  peak:
    - { days: [mon, tue, wed, thu, fri], from: '08:00', to: '20:00' }
charges:
  - id: data
    type: usage
    description: Data, EU
    meter: total
    unit: MB
    scope: account
    filter:
      dims: { zone: [eu, uk] }
      exclude_dims: { rg: zero-rated }
      window: peak
    included: { quantity: 100 MB, pooled: true }
    rounding:
      per_record: { increment: 1 KB }
      per_period: { increment: 1, mode: half_even }
    pricing:
      model: graduated
      tiers:
        - { up_to: 1000, price: '0.0100', flat: '1.00' }
        - { up_to: 2 GB, price: 0.008 }
        - { price: '0.0050' }
  - id: sms
    type: usage
    meter: meters.sms
    included: { quantity: 10, prorate: false }
    pricing: { model: package, size: 100, price: 2 }
  - id: burst
    type: peak
    method: percentile
    percentile: 95
    direction: max
    unit: Mbps
    committed: 1 Mbps
    pricing: { model: volume, tiers: [ { up_to: 10, price: '4.00' }, { price: '3.00' } ] }
  - id: sim
    type: fixed
    per: device
    amount: '0.90'
minimum: [ { per: device, amount: '5.00' } ]
cap: [ { per: account, amount: 500 } ]
`;

const JSON_PLAN = {
  plan: 'iot-basic',
  name: 'IoT Basic',
  currency: 'EUR',
  effective_from: '2026-01-01',
  units: 'binary',
  windows: { peak: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }] },
  charges: [
    {
      id: 'data',
      type: 'usage',
      description: 'Data, EU',
      meter: 'total',
      unit: 'MB',
      scope: 'account',
      filter: {
        dims: { zone: ['eu', 'uk'] },
        exclude_dims: { rg: 'zero-rated' },
        window: 'peak',
      },
      included: { quantity: '100 MB', pooled: true },
      rounding: {
        per_record: { increment: '1 KB' },
        per_period: { increment: 1, mode: 'half_even' },
      },
      pricing: {
        model: 'graduated',
        tiers: [
          { up_to: 1000, price: '0.0100', flat: '1.00' },
          { up_to: '2 GB', price: 0.008 },
          { price: '0.0050' },
        ],
      },
    },
    {
      id: 'sms',
      type: 'usage',
      meter: 'meters.sms',
      included: { quantity: 10, prorate: false },
      pricing: { model: 'package', size: 100, price: 2 },
    },
    {
      id: 'burst',
      type: 'peak',
      method: 'percentile',
      percentile: 95,
      direction: 'max',
      unit: 'Mbps',
      committed: '1 Mbps',
      pricing: {
        model: 'volume',
        tiers: [{ up_to: 10, price: '4.00' }, { price: '3.00' }],
      },
    },
    { id: 'sim', type: 'fixed', per: 'device', amount: '0.90' },
  ],
  minimum: [{ per: 'device', amount: '5.00' }],
  cap: [{ per: 'account', amount: 500 }],
};

function problemsOf(f: () => unknown): PlanProblem[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PlanValidationError);
    return (e as PlanValidationError).problems;
  }
  throw new Error('expected the plan to be refused');
}

/** Every expected [path, message fragment] must be among the problems. */
function expectProblems(problems: PlanProblem[], expected: Array<[string, RegExp]>) {
  const missing = expected.filter(
    ([path, re]) => !problems.some((p) => p.path === path && re.test(p.message)),
  );
  expect(
    missing.map(([path, re]) => `${path}: ${re.source}`),
    `reported: ${JSON.stringify(problems, null, 1)}`,
  ).toEqual([]);
}

describe('valid plans', () => {
  it('a YAML plan and the same as JSON parse to the same plan', () => {
    const fromYaml = parsePlan(YAML_PLAN);
    const fromJsonText = parsePlan(JSON.stringify(JSON_PLAN, null, 2));
    const fromObject = validatePlan(JSON_PLAN);
    expect(fromYaml).toEqual(fromJsonText);
    expect(fromYaml).toEqual(fromObject);
  });

  it('defaults are filled in and values are kept as written', () => {
    const p = parsePlan(YAML_PLAN);
    expect(p.amount_rounding).toBe('half_up');
    expect(p.units).toBe('binary');
    const [data, sms, burst, sim] = p.charges;
    expect(data).toMatchObject({
      scope: 'account',
      included: { quantity: { value: '100', unit: 'MB' }, pooled: true, prorate: true },
      rounding: {
        per_record: { increment: { value: '1', unit: 'KB' }, mode: 'up' },
        per_period: { increment: { value: '1' }, mode: 'half_even' },
      },
      pricing: {
        tiers: [
          { up_to: { value: '1000' }, price: '0.0100', flat: '1.00' },
          { up_to: { value: '2', unit: 'GB' }, price: '0.008' },
          { price: '0.0050' },
        ],
      },
    });
    expect(sms).toMatchObject({ scope: 'device', pricing: { size: { value: '100' }, price: '2' } });
    expect(burst).toMatchObject({ rate_decimals: 3, rate_rounding: 'half_up', scope: 'device' });
    expect(sim).toMatchObject({ devices: 'active', prorate: true });
    expect(p.cap).toEqual([{ per: 'account', amount: '500' }]);
  });

  it('the example plan in the repository validates', () => {
    const text = readFileSync(
      new URL('../examples/plans/iot-standard.yaml', import.meta.url),
      'utf8',
    );
    expect(parsePlan(text).plan).toBe('iot-standard');
  });

  it('accepts an RFC 3339 effective_from and window ends at 24:00', () => {
    const p = validatePlan({
      ...JSON_PLAN,
      effective_from: '2026-03-15T12:00:00+01:00',
      windows: { night: [{ from: '20:00', to: '24:00' }] },
      charges: [{ id: 'sim', type: 'fixed', per: 'device', amount: '0.90' }],
    });
    expect(p.effective_from).toBe('2026-03-15T12:00:00+01:00');
    expect(p.windows.night?.[0]?.days).toHaveLength(7);
  });
});

// ---------------------------------------------------------------------------------------------

/** Problems found field by field. */
const FIELD_PROBLEMS: Array<[string, RegExp]> = [
  ['currency', /ISO 4217/],
  ['windows.peak.0.from', /5-minute mark/],
  ['charges.0.pricing.tiers.1.up_to', /last tier has no up_to/],
  ['charges.1.pricing.price', /0\.12345678901234566.*plain decimal string/],
  ['charges.2.pricing.price', /non-negative decimal.*"abc"/],
  ['', /Unrecognized key.*bogus/],
  ['charges.3', /Unrecognized key.*colour/],
];

/** Problems found across fields (the whole document's checks). */
const DOCUMENT_PROBLEMS: Array<[string, RegExp]> = [
  ['charges.4.id', /duplicate charge id data/],
  ['charges.4.filter.window', /unknown window offpeak/],
  ['charges.5.pricing.tiers.1.up_to', /tier bounds must increase/],
  ['charges.6.included.pooled', /scope: account/],
  ['charges.7.unit', /meters\.sms is a count/],
];

const fieldCharges = [
  // 0: the last tier has an up_to
  {
    id: 'data',
    type: 'usage',
    meter: 'total',
    unit: 'GB',
    pricing: {
      model: 'graduated',
      tiers: [
        { up_to: 1, price: '1' },
        { up_to: 2, price: '1' },
      ],
    },
  },
  // 1: a float price with more digits than a binary number holds
  {
    id: 'float',
    type: 'usage',
    meter: 'total',
    // As a JSON/YAML parser hands it over: the binary float nearest 0.12345678901234567.
    pricing: { model: 'per_unit', price: Number('0.12345678901234567') },
  },
  // 2: not a number
  { id: 'abc', type: 'usage', meter: 'total', pricing: { model: 'per_unit', price: 'abc' } },
  // 3: unknown field
  { id: 'fee', type: 'fixed', per: 'device', amount: '1', colour: 'red' },
];

const documentCharges = [
  // 4: duplicate id, unknown window
  {
    id: 'data',
    type: 'usage',
    meter: 'total',
    filter: { window: 'offpeak' },
    pricing: { model: 'per_unit', price: '1' },
  },
  // 5: tier bounds not increasing (2 GB, then 1500 MB)
  {
    id: 'tiers2',
    type: 'usage',
    meter: 'total',
    unit: 'MB',
    pricing: {
      model: 'graduated',
      tiers: [{ up_to: '2 GB', price: '1' }, { up_to: 1500, price: '1' }, { price: '1' }],
    },
  },
  // 6: pooled allowance without scope: account
  {
    id: 'pool',
    type: 'usage',
    meter: 'total',
    included: { quantity: '1 GB', pooled: true },
    pricing: { model: 'per_unit', price: '1' },
  },
  // 7: a byte unit on a count meter
  {
    id: 'sms',
    type: 'usage',
    meter: 'meters.sms',
    unit: 'KB',
    pricing: { model: 'per_unit', price: '0.05' },
  },
];

const base = {
  plan: 'bad',
  currency: 'EUR',
  effective_from: '2026-01-01',
  windows: { peak: [{ from: '08:00', to: '20:00' }] },
};

describe('invalid plans: every problem with its path', () => {
  it('field problems are all listed at once', () => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        currency: 'EURO',
        bogus: true,
        windows: { peak: [{ from: '08:03', to: '20:00' }] },
        charges: fieldCharges,
      }),
    );
    expectProblems(problems, FIELD_PROBLEMS.slice());
  });

  it('document problems are all listed at once', () => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        charges: [
          { id: 'data', type: 'usage', meter: 'total', pricing: { model: 'per_unit', price: '1' } },
          { id: 'x1', type: 'fixed', per: 'device', amount: '1' },
          { id: 'x2', type: 'fixed', per: 'device', amount: '1' },
          { id: 'x3', type: 'fixed', per: 'device', amount: '1' },
          ...documentCharges,
        ],
      }),
    );
    expectProblems(problems, DOCUMENT_PROBLEMS);
  });

  // The brief case: one document with all of the problems above. A user fixing the field
  // problems must not discover a second batch of problems on the next run.
  it('a document with field AND document problems lists every one of them', () => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        currency: 'EURO',
        bogus: true,
        windows: { peak: [{ from: '08:03', to: '20:00' }] },
        charges: [...fieldCharges, ...documentCharges],
      }),
    );
    expectProblems(problems, [...FIELD_PROBLEMS, ...DOCUMENT_PROBLEMS]);
  });

  it('a window with a bad definition is not also reported as unknown', () => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        windows: { peak: [{ from: '08:03', to: '20:00' }] },
        charges: [{ ...documentCharges[0], filter: { window: 'peak' } }],
      }),
    );
    expect(problems).toEqual([
      { path: 'windows.peak.0.from', message: expect.stringMatching(/5-minute mark/) },
    ]);
  });

  it('window names are looked up as own keys (no "constructor" or "toString" for free)', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty'])
      expectProblems(
        problemsOf(() =>
          validatePlan({ ...base, charges: [{ ...documentCharges[0], filter: { window: name } }] }),
        ),
        [['charges.0.filter.window', new RegExp(`unknown window ${name}`)]],
      );
  });

  it('the error message names every problem and its path', () => {
    const err = (() => {
      try {
        validatePlan({ ...base, currency: 'EURO', charges: fieldCharges });
      } catch (e) {
        return e as PlanValidationError;
      }
      throw new Error('expected a PlanValidationError');
    })();
    expect(err.name).toBe('PlanValidationError');
    expect(err.message).toContain('currency:');
    expect(err.message).toContain('charges.2.pricing.price:');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'a window that ends before it starts',
      { windows: { w: [{ from: '20:00', to: '08:00' }] } },
      'windows.w.0',
      /end after it starts/,
    ],
    [
      'a window at 24:05',
      { windows: { w: [{ from: '08:00', to: '24:05' }] } },
      'windows.w.0.to',
      /5-minute mark/,
    ],
    [
      'a bad weekday',
      { windows: { w: [{ days: ['monday'], from: '08:00', to: '20:00' }] } },
      'windows.w.0.days.0',
      /./,
    ],
    ['a bad effective_from', { effective_from: '2026-02-30' }, 'effective_from', /date/],
    ['no charges', { charges: [] }, 'charges', /./],
    ['a bad plan id', { plan: 'has space' }, 'plan', /plan ids/],
  ])('%s', (_, over, path, re) => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        charges: [{ id: 'fee', type: 'fixed', per: 'device', amount: '1' }],
        ...over,
      }),
    );
    expectProblems(problems, [[path, re]]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'a rate unit on a byte quantity',
      { meter: 'total', included: { quantity: '1 Mbps' } },
      'charges.0.included.quantity',
      /not a byte unit/,
    ],
    [
      'a byte quantity on a count meter',
      { meter: 'meters.sms', included: { quantity: '5 MB' } },
      'charges.0.included.quantity',
      /write a plain number/,
    ],
    [
      'a zero package size',
      { meter: 'total', pricing: { model: 'package', size: 0, price: '1' } },
      'charges.0.pricing.size',
      /above 0/,
    ],
    [
      'a zero rounding increment',
      { meter: 'total', rounding: { per_period: { increment: '0' } } },
      'charges.0.rounding.per_period.increment',
      /above 0/,
    ],
    [
      'a negative price',
      { meter: 'total', pricing: { model: 'per_unit', price: '-1' } },
      'charges.0.pricing.price',
      /non-negative/,
    ],
    [
      'a price in exponent form',
      { meter: 'total', pricing: { model: 'per_unit', price: 1e-7 } },
      'charges.0.pricing.price',
      /plain decimal string/,
    ],
    ['an unknown meter', { meter: 'bytes' }, 'charges.0.meter', /up, down, total or meters\.NAME/],
    [
      'a quantity with an unknown unit',
      { meter: 'total', included: { quantity: '1 GiB' } },
      'charges.0.included.quantity',
      /unit/,
    ],
  ])('%s', (_, over, path, re) => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        charges: [
          {
            id: 'c',
            type: 'usage',
            meter: 'total',
            pricing: { model: 'per_unit', price: '1' },
            ...over,
          },
        ],
      }),
    );
    expectProblems(problems, [[path, re]]);
  });

  // checkTierOrder compares mixed-unit bounds with decimal units ("a binary plan keeps the same
  // order because every unit grows by the same factor"), but 1 GB is 1000 MB in a decimal plan
  // and 1024 MB in a binary one, so the order of "1000" (MB) and "1 GB" differs between them.
  it('tier order in a binary plan is checked with binary units', () => {
    const tiers = (a: string | number, b: string | number) => ({
      ...base,
      units: 'binary',
      charges: [
        {
          id: 'data',
          type: 'usage',
          meter: 'total',
          unit: 'MB',
          pricing: {
            model: 'graduated',
            tiers: [{ up_to: a, price: '1' }, { up_to: b, price: '1' }, { price: '1' }],
          },
        },
      ],
    });
    // 1000 MB < 1 GB = 1024 MB: valid.
    expect.soft(() => validatePlan(tiers(1000, '1 GB'))).not.toThrow();
    // 1 GB = 1024 MB > 1001 MB: the bounds fall, the plan must be refused.
    expectProblems(
      problemsOf(() => validatePlan(tiers('1 GB', 1001))),
      [['charges.0.pricing.tiers.1.up_to', /tier bounds must increase/]],
    );
  });

  it('a byte unit on a peak committed rate is refused', () => {
    const problems = problemsOf(() =>
      validatePlan({
        ...base,
        charges: [
          {
            id: 'pk',
            type: 'peak',
            method: 'max',
            committed: '1 GB',
            pricing: { model: 'per_unit', price: '1' },
          },
        ],
      }),
    );
    expectProblems(problems, [['charges.0.committed', /not a rate unit/]]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('text that is not a plan', () => {
  it('text that is not YAML gives one clear problem', () => {
    const problems = problemsOf(() => parsePlan('plan: [unclosed\ncharges: {'));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('');
    expect(problems[0]?.message).toMatch(/^not YAML or JSON: /);
  });

  it('broken JSON gives one clear problem', () => {
    const problems = problemsOf(() => parsePlan('{"plan": "p", "currency": "EUR",'));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^not YAML or JSON: /);
  });

  it('a price written in YAML as a float with too many digits is refused', () => {
    const text = YAML_PLAN.replace("price: '0.0050'", 'price: 0.12345678901234567');
    expect(text).not.toBe(YAML_PLAN);
    expectProblems(
      problemsOf(() => parsePlan(text)),
      [['charges.0.pricing.tiers.2.price', /plain decimal string/]],
    );
    // 15 significant digits survive the trip through a binary float and are accepted.
    const ok = parsePlan(YAML_PLAN.replace("price: '0.0050'", 'price: 0.123456789012345'));
    const tiers = ok.charges[0]?.type === 'usage' ? ok.charges[0].pricing : undefined;
    expect(tiers?.model === 'graduated' ? tiers.tiers[2]?.price : undefined).toBe(
      '0.123456789012345',
    );
  });

  it('a key given twice is refused, not silently overwritten', () => {
    const problems = problemsOf(() => parsePlan(`${YAML_PLAN}\ncurrency: USD\n`));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/not YAML or JSON: .*unique/);
  });

  it('an empty document or a bare scalar is refused at the document path', () => {
    for (const text of ['', 'just some words', '42', '- a\n- b']) {
      const problems = problemsOf(() => parsePlan(text));
      expect(problems, text).toHaveLength(1);
      expect(problems[0]?.path, text).toBe('');
      expect(problems[0]?.message, text).toMatch(/expected object/);
    }
  });
});
