// The HTTP API's request and response shapes as zod schemas: the single source for validating
// parameters and bodies (route.ts parses with them) and for the OpenAPI description
// (converted with z.toJSONSchema). Response schemas are documentation only; the tests parse
// real responses with them, so the description cannot drift from what the rater sends.
import { z } from 'zod';
import { ACCOUNT_ID_RE, DEVICE_ID_RE } from '../../common/ids.ts';
import {
  EFFECTIVE_TIME_RULE,
  PERIOD_RE,
  isEffectiveTime,
  isValidTimeZone,
} from '../rating/period.ts';
import { isCurrency } from '../rating/currency.ts';
import { PLAN_ID_RE } from '../rating/plan.ts';
import type { DeviceCharges, Invoice } from '../rating/types.ts';

// ---- Identifiers and values ----

export const deviceId = z
  .string()
  .regex(DEVICE_ID_RE, 'device id must be 1-128 characters of [A-Za-z0-9._:-]')
  .meta({ description: 'Device id: 1-128 characters of [A-Za-z0-9._:-]' });

/** Account ids follow the device id rule (operators often reuse a customer number). */
export { ACCOUNT_ID_RE };
export const accountId = z
  .string()
  .regex(ACCOUNT_ID_RE, 'account id must be 1-128 characters of [A-Za-z0-9._:-]')
  .meta({ description: 'Account id: 1-128 characters of [A-Za-z0-9._:-]' });

export const planId = z
  .string()
  .regex(PLAN_ID_RE, 'plan id must be 1-64 characters of [A-Za-z0-9._:-]')
  .meta({ description: 'Plan id: 1-64 characters of [A-Za-z0-9._:-]' });

export const currency = z
  .string()
  .refine(isCurrency, 'currency must be an ISO 4217 code such as EUR')
  .meta({ description: 'ISO 4217 currency code', examples: ['EUR'] });

export const timeZone = z
  .string()
  .refine(isValidTimeZone, 'time_zone must be an IANA time zone such as Europe/Paris')
  .meta({ description: 'IANA time zone; billing periods are calendar months here' });

/** A calendar date (midnight in the account's time zone) or an RFC 3339 instant with offset. */
export const effectiveTime = (name: string) =>
  z
    .string()
    .refine(isEffectiveTime, `${name} must be ${EFFECTIVE_TIME_RULE}`)
    .meta({
      description:
        "YYYY-MM-DD (midnight in the account's time zone) or an RFC 3339 time with an offset",
      examples: ['2026-01-01', '2026-01-15T12:00:00Z'],
    });

export const periodLabel = z
  .string()
  .regex(PERIOD_RE, 'period must be YYYY-MM')
  .meta({ description: 'A calendar month, YYYY-MM', examples: ['2026-01'] });

export const periodOrCurrent = z
  .string()
  .regex(/^(\d{4}-(0[1-9]|1[0-2])|current)$/, 'period must be YYYY-MM or current')
  .meta({
    description: "A calendar month (YYYY-MM) in the account's time zone, or `current`",
    examples: ['2026-01', 'current'],
  });

const decimal = (description: string) =>
  z.string().meta({ description: `${description} (exact decimal string)` });
const money = decimal('Money');
const instant = z.string().meta({ description: 'ISO 8601 instant (UTC)' });

// ---- Path parameters and query strings ----

export const planParams = z.object({ id: planId });
export const accountParams = z.object({ id: accountId });
export const deviceParams = z.object({ id: deviceId });
export const invoiceParams = z.object({ id: accountId, period: periodOrCurrent });

export const planQuery = z.object({
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, 'version must be a positive integer')
    .transform(Number)
    .optional()
    .meta({ description: 'A version number; default: the latest version' }),
});
export const chargesQuery = z.object({ period: periodOrCurrent.default('current') });
export const invoicesQuery = z.object({ period: periodLabel });

// ---- Request bodies ----

export const accountBody = z
  .object({
    name: z.string().min(1).max(200).optional().meta({ description: 'Display name' }),
    currency,
    time_zone: timeZone,
    plan: planId.meta({ description: 'The plan from `plan_from` on' }),
    plan_from: effectiveTime('plan_from').optional().meta({
      description:
        "When the plan takes effect: YYYY-MM-DD (midnight in the account's time zone) or RFC 3339. Default: the start of the account's current billing month for a new account (an explicit earlier time backdates it), now for a change.",
    }),
  })
  .strict();

export const deviceBody = z
  .object({
    account: accountId.nullable().meta({
      description: 'The account the device belongs to from `from` on; null: it leaves its account',
    }),
    plan: planId
      .nullable()
      .optional()
      .meta({ description: "A device plan overriding the account's plan; null or absent: none" }),
    from: effectiveTime('from').optional().meta({
      description:
        "When the assignment takes effect: YYYY-MM-DD (midnight in the account's time zone) or RFC 3339. Default: the start of the account's current billing month for a device's first assignment (an explicit earlier time backdates it), now for a change.",
    }),
  })
  .strict();

// ---- Responses (documentation; the tests check real answers against them) ----

export const errorResponse = z
  .object({
    error: z
      .object({
        code: z.string().meta({ description: 'A code from the error table (docs/api.md)' }),
        message: z.string(),
        problems: z
          .array(z.object({ path: z.string(), message: z.string() }).strict())
          .optional()
          .meta({ description: 'PLAN_INVALID only: every problem of the document' }),
      })
      .strict(),
  })
  .strict();

const planDocument = z.record(z.string(), z.unknown()).meta({
  description:
    'The stored plan document: valid plan input with every default filled in (see the PUT body)',
});

export const planVersionResponse = z
  .object({
    plan: planId,
    version: z.number().int().min(1),
    changed: z
      .boolean()
      .optional()
      .meta({ description: 'PUT only: false when the document equals the latest version' }),
    document: planDocument,
  })
  .strict();

export const planVersionsResponse = z
  .object({
    plan: planId,
    versions: z.array(
      z
        .object({ version: z.number().int(), effective_from: z.string(), document: planDocument })
        .strict(),
    ),
  })
  .strict();

export const planListResponse = z
  .object({
    plans: z.array(
      z
        .object({
          plan: planId,
          version: z.number().int().meta({ description: 'The latest version' }),
          name: z.string().optional(),
          currency: z.string(),
          effective_from: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export const accountResponse = z
  .object({
    account: accountId,
    name: z.string().optional(),
    currency: z.string(),
    time_zone: z.string(),
    plan: planId.nullable().meta({ description: 'The plan in force now (null: none yet)' }),
    plans: z
      .array(z.object({ plan: planId, from: instant }).strict())
      .meta({ description: 'Plan history, oldest first' }),
    devices: z.array(deviceId).meta({ description: 'Devices assigned now' }),
    changed: z.boolean().optional().meta({ description: 'PUT only: false when nothing changed' }),
  })
  .strict();

export const accountListResponse = z.object({ accounts: z.array(accountResponse) }).strict();

export const deviceResponse = z
  .object({
    device: deviceId,
    account: accountId.nullable().meta({ description: 'The account now (null: none)' }),
    plan: planId.nullable().meta({ description: 'The device plan override now (null: none)' }),
    assignments: z
      .array(
        z
          .object({ account: accountId.nullable(), plan: planId.nullable(), from: instant })
          .strict(),
      )
      .meta({ description: 'Assignment history, oldest first' }),
    changed: z.boolean().optional().meta({ description: 'PUT only: false when nothing changed' }),
  })
  .strict();

const peakFigure = z
  .object({
    method: z.enum(['percentile', 'max', 'daily_peak_avg']),
    direction: z.enum(['in', 'out', 'max', 'sum']),
    rate_bps: decimal(
      'The rate in bits per second, to 0.001 bps (half-even); pricing uses the full rate',
    ),
    samples_observed: z.number().int(),
    samples_expected: z.number().int(),
    rank: z.number().int().optional(),
    selected: z
      .enum(['in', 'out'])
      .optional()
      .meta({ description: 'Direction max: the direction whose figure was higher' }),
  })
  .strict();

export const invoiceLine = z
  .object({
    line: z.number().int(),
    kind: z.enum(['usage', 'peak', 'fixed', 'minimum', 'cap', 'adjustment']),
    charge: z.string(),
    description: z.string(),
    device: z.string().optional(),
    plan: z.string(),
    plan_version: z.number().int(),
    from: instant,
    to: instant,
    meter: z.string().optional(),
    tier: z.string().optional(),
    raw_quantity: decimal('Measured quantity in base units (bytes, count, bit/s)'),
    rated_quantity: decimal('Quantity priced, in `unit`'),
    unit: z.string(),
    unit_price: money,
    amount: money,
    included: decimal('Allowance applied, in `unit`').optional(),
    peak: peakFigure.optional(),
    adjusts: periodLabel
      .optional()
      .meta({ description: 'Adjustment lines: the issued period whose late usage this bills' }),
    prorated_days: z.number().int().optional(),
  })
  .strict();

export const invoiceSchema = z
  .object({
    account: z.string(),
    period: z.string(),
    currency: z.string(),
    time_zone: z.string(),
    period_start: instant,
    period_end: instant,
    status: z.enum(['closed', 'open', 'issued']).meta({
      description:
        'open: the current month so far; closed: ended, rated on request; issued: the stored snapshot, never rewritten',
    }),
    issued_at: instant.optional(),
    as_of: instant.optional(),
    plans: z.array(
      z
        .object({ plan: z.string(), version: z.number().int(), from: instant, to: instant })
        .strict(),
    ),
    lines: z.array(invoiceLine),
    devices: z.array(
      z
        .object({
          device: z.string(),
          active: z.boolean(),
          assigned_days: z.number().int(),
          up: z.number().int().meta({ description: 'Bytes' }),
          down: z.number().int().meta({ description: 'Bytes' }),
          total: z.number().int().meta({ description: 'Bytes' }),
          records: z.number().int(),
          amount: money,
        })
        .strict(),
    ),
    active_devices: z.number().int(),
    allocations: z
      .array(z.object({ line: z.number().int(), device: z.string(), amount: money }).strict())
      .meta({
        description:
          'Account-level lines split over the devices rated under them (largest remainder; the parts add up to the line)',
      }),
    total: money.meta({ description: 'Sum of the line amounts (exact decimal string)' }),
    projected_total: money.optional().meta({ description: 'Open periods only' }),
    allowances: z
      .array(
        z
          .object({
            charge: z.string(),
            device: z.string().optional(),
            used: z.string(),
            included: z.string(),
            unit: z.string(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .meta({ title: 'Invoice' });

export const deviceChargesSchema = z
  .object({
    device: z.string(),
    account: z.string(),
    period: z.string(),
    currency: z.string(),
    status: z.enum(['closed', 'open', 'issued']),
    lines: z.array(invoiceLine),
    shares: z.array(
      z.object({ line: z.number().int(), charge: z.string(), amount: money }).strict(),
    ),
    total: money,
  })
  .strict()
  .meta({ title: 'DeviceCharges' });

export const deviceChargesResponse = z
  .object({ device: deviceId, period: z.string(), charges: z.array(deviceChargesSchema) })
  .strict();

export const invoicesResponse = z
  .object({ period: z.string(), invoices: z.array(invoiceSchema) })
  .strict();

// Compile-time guard: the documented shapes and the engine's types (rating/types.ts) agree
// both ways and name the same fields (optional ones included), so a field added to an invoice
// fails the type check until it is described here.
type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;
type Doc<S extends z.ZodType> = z.output<S>;
type Line = Invoice['lines'][number];
const described: [
  Same<Doc<typeof invoiceSchema>, Invoice>,
  Same<Doc<typeof invoiceLine>, Line>,
  Same<NonNullable<Doc<typeof invoiceLine>['peak']>, NonNullable<Line['peak']>>,
  Same<Doc<typeof invoiceSchema>['devices'][number], Invoice['devices'][number]>,
  Same<Doc<typeof invoiceSchema>['plans'][number], Invoice['plans'][number]>,
  Same<Doc<typeof invoiceSchema>['allocations'][number], Invoice['allocations'][number]>,
  Same<
    NonNullable<Doc<typeof invoiceSchema>['allowances']>[number],
    NonNullable<Invoice['allowances']>[number]
  >,
  Same<Doc<typeof deviceChargesSchema>, DeviceCharges>,
  Same<Doc<typeof deviceChargesSchema>['shares'][number], DeviceCharges['shares'][number]>,
] = [true, true, true, true, true, true, true, true, true];
void described;

/** JSON Schema of a zod schema for the OpenAPI description (no `$schema` key). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): object {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
