// Device contract (PRODUCT.md): topics and payloads, parsed into UsageRecord messages.
// Pure: no I/O. Every failure becomes a Rejection with a specific code and a reason naming the
// field, so a device's operator can fix the firmware from the answer on usage/{id}/rejected.
import { DEVICE_ID_RE, checkUsageRecord, type UsageRecord } from '../../common/usage.ts';
import { DeviceReport } from '../../proto/index.ts';
import type { Rejection } from '../errors.ts';
import { readReport, type Report } from './report.ts';

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
    const report = readReport(item);
    const rec = typeof report === 'string' ? report : toRecord(deviceId, report, receivedMs);
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
