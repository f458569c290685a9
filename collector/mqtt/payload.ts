// Device contract (PRODUCT.md): topics and payloads, parsed into UsageRecord messages.
// Pure: no I/O. Every failure becomes a Rejection with a specific code and a reason naming the
// field, so a device's operator can fix the firmware from the answer on usage/{id}/rejected.
import { z } from 'zod';
import { DEVICE_ID_RE, LIMITS, checkUsageRecord, type UsageRecord } from '../../common/usage.ts';
import { DeviceReport } from '../../proto/index.ts';
import type { Rejection } from '../errors.ts';

export type ParsedTopic =
  | { kind: 'usage'; deviceId: string; format: 'json' | 'pb' }
  | { kind: 'rejected-answer'; deviceId: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'other' };

/** Classifies a topic. Only `usage/…` topics are metering; anything else is ordinary MQTT. */
export function parseTopic(topic: string): ParsedTopic {
  if (!topic.startsWith('usage/')) return { kind: 'other' };
  const parts = topic.split('/');
  const deviceId = parts[1] ?? '';
  if (!DEVICE_ID_RE.test(deviceId))
    return {
      kind: 'invalid',
      reason: `device id in topic must be 1-128 characters of [A-Za-z0-9._:-]`,
    };
  if (parts.length === 2) return { kind: 'usage', deviceId, format: 'json' };
  if (parts.length === 3 && parts[2] === 'pb') return { kind: 'usage', deviceId, format: 'pb' };
  if (parts.length === 3 && parts[2] === 'rejected') return { kind: 'rejected-answer', deviceId };
  return { kind: 'invalid', reason: 'topic must be usage/{deviceId} or usage/{deviceId}/pb' };
}

export interface PayloadLimits {
  maxPayloadBytes: number;
  maxRecordsPerPayload: number;
}

export interface ParsedPayload {
  records: UsageRecord[];
  /** `item` is the offending element of an array payload, kept in the dead-letter store. */
  rejections: Array<Rejection & { item?: unknown }>;
}

// RFC 3339 date-time: seconds and an explicit offset are required; the `T` may be a space.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const TIME_RANGE = 'a time between 2000-01-01 and 2100-01-01';

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Epoch ms of an RFC 3339 string, computed from its fields (Date.parse rolls impossible dates
 * such as 2026-02-30 or 24:00:00 over into the next month or day instead of refusing them).
 */
function rfc3339Ms(v: string): number | 'format' | 'calendar' {
  const m = RFC3339.exec(v);
  if (!m) return 'format';
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offH = m[9] === undefined ? 0 : Number(m[9]);
  const offM = m[10] === undefined ? 0 : Number(m[10]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return 'calendar';
  // Leap seconds (:60) are refused too: JavaScript time has no place for them.
  if (h > 23 || mi > 59 || s > 59 || offH > 23 || offM > 59) return 'calendar';
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  t.setUTCHours(h, mi, s, ms);
  const sign = m[8] === '-' ? -1 : 1;
  return t.getTime() - sign * (offH * 60 + offM) * 60_000;
}

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

type Report = z.output<typeof reportSchema>;

function toRecord(deviceId: string, r: Report, receivedMs: number): UsageRecord | string {
  if (r.seq === undefined && r.id === undefined)
    return 'seq or id is required (the record’s dedupe key)';
  if (r.seq !== undefined && r.id !== undefined) return 'give either seq or id, not both';
  const rec: UsageRecord = {
    deviceId,
    endMs: r.ts,
    up: r.up,
    down: r.down,
    meters: r.meters ?? {},
    dims: r.dims ?? {},
    receivedMs,
  };
  if (r.seq !== undefined) rec.seq = r.seq;
  if (r.id !== undefined) rec.id = r.id;
  if (r.boot !== undefined) rec.boot = r.boot;
  if (r.start !== undefined) rec.startMs = r.start;
  return checkUsageRecord(rec) ?? rec;
}

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(code: Rejection['code'], reason: string): ParsedPayload {
  return { records: [], rejections: [{ code, reason }] };
}

/** Checks shared by both payload forms, before any parsing work is spent. */
function checkSize(payload: Buffer, limits: PayloadLimits): ParsedPayload | undefined {
  if (payload.length > limits.maxPayloadBytes)
    return fail(
      'PAYLOAD_TOO_LARGE',
      `payload is ${payload.length} bytes; the limit is ${limits.maxPayloadBytes}`,
    );
  if (payload.length === 0) return fail('EMPTY_PAYLOAD', 'payload is empty');
  return undefined;
}

/** Parses a JSON payload on usage/{deviceId}: one report object or an array of them. */
export function parseJsonPayload(
  deviceId: string,
  payload: Buffer,
  receivedMs: number,
  limits: PayloadLimits,
): ParsedPayload {
  const sizeProblem = checkSize(payload, limits);
  if (sizeProblem) return sizeProblem;
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return fail('INVALID_UTF8', 'payload is not valid UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Deeply nested input can overflow the parser's stack: that is a RangeError, still bad JSON.
    return fail(
      'INVALID_JSON',
      `payload is not valid JSON: ${err instanceof SyntaxError ? err.message : 'nesting too deep'}`,
    );
  }
  const items = Array.isArray(doc) ? doc : [doc];
  if (items.length === 0) return fail('EMPTY_PAYLOAD', 'payload is an empty array');
  if (items.length > limits.maxRecordsPerPayload)
    return fail(
      'TOO_MANY_RECORDS',
      `array holds ${items.length} reports; the limit is ${limits.maxRecordsPerPayload}`,
    );

  const out: ParsedPayload = { records: [], rejections: [] };
  items.forEach((item, i) => {
    const index = Array.isArray(doc) ? i : undefined;
    const parsed = reportSchema.safeParse(item);
    const rec = parsed.success
      ? toRecord(deviceId, parsed.data, receivedMs)
      : describeZodError(parsed.error);
    if (typeof rec === 'string')
      out.rejections.push({
        code: 'INVALID_RECORD',
        reason: rec,
        ...(index === undefined ? {} : { index, item }),
      });
    else out.records.push(rec);
  });
  return out;
}

/** Parses a protobuf DeviceReport on usage/{deviceId}/pb. */
export function parseProtobufPayload(
  deviceId: string,
  payload: Buffer,
  receivedMs: number,
  limits: PayloadLimits,
): ParsedPayload {
  const sizeProblem = checkSize(payload, limits);
  if (sizeProblem) return sizeProblem;
  let m: ReturnType<typeof DeviceReport.decode>;
  try {
    m = DeviceReport.decode(payload);
  } catch (err) {
    return fail(
      'INVALID_PROTOBUF',
      `payload is not an edgemeter.v1.DeviceReport: ${(err as Error).message}`,
    );
  }
  const hasSeq = m.seq !== null && m.seq !== undefined;
  const hasId = m.id !== null && m.id !== undefined && m.id !== '';
  const rec: UsageRecord = {
    deviceId,
    endMs: m.tsMs,
    up: m.up,
    down: m.down,
    meters: { ...m.meters },
    dims: { ...m.dims },
    receivedMs,
  };
  if (hasSeq) rec.seq = m.seq as number;
  if (hasId) rec.id = m.id as string;
  if (m.boot !== null && m.boot !== undefined && m.boot !== '') rec.boot = m.boot;
  if (m.startMs !== null && m.startMs !== undefined) rec.startMs = m.startMs;
  let reason = !hasSeq && !hasId ? 'seq or id is required (the record’s dedupe key)' : null;
  if (!reason && hasSeq && hasId) reason = 'give either seq or id, not both';
  // 0 is proto3's "not set"; a negative time is a value, judged by the range rule below.
  if (!reason && !m.tsMs) reason = 'ts_ms is required';
  reason ??= checkUsageRecord(rec);
  return reason ? fail('INVALID_RECORD', reason) : { records: [rec], rejections: [] };
}
