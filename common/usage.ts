// The usage record as both programs see it after validation, and the rules every record obeys.
// The device-facing payload formats (JSON, protobuf) are parsed in collector/mqtt/payload.ts;
// the rater re-checks records from the wire with `checkUsageRecord` (defence in depth: a batch
// may come from an old collector or from anyone who can reach the gRPC port).

/** `deviceId` is 1–128 characters of `[A-Za-z0-9._:-]` (PRODUCT.md, device contract). */
export const DEVICE_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Usage is summed into 5-minute buckets aligned on the UTC epoch (the rater's rollups, the
 * peak-billing samples). A record belongs to the bucket containing `ts - 1 ms`: instants are
 * end-inclusive (see rater/storage/rollup.ts).
 */
export const BUCKET_MS = 5 * 60_000;

/** Start of the 5-minute bucket containing the instant `ms`. */
export function bucketOf(ms: number): number {
  return Math.floor(ms / BUCKET_MS) * BUCKET_MS;
}

export const LIMITS = {
  idMaxLength: 128,
  bootMaxLength: 64,
  // Names starting with "__" are refused: `__proto__` cannot survive a trip through a plain
  // JavaScript object (JSON.parse keeps it, object spreads and decoders drop or misuse it).
  meterNameRe: /^(?!__)[A-Za-z0-9_.:-]{1,64}$/,
  maxMeters: 32,
  dimKeyRe: /^(?!__)[A-Za-z0-9_.:-]{1,64}$/,
  dimValueMaxLength: 256,
  /**
   * All dims of a record together, as UTF-8 JSON. The rater keys its 5-minute rollups on
   * (device, dims, bucket) in a B-tree index, whose entries must stay under ~2.7 KB.
   */
  dimsMaxBytes: 2048,
  maxDims: 16,
  /** Earliest and latest accepted interval end: 2000-01-01 and 2100-01-01 (UTC). */
  minTimeMs: Date.UTC(2000, 0, 1),
  maxTimeMs: Date.UTC(2100, 0, 1),
} as const;

export interface UsageRecord {
  deviceId: string;
  /** Dedupe key: exactly one of `seq` and `id` is set; `boot` qualifies `seq`. */
  seq?: number;
  id?: string;
  boot?: string;
  startMs?: number;
  endMs: number;
  up: number;
  down: number;
  meters: Record<string, number>;
  dims: Record<string, string>;
  /** When the collector accepted the record, by its own clock. */
  receivedMs: number;
}

/**
 * The record's dedupe key within its device: `s:{boot}:{seq}` or `i:{id}`. `seq` is an integer,
 * so the last `:` separates it from any `:` inside `boot`; the prefixes keep the two forms apart.
 */
export function recordKey(r: Pick<UsageRecord, 'seq' | 'id' | 'boot'>): string {
  if (r.seq !== undefined && r.seq !== null) return `s:${r.boot ?? ''}:${r.seq}`;
  return `i:${r.id ?? ''}`;
}

const isCount = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isTime = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= LIMITS.minTimeMs && n < LIMITS.maxTimeMs;

/** Returns why the record is invalid, or null when it is valid. Pure; never throws. */
export function checkUsageRecord(r: Partial<UsageRecord>): string | null {
  if (typeof r.deviceId !== 'string' || !DEVICE_ID_RE.test(r.deviceId))
    return 'deviceId must be 1-128 characters of [A-Za-z0-9._:-]';
  const hasSeq = r.seq !== undefined && r.seq !== null;
  const hasId = r.id !== undefined && r.id !== null && r.id !== '';
  if (hasSeq === hasId) return 'exactly one of seq and id is required';
  if (hasSeq && !isCount(r.seq)) return 'seq must be an integer >= 0';
  if (hasId && (typeof r.id !== 'string' || r.id.length > LIMITS.idMaxLength))
    return `id must be a string of at most ${LIMITS.idMaxLength} characters`;
  if (
    r.boot !== undefined &&
    r.boot !== null &&
    (typeof r.boot !== 'string' || r.boot.length > LIMITS.bootMaxLength)
  )
    return `boot must be a string of at most ${LIMITS.bootMaxLength} characters`;
  if (!isTime(r.endMs)) return 'ts must be a time between 2000-01-01 and 2100-01-01';
  if (r.startMs !== undefined && r.startMs !== null) {
    if (!isTime(r.startMs)) return 'start must be a time between 2000-01-01 and 2100-01-01';
    if (r.startMs > r.endMs) return 'start must not be after ts';
  }
  if (!isCount(r.up)) return 'up must be an integer number of bytes >= 0';
  if (!isCount(r.down)) return 'down must be an integer number of bytes >= 0';
  const meters = r.meters ?? {};
  const meterNames = Object.keys(meters);
  if (meterNames.length > LIMITS.maxMeters) return `at most ${LIMITS.maxMeters} meters`;
  for (const name of meterNames) {
    if (!LIMITS.meterNameRe.test(name))
      return `meter name ${JSON.stringify(name.slice(0, 70))} is invalid`;
    const v = meters[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      return `meter ${name} must be a finite number >= 0`;
  }
  const dims = r.dims ?? {};
  const dimKeys = Object.keys(dims);
  if (dimKeys.length > LIMITS.maxDims) return `at most ${LIMITS.maxDims} dims`;
  for (const k of dimKeys) {
    if (!LIMITS.dimKeyRe.test(k)) return `dim name ${JSON.stringify(k.slice(0, 70))} is invalid`;
    const v = dims[k];
    if (typeof v !== 'string' || v.length > LIMITS.dimValueMaxLength)
      return `dim ${k} must be a string of at most ${LIMITS.dimValueMaxLength} characters`;
  }
  if (dimKeys.length > 0 && dimsMayExceed(dims, dimKeys)) {
    const size = Buffer.byteLength(JSON.stringify(dims), 'utf8');
    if (size > LIMITS.dimsMaxBytes)
      return `dims take ${size} bytes as JSON; at most ${LIMITS.dimsMaxBytes} are accepted`;
  }
  if (!isTime(r.receivedMs)) return 'receivedMs must be a valid time';
  return checkText(r, dims, dimKeys);
}

/**
 * Whether the dims' JSON could pass the byte limit, from a bound that needs no serialisation: a
 * name takes its length (checked: ASCII, nothing to escape), a value at most 6 bytes per UTF-16
 * unit (`\u001f`; a non-ASCII unit takes at most 3), and each entry 6 more for its quotes, colon
 * and comma. Typical dims are far under it, so the exact size is computed only for the rare large
 * ones.
 */
function dimsMayExceed(dims: Record<string, string>, keys: string[]): boolean {
  let bound = 2; // {}
  for (const k of keys) bound += k.length + 6 * (dims[k] as string).length + 6;
  return bound > LIMITS.dimsMaxBytes;
}

/**
 * Text the database can store: PostgreSQL text cannot hold NUL, and an unpaired surrogate has no
 * UTF-8 form. Either would make the rater's transaction fail for the whole batch, so the record
 * is refused alone, here, on both sides of the wire.
 */
function textProblem(field: string, s: string): string | null {
  if (s.includes('\u0000')) return `${field} must not contain the NUL character (U+0000)`;
  // isWellFormed: a native scan, several times faster than a /\p{Cs}/u test (both programs check
  // every record's text).
  if (!s.isWellFormed()) return `${field} must be well-formed Unicode (no unpaired surrogates)`;
  return null;
}

function checkText(
  r: Partial<UsageRecord>,
  dims: Record<string, string>,
  dimKeys: string[],
): string | null {
  if (typeof r.id === 'string') {
    const p = textProblem('id', r.id);
    if (p) return p;
  }
  if (typeof r.boot === 'string') {
    const p = textProblem('boot', r.boot);
    if (p) return p;
  }
  for (const k of dimKeys) {
    const p = textProblem(`dim ${k}`, dims[k] as string);
    if (p) return p;
  }
  return null;
}
