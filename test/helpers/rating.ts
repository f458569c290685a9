// Small builders for the rating engine tests (test/rating.*.test.ts): a RatingInput for the
// period 2026-03 with one or more plan versions, devices, 5-minute samples and raw records, so
// that each test states only what its arithmetic needs.
import { Decimal } from 'decimal.js';
import { DateTime } from 'luxon';
import { expect } from 'vitest';
import {
  billingPeriod,
  rateAccount,
  validatePlan,
  type BillingPeriod,
  type Invoice,
  type InvoiceLine,
  type PlanVersion,
  type RatingInput,
  type RawRecord,
  type Sample,
  type Segment,
} from '../../rater/rating/index.ts';

export const PERIOD = '2026-03';
export const UTC = 'UTC';
export const BERLIN = 'Europe/Berlin';

/** Decimal byte units (the default `units: decimal`). */
export const KB = 1_000;
export const MB = 1_000_000;
export const GB = 1_000_000_000;
/** Binary byte units (`units: binary`). */
export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * 1024 * 1024;

/** 1 kbps over one 5-minute sample: bytes × 8 / 300 = 1000 bps ⇔ bytes = 37,500. */
export const KBPS_BYTES = 37_500;

/** Epoch ms of a local wall-clock time "YYYY-MM-DD HH:mm" in `zone`. */
export function at(wall: string, zone = UTC): number {
  const dt = DateTime.fromFormat(wall, 'yyyy-MM-dd HH:mm', { zone });
  if (!dt.isValid) throw new Error(`bad local time ${wall} in ${zone}`);
  return dt.toMillis();
}

/** A validated plan version; `plan`, `currency` and `effective_from` have test defaults. */
export function planVersion(doc: Record<string, unknown>, version = 1): PlanVersion {
  const plan = validatePlan({
    plan: 'p',
    currency: 'EUR',
    effective_from: '2026-01-01',
    ...doc,
  });
  return { id: plan.plan, version, plan };
}

/** A plan version with one charge; `extra` adds plan-level keys (units, windows, minimum, …). */
export function onePlan(
  charge: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): PlanVersion {
  return planVersion({ charges: [charge], ...extra });
}

/** One 5-minute rollup row; one record by default. */
export function sample(bucketMs: number, s: Partial<Omit<Sample, 'bucketMs'>> = {}): Sample {
  if (bucketMs % 300_000 !== 0) throw new Error('a sample starts on a 5-minute boundary');
  return { bucketMs, dims: {}, up: 0, down: 0, records: 1, meters: {}, ...s };
}

/** One raw record ending at `tsMs`. */
export function record(tsMs: number, r: Partial<Omit<RawRecord, 'tsMs'>> = {}): RawRecord {
  return { tsMs, dims: {}, up: 0, down: 0, meters: {}, ...r };
}

export interface DeviceSpec {
  id: string;
  /**
   * Assignments to the account as [fromMs, toMs) with their plan version; default: the whole
   * period under the first plan version given.
   */
  spans?: Array<[from: number, to: number] | [from: number, to: number, plan: PlanVersion]>;
  samples?: Sample[];
  records?: RawRecord[];
}

export interface RateSpec {
  zone?: string;
  /** Default: the first plan's currency. */
  currency?: string;
  plans: PlanVersion | PlanVersion[];
  devices: DeviceSpec[];
  /** The account's own plan timeline as [fromMs, toMs) under the first (or given) plan. */
  accountSpans?: Array<[from: number, to: number] | [from: number, to: number, plan: PlanVersion]>;
}

export function periodOf(zone = UTC): BillingPeriod {
  return billingPeriod(PERIOD, zone);
}

export function buildInput(spec: RateSpec): RatingInput {
  const zone = spec.zone ?? UTC;
  const plans = Array.isArray(spec.plans) ? spec.plans : [spec.plans];
  const first = plans[0];
  if (!first) throw new Error('at least one plan version');
  const period = periodOf(zone);
  const seg = ([from, to, pv]: [number, number] | [number, number, PlanVersion]): Segment => ({
    fromMs: from,
    toMs: to,
    planId: (pv ?? first).id,
    planVersion: (pv ?? first).version,
  });
  return {
    account: { id: 'acct-1', currency: spec.currency ?? first.plan.currency, timeZone: zone },
    period,
    plans: Object.fromEntries(plans.map((p) => [`${p.id}@${p.version}`, p])),
    ...(spec.accountSpans ? { accountSegments: spec.accountSpans.map(seg) } : {}),
    devices: spec.devices.map((d) => ({
      deviceId: d.id,
      segments: (d.spans ?? [[period.startMs, period.endMs]]).map(seg),
      samples: d.samples ?? [],
      ...(d.records ? { records: d.records } : {}),
    })),
  };
}

/** Rates the account and checks the invariant every invoice keeps: total = Σ line amounts. */
export function rate(spec: RateSpec): Invoice {
  const inv = rateAccount(buildInput(spec));
  expectTotalIsSumOfLines(inv);
  return inv;
}

export function expectTotalIsSumOfLines(inv: Invoice): void {
  const decimals = inv.total.includes('.') ? (inv.total.split('.')[1]?.length ?? 0) : 0;
  const sum = inv.lines.reduce((s, l) => s.plus(l.amount), new Decimal(0));
  expect(inv.total).toBe(sum.toFixed(decimals));
}

/** The lines matching every given field. */
export function linesWhere(inv: Invoice, where: Partial<InvoiceLine>): InvoiceLine[] {
  return inv.lines.filter((l) =>
    Object.entries(where).every(([k, v]) => (l as unknown as Record<string, unknown>)[k] === v),
  );
}

/** The one line matching every given field (fails the test otherwise). */
export function lineWhere(inv: Invoice, where: Partial<InvoiceLine>): InvoiceLine {
  const found = linesWhere(inv, where);
  expect(found, `exactly one line with ${JSON.stringify(where)}`).toHaveLength(1);
  return found[0] as InvoiceLine;
}

/** The fields most tests compare, in one object for a readable toMatchObject. */
export function brief(l: InvoiceLine) {
  return {
    kind: l.kind,
    charge: l.charge,
    device: l.device,
    tier: l.tier,
    raw_quantity: l.raw_quantity,
    included: l.included,
    rated_quantity: l.rated_quantity,
    unit: l.unit,
    unit_price: l.unit_price,
    amount: l.amount,
  };
}

/** `n` consecutive 5-minute bucket starts from `fromMs`. */
export function buckets(fromMs: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => fromMs + i * 300_000);
}
