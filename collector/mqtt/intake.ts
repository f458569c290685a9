// One incoming MQTT message → durable outbox entries and dead letters, shared by the embedded
// broker and bridge mode. The promise resolves only once everything the message produced is
// synced to disk; only then may the caller acknowledge it (Guarantee 1 in PRODUCT.md).
import type { Logger } from '../../common/logger.ts';
import { errorCode, errorMessage } from '../../common/errors.ts';
import type { UsageRecord } from '../../common/usage.ts';
import type { DeadLetterInput as DeadLetter } from '../buffer/dead-letters.ts';
import { CollectorError, type Rejection } from '../errors.ts';
import type { CollectorMetrics } from '../metrics.ts';
import {
  parseJsonPayload,
  parseProtobufPayload,
  parseTopic,
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
  metrics: CollectorMetrics;
  logger: Logger;
  now?: () => number;
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
    const parsed = parse(t.deviceId, payload, receivedMs, this.deps.limits);
    const deadLetters = parsed.rejections.map((r) => {
      // An element of an array payload is kept alone, so one bad element does not store the
      // whole array again per rejection.
      const body = r.item === undefined ? payload : Buffer.from(safeJson(r.item));
      return this.deadLetter(r, topic, t.deviceId, body, receivedMs);
    });
    await this.store(parsed.records, deadLetters);

    metrics.recordsReceived.inc(parsed.records.length + parsed.rejections.length);
    metrics.recordsAccepted.inc(parsed.records.length);
    for (const r of parsed.rejections) metrics.recordsRejected.inc({ code: r.code });
    const rejections = parsed.rejections.map(({ item: _item, ...r }) => r);
    return { kind: 'stored', deviceId: t.deviceId, accepted: parsed.records.length, rejections };
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

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return '"<unserialisable>"';
  }
}
