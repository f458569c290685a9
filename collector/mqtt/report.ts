// One JSON usage report (PRODUCT.md, device contract) → its fields, or the reason it is refused.
// Pure: no I/O. The zod schema is the contract and writes every refusal's reason; `fastReport`
// reads the reports it can prove valid without it (zod cost ~60 % of a collector's parsing, per
// profile), and hands everything else, including every report with a problem, to the schema, so
// reasons never depend on the path taken. test/fuzz.payload.test.ts holds both paths equal.
import { z } from 'zod';
import { LIMITS } from '../../common/usage.ts';
import { rfc3339Ms } from './rfc3339.ts';

const TIME_RANGE = 'a time between 2000-01-01 and 2100-01-01';

const time = (field: string) =>
  z
    .union([z.string(), z.number()], {
      error: `${field} must be an RFC 3339 string or epoch milliseconds`,
    })
    .transform((v, ctx) => {
      if (typeof v === 'number') {
        if (Number.isSafeInteger(v)) return v;
        ctx.addIssue({
          code: 'custom',
          // 1e300 is an integer, just not a time: say what is wrong with it.
          message: Number.isInteger(v)
            ? `${field} must be ${TIME_RANGE}`
            : `${field} in epoch milliseconds must be an integer`,
        });
        return z.NEVER;
      }
      const ms = rfc3339Ms(v);
      if (typeof ms === 'number') return ms;
      ctx.addIssue({
        code: 'custom',
        message:
          ms === 'calendar'
            ? `${field} ${JSON.stringify(v)} is not a valid calendar date and time`
            : `${field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z`,
      });
      return z.NEVER;
    });

const bytes = (field: string) =>
  z
    .number({ error: `${field} must be an integer number of bytes >= 0` })
    .refine(
      (n) => Number.isSafeInteger(n) && n >= 0,
      `${field} must be an integer number of bytes >= 0 (at most 2^53-1)`,
    );

/**
 * JSON.parse keeps a "__proto__" key as an own property, but zod's record parsing drops it
 * silently; refuse it with a reason instead of losing a meter without a word.
 */
function noProtoKey<S extends z.ZodType>(field: string, schema: S) {
  return z.preprocess((v, ctx) => {
    if (typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__'))
      ctx.addIssue({ code: 'custom', message: `${field} names must not start with "__"` });
    return v;
  }, schema);
}

const BOOT_RULE = `boot must be a string of at most ${LIMITS.bootMaxLength} characters or an integer`;

/**
 * Reasons quote names taken from the payload; they are cut so that a hostile payload (a key of
 * 100,000 characters, thousands of unknown fields) cannot blow up the dead letter and the answer.
 */
const NAME_SHOWN = 64;
const NAMES_SHOWN = 5;

function clip(s: string): string {
  if (s.length <= NAME_SHOWN) return s;
  // Do not leave half of a surrogate pair at the cut.
  return `${s.slice(0, NAME_SHOWN).replace(/[\uD800-\uDBFF]$/, '')}…`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).map(clip).join(', ');
  return names.length > NAMES_SHOWN ? `${shown} (and ${names.length - NAMES_SHOWN} more)` : shown;
}

const reportSchema = z.strictObject(
  {
    seq: z
      .number({ error: 'seq must be an integer >= 0' })
      .refine((n) => Number.isSafeInteger(n) && n >= 0, 'seq must be an integer >= 0')
      .optional(),
    id: z
      .string({ error: 'id must be a string' })
      .min(1, 'id must not be empty')
      .max(LIMITS.idMaxLength, `id must be at most ${LIMITS.idMaxLength} characters`)
      .optional(),
    boot: z
      .union(
        [
          z.string().max(LIMITS.bootMaxLength, BOOT_RULE),
          z.number().refine((n) => Number.isSafeInteger(n), BOOT_RULE),
        ],
        { error: BOOT_RULE },
      )
      .transform(String)
      .optional(),
    ts: time('ts'),
    start: time('start').optional(),
    up: bytes('up').default(0),
    down: bytes('down').default(0),
    meters: noProtoKey(
      'meters',
      z.record(z.string(), z.number({ error: 'meter values must be numbers >= 0' }), {
        error: 'meters must be an object of name -> number',
      }),
    ).optional(),
    dims: noProtoKey(
      'dims',
      z.record(z.string(), z.string({ error: 'dims values must be strings' }), {
        error: 'dims must be an object of string -> string',
      }),
    ).optional(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field(s): ${listNames(iss.keys)}`
        : 'a report must be a JSON object',
  },
);

export type Report = z.output<typeof reportSchema>;

function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) =>
      // Name the exact place ("dims.zone: …") unless the message already starts with it.
      i.path.length > 1 || (i.path.length === 1 && !i.message.startsWith(String(i.path[0])))
        ? `${i.path.map((p) => clip(String(p))).join('.')}: ${i.message}`
        : i.message,
    )
    .join('; ');
}

const FIELDS = new Set(['seq', 'id', 'boot', 'ts', 'start', 'up', 'down', 'meters', 'dims']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A time the schema would accept, as epoch ms; undefined when the schema must judge it. */
function fastTime(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const ms = rfc3339Ms(v);
    return typeof ms === 'number' ? ms : undefined;
  }
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

/**
 * A copy of a meters or dims object whose every value passes `ok`, as z.record builds it; or
 * undefined (not an object, an own "__proto__", a value the schema must judge).
 */
function fastMap<V>(v: unknown, ok: (x: unknown) => x is V): Record<string, V> | undefined {
  if (!isObject(v) || Object.hasOwn(v, '__proto__')) return undefined;
  const out: Record<string, V> = {};
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (!ok(x)) return undefined;
    out[k] = x;
  }
  return out;
}
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isString = (x: unknown): x is string => typeof x === 'string';

/**
 * What `reportSchema` returns for a report it accepts, without running it; undefined whenever
 * the report is not plainly valid (the schema then decides, and explains).
 */
export function fastReport(item: unknown): Report | undefined {
  if (!isObject(item)) return undefined;
  for (const k of Object.keys(item)) if (!FIELDS.has(k)) return undefined;
  const ts = fastTime(item.ts);
  if (ts === undefined) return undefined;
  const up = item.up === undefined ? 0 : item.up;
  const down = item.down === undefined ? 0 : item.down;
  if (!isCount(up) || !isCount(down)) return undefined;
  const out: Report = { ts, up, down };
  if (item.seq !== undefined) {
    if (!isCount(item.seq)) return undefined;
    out.seq = item.seq;
  }
  if (item.id !== undefined) {
    const id = item.id;
    if (typeof id !== 'string' || id.length < 1 || id.length > LIMITS.idMaxLength) return undefined;
    out.id = id;
  }
  if (item.boot !== undefined) {
    const boot = item.boot;
    if (typeof boot === 'string' && boot.length <= LIMITS.bootMaxLength) out.boot = boot;
    else if (Number.isSafeInteger(boot)) out.boot = String(boot);
    else return undefined;
  }
  if (item.start !== undefined) {
    const start = fastTime(item.start);
    if (start === undefined) return undefined;
    out.start = start;
  }
  if (item.meters !== undefined) {
    const meters = fastMap(item.meters, isFiniteNumber);
    if (meters === undefined) return undefined;
    out.meters = meters;
  }
  if (item.dims !== undefined) {
    const dims = fastMap(item.dims, isString);
    if (dims === undefined) return undefined;
    out.dims = dims;
  }
  return out;
}

/** The report's fields, or the reason (naming the field) the contract refuses it. */
export function readReport(item: unknown): Report | string {
  const fast = fastReport(item);
  if (fast !== undefined) return fast;
  const parsed = reportSchema.safeParse(item);
  return parsed.success ? parsed.data : describeZodError(parsed.error);
}

/** The schema alone, for tests that hold `fastReport` to it. */
export function schemaReport(item: unknown): { ok: true; report: Report } | { ok: false } {
  const parsed = reportSchema.safeParse(item);
  return parsed.success ? { ok: true, report: parsed.data } : { ok: false };
}
