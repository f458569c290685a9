// One incoming MQTT message → durable outbox entries and dead letters, shared by the embedded
// broker and bridge mode. The promise resolves only once everything the message produced is
// synced to disk; only then may the caller acknowledge it (Guarantee 1 in PRODUCT.md).
import type { Logger } from '../../common/logger.ts';
import { errorCode, errorMessage } from '../../common/errors.ts';
import type { UsageRecord } from '../../common/usage.ts';
import type { DeadLetterInput as DeadLetter } from '../buffer/dead-letters.ts';
import { CollectorError, type Rejection } from '../errors.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { DEFAULT_CLOCK_SKEW, judgeClockSkew, type ClockSkewPolicy } from './clock-skew.ts';
import {
  parseJsonPayload,
  parseProtobufPayload,
  parseTopic,
  type ParsedPayload,
  type PayloadLimits,
} from './payload.ts';

/** What the intake needs of the outbox (collector/buffer/outbox.ts). */
export interface DurableSink {
  append(records: UsageRecord[], deadLetters: DeadLetter[]): Promise<void>;
}

export type IntakeResult =
  | { kind: 'ignored' }
  | { kind: 'stored'; deviceId?: string; accepted: number; rejections: Rejection[] };

export interface IntakeDeps {
  sink: DurableSink;
  limits: PayloadLimits;
  /** Device time vs receive time (clock-skew.ts). Default: DEFAULT_CLOCK_SKEW. */
  clockSkew?: ClockSkewPolicy;
  metrics: CollectorMetrics;
  logger: Logger;
  now?: () => number;
  /** Told of the records of each stored message (quota enforcement); must return at once. */
  onAccepted?: (records: UsageRecord[]) => void;
}

export class Intake {
  private readonly now: () => number;

  constructor(private readonly deps: IntakeDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Rejects with CollectorError NOT_AUTHORIZED, BUFFER_FULL or STORE_FAILED when the message
   * must not be acknowledged; resolves when it may be.
   */
  async handle(topic: string, payload: Buffer): Promise<IntakeResult> {
    const t = parseTopic(topic);
    if (t.kind === 'other') return { kind: 'ignored' };
    if (t.kind === 'rejected-answer') {
      this.deps.metrics.publishesRefused.inc({ code: 'NOT_AUTHORIZED' });
      throw new CollectorError('NOT_AUTHORIZED', `${topic} is written by the collector only`);
    }

    const receivedMs = this.now();
    const { metrics } = this.deps;
    if (t.kind === 'invalid') {
      const rejection: Rejection = { code: 'INVALID_TOPIC', reason: t.reason };
      await this.store([], [this.deadLetter(rejection, topic, undefined, payload, receivedMs)]);
      metrics.recordsReceived.inc();
      metrics.recordsRejected.inc({ code: rejection.code });
      return { kind: 'stored', accepted: 0, rejections: [rejection] };
    }

    const parse = t.format === 'json' ? parseJsonPayload : parseProtobufPayload;
    const { parsed, skewed } = this.applyClockSkew(
      t.format,
      payload,
      parse(t.deviceId, payload, receivedMs, this.deps.limits),
    );
    const deadLetters = parsed.rejections.map((r) => {
      // An element of an array payload is kept alone, so one bad element does not store the
      // whole array again per rejection.
      const body = r.item === undefined ? payload : Buffer.from(safeJson(r.item));
      return this.deadLetter(r, topic, t.deviceId, body, receivedMs);
    });
    await this.store(parsed.records, deadLetters);
    if (parsed.records.length > 0) this.deps.onAccepted?.(parsed.records);

    metrics.recordsReceived.inc(parsed.records.length + parsed.rejections.length);
    metrics.recordsAccepted.inc(parsed.records.length);
    for (const r of parsed.rejections) metrics.recordsRejected.inc({ code: r.code });
    if (skewed.future > 0) metrics.recordsClockSkewed.inc({ direction: 'future' }, skewed.future);
    if (skewed.past > 0) metrics.recordsClockSkewed.inc({ direction: 'past' }, skewed.past);
    const rejections = parsed.rejections.map(({ item: _item, ...r }) => r);
    return { kind: 'stored', deviceId: t.deviceId, accepted: parsed.records.length, rejections };
  }

  /**
   * The clock-skew policy over the parsed records: too far ahead becomes a CLOCK_SKEW rejection
   * (with its array index and element, like a parse rejection); beyond the tolerance is counted
   * as skewed, once the message is stored. The rater stores each record's skew itself.
   */
  private applyClockSkew(
    format: 'json' | 'pb',
    payload: Buffer,
    parsed: ParsedPayload,
  ): { parsed: ParsedPayload; skewed: { future: number; past: number } } {
    const policy = this.deps.clockSkew ?? DEFAULT_CLOCK_SKEW;
    const skewed = { future: 0, past: 0 };
    const out: ParsedPayload = { records: [], rejections: [...parsed.rejections] };
    let locate: ((k: number) => { index?: number; item?: unknown }) | undefined;
    parsed.records.forEach((record, k) => {
      const verdict = judgeClockSkew(record, policy);
      if (verdict.kind === 'rejected') {
        locate ??= arrayLocator(format, payload, parsed);
        out.rejections.push({ code: 'CLOCK_SKEW', reason: verdict.reason, ...locate(k) });
        return;
      }
      if (verdict.kind === 'flagged') skewed[verdict.direction]++;
      out.records.push(record);
    });
    if (out.rejections.length > parsed.rejections.length)
      out.rejections.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
    return { parsed: out, skewed };
  }

  private async store(records: UsageRecord[], deadLetters: DeadLetter[]): Promise<void> {
    try {
      await this.deps.sink.append(records, deadLetters);
    } catch (err) {
      const code = errorCode(err) === 'BUFFER_FULL' ? 'BUFFER_FULL' : 'STORE_FAILED';
      this.deps.metrics.publishesRefused.inc({ code });
      if (code === 'STORE_FAILED')
        this.deps.logger.error({ err: errorMessage(err) }, 'durable write failed; publish refused');
      throw new CollectorError(code, errorMessage(err));
    }
  }

  private deadLetter(
    r: Rejection,
    topic: string,
    deviceId: string | undefined,
    payload: Buffer,
    receivedMs: number,
  ): DeadLetter {
    const reason = r.index === undefined ? r.reason : `[${r.index}] ${r.reason}`;
    return { code: r.code, reason, topic, ...(deviceId ? { deviceId } : {}), payload, receivedMs };
  }
}

/**
 * For a JSON array payload, maps the k-th parsed record back to its array element: the parser
 * keeps element order and gives every element it rejects an index, so the accepted records are
 * the remaining elements in order. Anything else (one object, protobuf) has no index; its dead
 * letter then keeps the whole payload.
 */
function arrayLocator(
  format: 'json' | 'pb',
  payload: Buffer,
  parsed: ParsedPayload,
): (k: number) => { index?: number; item?: unknown } {
  const none = () => ({});
  if (format !== 'json') return none;
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return none;
  }
  if (!Array.isArray(doc)) return none;
  const refused = new Set(parsed.rejections.map((r) => r.index));
  const kept = doc.map((_, i) => i).filter((i) => !refused.has(i));
  if (kept.length !== parsed.records.length) return none;
  return (k) => {
    const index = kept[k] as number;
    return { index, item: doc[index] as unknown };
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return '"<unserialisable>"';
  }
}
