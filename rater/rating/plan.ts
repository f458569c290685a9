// Price plans: the zod schema that is the single source for validating plan documents (YAML or
// JSON), their defaults, and the JSON Schema in the OpenAPI description. Pure: no I/O.
//
// This file holds the charges, the plan and parsing; the field-level schemas they are built
// from are in plan-fields.ts (re-exported here, so callers keep importing from plan.ts), the
// checks across fields in plan-checks.ts, currency codes in currency.ts. Effective dates are a calendar date (midnight in the
// account's time zone) or an RFC 3339 instant; docs/rating.md has worked examples.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isCurrency } from './currency.ts';
import { EFFECTIVE_TIME_RULE, isEffectiveTime } from './period.ts';
import { checkPlan } from './plan-checks.ts';
import {
  BYTE_UNITS,
  RATE_UNITS,
  ROUNDING_MODES,
  amount,
  filter,
  meter,
  pricingSchema,
  quantity,
  rounding,
  window,
} from './plan-fields.ts';
import { billAlertSchema, quotaSchema } from './quota-plan.ts';

export {
  BYTE_UNITS,
  RATE_UNITS,
  ROUNDING_MODES,
  pricingSchema,
  unitFactor,
  type ByteUnit,
  type Pricing,
  type Quantity,
  type RateUnit,
  type Rounding,
  type RoundingMode,
  type Tier,
  type TimeWindow,
  type UsageFilter,
} from './plan-fields.ts';

export const PLAN_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
/** Charge and window names; `__` prefixes are refused (`__proto__` would vanish in a record). */
export const CHARGE_ID_RE = /^(?!__)[A-Za-z0-9._-]{1,64}$/;
const CHARGE_ID_RULE = 'charge ids are 1-64 characters of [A-Za-z0-9._-], not starting with __';

const effectiveFrom = z
  .string()
  .refine(isEffectiveTime, `effective_from must be ${EFFECTIVE_TIME_RULE}`);

const scope = z.enum(['device', 'account']).default('device');

const usageCharge = z
  .object({
    id: z.string().regex(CHARGE_ID_RE, CHARGE_ID_RULE),
    type: z.literal('usage'),
    description: z.string().max(200).optional(),
    /** up, down, total (bytes) or meters.NAME (a meter from the records' `meters`). */
    meter,
    /** Unit of prices and tier bounds: B, KB, MB, GB, TB for bytes; omitted (1) for other meters. */
    unit: z.enum(BYTE_UNITS).optional(),
    filter: filter.optional(),
    /** device: each device rated on its own usage; account: the account's summed usage. */
    scope,
    rounding: z
      .object({
        /** Each record's quantity rounded first (e.g. every session up to 1 KB). */
        per_record: rounding.optional(),
        /** The period's quantity (after the allowance) rounded before pricing. */
        per_period: rounding.optional(),
      })
      .strict()
      .optional(),
    included: z
      .object({
        /** Allowance per device per full period. */
        quantity,
        /** Share one pool across the account's devices (pool = allowance × active devices). */
        pooled: z.boolean().default(false),
        /** Prorate by the days a device was assigned in the period. */
        prorate: z.boolean().default(true),
      })
      .strict()
      .optional(),
    pricing: pricingSchema,
  })
  .strict();
export type UsageCharge = z.output<typeof usageCharge>;

const peakCharge = z
  .object({
    id: z.string().regex(CHARGE_ID_RE, CHARGE_ID_RULE),
    type: z.literal('peak'),
    description: z.string().max(200).optional(),
    /** percentile (burstable, nearest rank), max (high watermark), daily_peak_avg. */
    method: z.enum(['percentile', 'max', 'daily_peak_avg']),
    percentile: z.number().int().min(1).max(100).default(95),
    /** in = down (to the device), out = up (from the device), max of the two figures, sum per sample. */
    direction: z.enum(['in', 'out', 'max', 'sum']).default('max'),
    unit: z.enum(RATE_UNITS).default('Mbps'),
    /** Decimal places the rate is rounded to, in `unit`, before pricing. */
    rate_decimals: z.number().int().min(0).max(12).default(3),
    rate_rounding: z.enum(ROUNDING_MODES).default('half_up'),
    filter: filter.optional(),
    scope,
    /** A committed rate included in the plan; only the excess is priced. */
    committed: quantity.optional(),
    pricing: pricingSchema,
  })
  .strict();
export type PeakCharge = z.output<typeof peakCharge>;

const fixedCharge = z
  .object({
    id: z.string().regex(CHARGE_ID_RE, CHARGE_ID_RULE),
    type: z.literal('fixed'),
    description: z.string().max(200).optional(),
    amount,
    per: z.enum(['device', 'account']),
    /** For per-device fees: active = devices that reported usage in the period; assigned = all. */
    devices: z.enum(['active', 'assigned']).default('active'),
    prorate: z.boolean().default(true),
  })
  .strict();
export type FixedCharge = z.output<typeof fixedCharge>;

const limit = z
  .object({
    per: z.enum(['device', 'account']),
    amount,
  })
  .strict();
export type ChargeLimit = z.output<typeof limit>;

export const planSchema = z
  .object({
    plan: z.string().regex(PLAN_ID_RE, 'plan ids are 1-64 characters of [A-Za-z0-9._:-]'),
    name: z.string().max(200).optional(),
    currency: z.string().refine(isCurrency, 'currency must be an ISO 4217 code such as EUR'),
    effective_from: effectiveFrom,
    /** decimal: 1 KB = 1000 B (SI, the telecom norm); binary: 1 KB = 1024 B. */
    units: z.enum(['decimal', 'binary']).default('decimal'),
    /** How line amounts are rounded to the currency's minor unit. */
    amount_rounding: z.enum(ROUNDING_MODES).default('half_up'),
    windows: z
      .record(
        z
          .string()
          .regex(
            CHARGE_ID_RE,
            `window names are ${CHARGE_ID_RULE.slice('charge ids are '.length)}`,
          ),
        z.array(window).min(1),
      )
      .default({}),
    charges: z.array(z.discriminatedUnion('type', [usageCharge, peakCharge, fixedCharge])).min(1),
    /** Minimum of the usage and peak charges (fixed fees excluded), per device or per account. */
    minimum: z.array(limit).default([]),
    /** Cap on the usage and peak charges, per device or per account. */
    cap: z.array(limit).default([]),
    /** Usage quotas: thresholds that notify, throttle or block (quota-plan.ts, docs/quotas.md). */
    quotas: z.array(quotaSchema).optional(),
    /** Alerts when the open invoice's projected total passes an amount, once per period. */
    bill_alerts: z.array(billAlertSchema).optional(),
  })
  .strict()
  // Cross-field checks run even when some fields failed (`when`), so one answer lists every
  // problem; they skip the parts that did not parse (their issues are already listed).
  .superRefine(checkPlan, { when: () => true });

export type Plan = z.output<typeof planSchema>;
export type Charge = Plan['charges'][number];

/** A plan version as stored: the validated document and its place in the plan's history. */
export interface PlanVersion {
  id: string;
  version: number;
  plan: Plan;
}

export interface PlanProblem {
  path: string;
  message: string;
}

export class PlanValidationError extends Error {
  constructor(readonly problems: PlanProblem[]) {
    super(
      `the plan does not validate: ${problems.map((p) => `${p.path || '(document)'}: ${p.message}`).join('; ')}`,
    );
    this.name = 'PlanValidationError';
  }
}

/** Validates a parsed document; throws PlanValidationError listing every problem. */
export function validatePlan(doc: unknown): Plan {
  const r = planSchema.safeParse(doc);
  if (r.success) return r.data;
  throw new PlanValidationError(
    r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}

/** Parses YAML (a superset of JSON) text and validates it. */
export function parsePlan(text: string): Plan {
  let doc: unknown;
  try {
    // Numbers stay exact: YAML floats would be binary; the schema re-checks them as strings.
    doc = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new PlanValidationError([
      { path: '', message: `not YAML or JSON: ${(e as Error).message}` },
    ]);
  }
  return validatePlan(doc);
}
