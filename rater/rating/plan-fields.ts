// Field-level schemas of price plans: exact decimals, quantities with units, rounding, tiers and
// pricing models, usage filters and time windows. plan.ts assembles them into charges and the
// plan, plan-checks.ts checks what spans fields; kept apart so each piece reads on its own.
//
// Conventions (docs/rating.md explains each with worked examples):
// - prices, amounts and quantities are decimal strings ("0.015") or plain numbers; a number is
//   accepted only when it survives the trip to a string unchanged, so no binary float ever
//   reaches the money path;
// - byte quantities are written with a unit ("500 MB", "1 GiB" is not accepted: the plan's
//   `units` decides whether KB means 1000 or 1024 bytes).
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { LIMITS } from '../../common/usage.ts';

export const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
export type ByteUnit = (typeof BYTE_UNITS)[number];
export const RATE_UNITS = ['bps', 'kbps', 'Mbps', 'Gbps'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];

export const ROUNDING_MODES = ['up', 'down', 'half_up', 'half_even'] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** A non-negative exact decimal written as a string or a number that round-trips. */
const decimalString = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const s = typeof v === 'number' ? String(v) : v.trim();
    // Up to 15 significant digits a JS number gives back exactly what was written; beyond that
    // (or in exponent form) the document must say it as a string.
    if (
      typeof v === 'number' &&
      (!Number.isFinite(v) || /e/i.test(s) || significantDigits(s) > 15)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} ${s} must be written as a plain decimal string such as "0.015"`,
      });
      return z.NEVER;
    }
    if (!DECIMAL_RE.test(s) || s.startsWith('-')) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be a non-negative decimal such as "0.015", not ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    // Kept as written ("2.00" stays "2.00"): invoices show the price the plan states.
    return s;
  });

function significantDigits(s: string): number {
  return s.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length;
}

const price = decimalString('price');
export const amount = decimalString('amount');

/**
 * A quantity in a charge's unit: a decimal ("1.5": 1.5 of the charge's unit) or a decimal with
 * a unit ("500 MB", "0.5 GB", "1 KB"). Kept as written; rating converts it with the plan's units.
 */
export const quantity = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v.trim();
  if (typeof v === 'number' && significantDigits(s) > 15) {
    ctx.addIssue({ code: 'custom', message: `quantity ${s} must be written as a string` });
    return z.NEVER;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(s);
  const unit = m?.[2] ?? '';
  if (
    !m ||
    (unit !== '' &&
      !(BYTE_UNITS as readonly string[]).includes(unit) &&
      !(RATE_UNITS as readonly string[]).includes(unit))
  ) {
    ctx.addIssue({
      code: 'custom',
      message: `quantity must be a decimal, optionally with a unit (${[...BYTE_UNITS, ...RATE_UNITS].join(', ')}), such as "500 MB"; got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return { value: new Decimal(m[1] ?? '0').toFixed(), unit: unit === '' ? undefined : unit };
});
export type Quantity = z.output<typeof quantity>;

export const rounding = z
  .object({
    increment: quantity,
    mode: z.enum(ROUNDING_MODES).default('up'),
  })
  .strict();
export type Rounding = z.output<typeof rounding>;

const tier = z
  .object({
    /** Upper bound of the tier in the charge's unit (or with an explicit unit); omitted = no limit. */
    up_to: quantity.optional(),
    /** Price per unit in this tier. */
    price: price.default('0'),
    /** A flat amount added once when usage reaches this tier. */
    flat: amount.optional(),
  })
  .strict();
export type Tier = z.output<typeof tier>;

const tiers = z
  .array(tier)
  .min(1)
  .superRefine((ts, ctx) => {
    ts.forEach((t, i) => {
      if (t.up_to === undefined && i !== ts.length - 1)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'up_to'],
          message: 'only the last tier may omit up_to',
        });
      if (t.up_to !== undefined && i === ts.length - 1)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'up_to'],
          message: 'the last tier has no up_to: it prices everything above the previous bound',
        });
    });
  });

export const pricingSchema = z.discriminatedUnion('model', [
  z.object({ model: z.literal('per_unit'), price }).strict(),
  z.object({ model: z.literal('graduated'), tiers }).strict(),
  z.object({ model: z.literal('volume'), tiers }).strict(),
  z
    .object({
      model: z.literal('package'),
      /** Package size, in the charge's unit or with an explicit unit ("500 MB"). */
      size: quantity,
      /** Price per started package. */
      price,
    })
    .strict(),
]);
export type Pricing = z.output<typeof pricingSchema>;

export const dimName = z
  .string()
  .regex(LIMITS.dimKeyRe, 'dimension names follow the record dims rules');
export const dimValues = z.union([z.string(), z.array(z.string()).min(1)]);

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const hhmm = z
  .string()
  .regex(
    /^([01]\d|2[0-3]):[0-5][05]$|^24:00$/,
    'times are HH:MM on a 5-minute mark (usage is rated per 5-minute interval), 00:00 to 24:00',
  );
export const window = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .default([...WEEKDAYS]),
    from: hhmm,
    to: hhmm,
  })
  .strict()
  .refine((w) => w.from < w.to, {
    message: 'a window must end after it starts (split windows across midnight in two)',
  });
export type TimeWindow = z.output<typeof window>;

/** up, down, total (bytes) or meters.NAME (a meter from the records' `meters`). */
export const meter = z
  .string()
  .refine(
    (m) =>
      m === 'up' ||
      m === 'down' ||
      m === 'total' ||
      (m.startsWith('meters.') && LIMITS.meterNameRe.test(m.slice(7))),
    'meter must be up, down, total or meters.NAME',
  );

export const filter = z
  .object({
    /** Only usage whose dims have one of these values (every listed dim must match). */
    dims: z.record(dimName, dimValues).optional(),
    /** Usage whose dims match any of these is left out (e.g. zero-rated rating groups). */
    exclude_dims: z.record(dimName, dimValues).optional(),
    /** Only usage in this named time window of the plan (local time of the account). */
    window: z.string().optional(),
    /** Only usage outside this named time window. */
    outside_window: z.string().optional(),
  })
  .strict();
export type UsageFilter = z.output<typeof filter>;

/** Base units (bytes or bits per second) in one `unit`. Bit rates are always decimal. */
export function unitFactor(unit: string, units: 'decimal' | 'binary'): Decimal {
  const byteIndex = (BYTE_UNITS as readonly string[]).indexOf(unit);
  if (byteIndex >= 0) return new Decimal(units === 'binary' ? 1024 : 1000).pow(byteIndex);
  const rateIndex = (RATE_UNITS as readonly string[]).indexOf(unit);
  if (rateIndex >= 0) return new Decimal(1000).pow(rateIndex);
  return new Decimal(1);
}
