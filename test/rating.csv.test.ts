// CSV exports of invoices and device charges (rater/rating/csv.ts) and the per-device view
// (deviceCharges): RFC 4180 quoting, one row per line item, a total row per invoice, and device
// totals (own lines + shares of account-level lines) that add up to the invoice total.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import {
  billingPeriod,
  deviceCharges,
  deviceChargesCsv,
  invoiceCsv,
  invoicesCsv,
  rateAccount,
  validatePlan,
  type DeviceInput,
  type Invoice,
  type PlanVersion,
  type RatingInput,
  type Sample,
} from '../rater/rating/index.ts';

const HEADER = [
  'account',
  'period',
  'currency',
  'line',
  'kind',
  'device',
  'charge',
  'description',
  'plan',
  'plan_version',
  'from',
  'to',
  'meter',
  'tier',
  'raw_quantity',
  'included',
  'rated_quantity',
  'unit',
  'unit_price',
  'amount',
  'peak_samples_observed',
  'peak_samples_expected',
];
const DEVICE_HEADER = [
  'device',
  'account',
  'period',
  'currency',
  'kind',
  'line',
  'charge',
  'description',
  'rated_quantity',
  'unit',
  'unit_price',
  'amount',
];

/** A strict RFC 4180 reader ("\n" line ends, as the exporter writes): rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        if (i < text.length && text[i] !== ',' && text[i] !== '\n')
          throw new Error(`text after a closing quote at ${i}`);
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c === '\r') throw new Error('CR in the output');
    else field += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quote');
  if (field !== '' || row.length > 0) throw new Error('the last row has no line end');
  return rows;
}

const asRecords = (rows: string[][]) => {
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries((head ?? []).map((h, i) => [h, r[i] ?? ''])));
};

const sumOf = (xs: string[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0));

// ---------------------------------------------------------------------------------------------

const TZ = 'UTC';
const period = billingPeriod('2026-03', TZ);
const MB = 1_000_000;

const PLAN: PlanVersion = {
  id: 'iot',
  version: 1,
  plan: validatePlan({
    plan: 'iot',
    currency: 'EUR',
    effective_from: '2026-01-01',
    charges: [
      {
        id: 'data',
        type: 'usage',
        description: 'Data, "EU" zone',
        meter: 'total',
        unit: 'MB',
        pricing: { model: 'per_unit', price: '0.01' },
      },
      {
        id: 'sms',
        type: 'usage',
        description: 'SMS\nsent',
        meter: 'meters.sms',
        pricing: { model: 'per_unit', price: '0.05' },
      },
      {
        id: 'pool',
        type: 'usage',
        description: 'Pooled data',
        meter: 'total',
        unit: 'MB',
        scope: 'account',
        pricing: { model: 'per_unit', price: '0.001' },
      },
      { id: 'sim', type: 'fixed', per: 'device', devices: 'assigned', amount: '0.90' },
      { id: 'platform', type: 'fixed', per: 'account', amount: '25.00' },
    ],
  }),
};

const sample = (day: number, bytes: number, sms = 0): Sample => ({
  bucketMs: period.startMs + (day - 1) * 86_400_000,
  dims: {},
  up: bytes,
  down: 0,
  records: 1,
  meters: sms > 0 ? { sms: String(sms) } : {},
});

const whole = [{ fromMs: period.startMs, toMs: period.endMs, planId: 'iot', planVersion: 1 }];

function rate(devices: DeviceInput[], over: Partial<RatingInput> = {}): Invoice {
  return rateAccount({
    account: { id: 'acme', currency: 'EUR', timeZone: TZ },
    period,
    plans: { 'iot@1': PLAN },
    devices,
    ...over,
  });
}

const DEVICES: DeviceInput[] = [
  { deviceId: 'd1', segments: whole, samples: [sample(2, 1500 * MB, 3), sample(9, 0, 4)] },
  { deviceId: 'd2', segments: whole, samples: [sample(3, 500 * MB)] },
  // Assigned, silent: gets the per-device fee (devices: assigned) but no share by bytes.
  { deviceId: 'd3', segments: whole, samples: [] },
];
const invoice = rate(DEVICES);

describe('invoiceCsv', () => {
  const text = invoiceCsv(invoice);
  const rows = parseCsv(text);

  it('the engine produced the invoice this test is about', () => {
    expect(invoice.lines.map((l) => [l.charge, l.device ?? '-', l.amount])).toEqual([
      ['data', 'd1', '15.00'],
      ['data', 'd2', '5.00'],
      ['sms', 'd1', '0.35'],
      ['pool', '-', '2.00'],
      ['sim', 'd1', '0.90'],
      ['sim', 'd2', '0.90'],
      ['sim', 'd3', '0.90'],
      ['platform', '-', '25.00'],
    ]);
    expect(invoice.total).toBe('50.05');
  });

  it('has the header, one row per line and a total row, each with every column', () => {
    expect(rows[0]).toEqual(HEADER);
    expect(rows).toHaveLength(1 + invoice.lines.length + 1);
    for (const r of rows) expect(r).toHaveLength(HEADER.length);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('\r');
  });

  it('each line row carries the line item, with the account and period on every row', () => {
    const recs = asRecords(rows);
    invoice.lines.forEach((l, i) => {
      expect(recs[i]).toEqual({
        account: 'acme',
        period: '2026-03',
        currency: 'EUR',
        line: String(l.line),
        kind: l.kind,
        device: l.device ?? '',
        charge: l.charge,
        description: l.description,
        plan: 'iot',
        plan_version: '1',
        from: l.from,
        to: l.to,
        meter: l.meter ?? '',
        tier: l.tier ?? '',
        raw_quantity: l.raw_quantity,
        included: l.included ?? '',
        rated_quantity: l.rated_quantity,
        unit: l.unit,
        unit_price: l.unit_price,
        amount: l.amount,
        peak_samples_observed: '',
        peak_samples_expected: '',
      });
    });
  });

  it('quotes fields holding commas, quotes or line breaks, and only those', () => {
    expect(text).toContain(',"Data, ""EU"" zone",');
    expect(text).toContain(',"SMS\nsent",');
    // The prorated fee's default description holds a comma.
    expect(text).toContain(',"Fee per device (sim), 31 of 31 days",');
    expect(text).toContain(',Pooled data,');
    const recs = asRecords(rows);
    expect(recs.map((r) => r.description)).toContain('Data, "EU" zone');
    expect(recs.map((r) => r.description)).toContain('SMS\nsent');
  });

  it('the total row equals invoice.total and the sum of the line rows', () => {
    const recs = asRecords(rows);
    const total = recs[recs.length - 1];
    expect(total).toMatchObject({
      account: 'acme',
      period: '2026-03',
      currency: 'EUR',
      kind: 'total',
      description: 'Total',
      amount: invoice.total,
      line: '',
      device: '',
    });
    expect(sumOf(recs.slice(0, -1).map((r) => r.amount ?? '0')).toFixed(2)).toBe(invoice.total);
  });

  it('an open invoice says so on its total row', () => {
    const asOf = period.startMs + 10 * 86_400_000;
    const open = rate(
      DEVICES.map((d) => ({
        ...d,
        segments: [{ ...whole[0]!, toMs: asOf }],
        samples: d.samples.filter((s) => s.bucketMs < asOf),
      })),
      { asOfMs: asOf },
    );
    const recs = asRecords(parseCsv(invoiceCsv(open)));
    expect(recs[recs.length - 1]).toMatchObject({
      kind: 'total',
      description: 'Total so far (as of 2026-03-11T00:00:00.000Z)',
      amount: open.total,
    });
  });

  it('peak lines carry their coverage', () => {
    const plan = validatePlan({
      plan: 'pk',
      currency: 'EUR',
      effective_from: '2026-01-01',
      charges: [
        {
          id: 'p95',
          type: 'peak',
          method: 'percentile',
          pricing: { model: 'per_unit', price: '1' },
        },
      ],
    });
    const inv = rateAccount({
      account: { id: 'acme', currency: 'EUR', timeZone: TZ },
      period,
      plans: { 'pk@1': { id: 'pk', version: 1, plan } },
      devices: [
        {
          deviceId: 'd1',
          segments: [{ ...whole[0]!, planId: 'pk' }],
          samples: [sample(1, 1000), sample(2, 2000)],
        },
      ],
    });
    const recs = asRecords(parseCsv(invoiceCsv(inv)));
    expect(recs[0]).toMatchObject({
      kind: 'peak',
      peak_samples_observed: '2',
      peak_samples_expected: '8928',
    });
  });
});

describe('invoicesCsv', () => {
  it('one header, then each invoice with its lines and total row', () => {
    const other = rateAccount({
      account: { id: 'globex', currency: 'EUR', timeZone: TZ },
      period,
      plans: { 'iot@1': PLAN },
      devices: [{ deviceId: 'g1', segments: whole, samples: [sample(5, 100 * MB)] }],
    });
    const rows = parseCsv(invoicesCsv([invoice, other]));
    expect(rows.filter((r) => r[0] === 'account')).toHaveLength(1);
    const recs = asRecords(rows);
    expect(recs).toHaveLength(invoice.lines.length + 1 + other.lines.length + 1);
    const totals = recs.filter((r) => r.kind === 'total');
    expect(totals.map((r) => [r.account, r.amount])).toEqual([
      ['acme', invoice.total],
      ['globex', other.total],
    ]);
    expect(recs.slice(0, invoice.lines.length + 1).every((r) => r.account === 'acme')).toBe(true);
    expect(recs.slice(invoice.lines.length + 1).every((r) => r.account === 'globex')).toBe(true);
    // The single-invoice export is the same as a list of one.
    expect(invoicesCsv([invoice])).toBe(invoiceCsv(invoice));
    expect(parseCsv(invoicesCsv([]))).toEqual([HEADER]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deviceCharges', () => {
  it('own lines plus shares of the account-level lines, split by bytes (largest remainder)', () => {
    const d1 = deviceCharges(invoice, 'd1');
    expect(d1).toMatchObject({
      device: 'd1',
      account: 'acme',
      period: '2026-03',
      currency: 'EUR',
      status: 'closed',
    });
    expect(d1.lines.map((l) => l.charge)).toEqual(['data', 'sms', 'sim']);
    // pool 2.00 and platform 25.00 split 1500 MB : 500 MB : 0.
    expect(d1.shares).toEqual([
      { line: 4, charge: 'pool', amount: '1.50' },
      { line: 8, charge: 'platform', amount: '18.75' },
    ]);
    expect(d1.total).toBe('36.50'); // 15.00 + 0.35 + 0.90 + 1.50 + 18.75
    expect(deviceCharges(invoice, 'd2').total).toBe('12.65'); // 5.00 + 0.90 + 0.50 + 6.25
    expect(deviceCharges(invoice, 'd3').total).toBe('0.90');
    expect(deviceCharges(invoice, 'd3').shares.map((s) => s.amount)).toEqual(['0.00', '0.00']);
  });

  it('total = own lines + shares, equals the invoice device summary, and devices add up to the invoice', () => {
    let all = new Decimal(0);
    for (const dev of invoice.devices) {
      const dc = deviceCharges(invoice, dev.device);
      const own = sumOf(dc.lines.map((l) => l.amount));
      const shares = sumOf(dc.shares.map((s) => s.amount));
      expect(dc.total).toBe(own.plus(shares).toFixed(2));
      expect(dc.total).toBe(dev.amount);
      all = all.plus(dc.total);
    }
    expect(all.toFixed(2)).toBe(invoice.total);
    // Every account-level line is allocated in full.
    for (const l of invoice.lines.filter((x) => x.device === undefined)) {
      const parts = invoice.allocations.filter((a) => a.line === l.line).map((a) => a.amount);
      expect(sumOf(parts).toFixed(2), `line ${l.line}`).toBe(l.amount);
    }
  });

  it('a device that is not on the invoice has nothing', () => {
    expect(deviceCharges(invoice, 'nobody')).toMatchObject({
      lines: [],
      shares: [],
      total: '0.00',
    });
  });

  it('an account-level line with no device to carry it is the only gap between devices and total', () => {
    // The account's own timeline names a plan version that no device is under (a second plan,
    // from 20 March): its platform fee has no device to be allocated to.
    const later: PlanVersion = { ...PLAN, id: 'later' };
    const change = period.startMs + 19 * 86_400_000;
    const inv = rate(DEVICES, {
      plans: { 'iot@1': PLAN, 'later@1': later },
      accountSegments: [
        { fromMs: period.startMs, toMs: change, planId: 'iot', planVersion: 1 },
        { fromMs: change, toMs: period.endMs, planId: 'later', planVersion: 1 },
      ],
    });
    const unallocated = inv.lines.filter(
      (l) => l.device === undefined && !inv.allocations.some((a) => a.line === l.line),
    );
    expect(unallocated.map((l) => [l.plan, l.charge])).toEqual([
      ['later', 'pool'],
      ['later', 'platform'],
    ]);
    const devices = sumOf(inv.devices.map((d) => deviceCharges(inv, d.device).total));
    expect(devices.plus(sumOf(unallocated.map((l) => l.amount))).toFixed(2)).toBe(inv.total);
  });
});

describe('deviceChargesCsv', () => {
  it('own lines, share rows and a total row per account', () => {
    const rows = parseCsv(deviceChargesCsv([deviceCharges(invoice, 'd1')]));
    expect(rows[0]).toEqual(DEVICE_HEADER);
    for (const r of rows) expect(r).toHaveLength(DEVICE_HEADER.length);
    const recs = asRecords(rows);
    expect(recs.map((r) => [r.kind, r.line, r.charge, r.amount])).toEqual([
      ['usage', '1', 'data', '15.00'],
      ['usage', '3', 'sms', '0.35'],
      ['fixed', '5', 'sim', '0.90'],
      ['share', '4', 'pool', '1.50'],
      ['share', '8', 'platform', '18.75'],
      ['total', '', '', '36.50'],
    ]);
    expect(recs.every((r) => r.device === 'd1' && r.account === 'acme')).toBe(true);
    expect(recs[0]?.description).toBe('Data, "EU" zone');
    expect(recs[1]?.description).toBe('SMS\nsent');
  });

  it('a device in two accounts: one block and one total per account', () => {
    const other = rateAccount({
      account: { id: 'globex', currency: 'EUR', timeZone: TZ },
      period,
      plans: { 'iot@1': PLAN },
      devices: [{ deviceId: 'd1', segments: whole, samples: [sample(5, 100 * MB)] }],
    });
    const recs = asRecords(
      parseCsv(deviceChargesCsv([deviceCharges(invoice, 'd1'), deviceCharges(other, 'd1')])),
    );
    expect(recs.filter((r) => r.kind === 'total').map((r) => [r.account, r.amount])).toEqual([
      ['acme', '36.50'],
      ['globex', deviceCharges(other, 'd1').total],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('on random usage', () => {
  const deviceArb = fc.record({
    from: fc.integer({ min: 0, max: 30 }),
    samples: fc.array(
      fc.record({
        day: fc.integer({ min: 1, max: 31 }),
        bytes: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 9e9 })),
        sms: fc.integer({ min: 0, max: 9 }),
      }),
      { maxLength: 6 },
    ),
  });

  it('CSV rows match the lines, the total row matches, devices add up to the total', () => {
    fc.assert(
      fc.property(fc.array(deviceArb, { minLength: 1, maxLength: 5 }), (specs) => {
        const devices: DeviceInput[] = specs.map((s, i) => {
          const fromMs = period.startMs + s.from * 86_400_000;
          return {
            deviceId: `dev-${i}`,
            segments: [{ fromMs, toMs: period.endMs, planId: 'iot', planVersion: 1 }],
            samples: s.samples
              .map((x) => sample(x.day, x.bytes, x.sms))
              .filter((x) => x.bucketMs >= fromMs),
          };
        });
        const inv = rate(devices);
        const recs = asRecords(parseCsv(invoiceCsv(inv)));
        expect(recs.map((r) => r.amount)).toEqual([...inv.lines.map((l) => l.amount), inv.total]);
        expect(recs.map((r) => r.description)).toEqual([
          ...inv.lines.map((l) => l.description),
          'Total',
        ]);
        expect(sumOf(inv.lines.map((l) => l.amount)).toFixed(2)).toBe(inv.total);
        const byDevice = inv.devices.map((d) => deviceCharges(inv, d.device).total);
        expect(byDevice).toEqual(inv.devices.map((d) => d.amount));
        expect(sumOf(byDevice).toFixed(2)).toBe(inv.total);
      }),
      { seed: 4180, numRuns: 150 },
    );
  });
});

describe('CSV and spreadsheets', () => {
  it('a description that a spreadsheet would run as a formula is neutralised; numbers are not', async () => {
    const { rateAccount, invoiceCsv, validatePlan, billingPeriod } =
      await import('../rater/rating/index.ts');
    const period = billingPeriod('2026-03', 'UTC');
    const plan = validatePlan({
      plan: 'p',
      currency: 'EUR',
      effective_from: '2026-01-01',
      charges: [
        {
          id: 'data',
          type: 'usage',
          meter: 'total',
          description: '=HYPERLINK("http://example.invalid","x")',
          pricing: { model: 'per_unit', price: '1' },
        },
      ],
      cap: [{ per: 'account', amount: '2.00' }],
    });
    const csv = invoiceCsv(
      rateAccount({
        account: { id: 'a', currency: 'EUR', timeZone: 'UTC' },
        period,
        plans: { 'p@1': { id: 'p', version: 1, plan } },
        devices: [
          {
            deviceId: 'd',
            segments: [{ fromMs: period.startMs, toMs: period.endMs, planId: 'p', planVersion: 1 }],
            samples: [
              { bucketMs: period.startMs, dims: {}, up: 5, down: 0, records: 1, meters: {} },
            ],
          },
        ],
      }),
    );
    expect(csv).toContain(`"'=HYPERLINK(""http://example.invalid"",""x"")"`);
    expect(csv).not.toMatch(/,=HYPERLINK/);
    // The cap credit (5.00 of usage capped at 2.00) keeps its minus sign as a number.
    expect(csv).toMatch(/,-3\.00,/);
  });
});
