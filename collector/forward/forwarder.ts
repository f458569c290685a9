// Reads the outbox in order, sends batches to the rater, and deletes entries only after the
// rater acknowledged them (the rater acknowledges only after its transaction committed).
// Delivery is at-least-once: a crash between the rater's commit and our delete resends the batch,
// and the rater's per-record dedupe keys make that harmless.
//
// Several batches are in flight at once (`maxInFlight`): with one, the collector waited for each
// store transaction, and a backlog drained at one batch per transaction time. Each batch is
// settled on its own answer, so acks may arrive out of order; the outbox deletes exactly the
// entries of the acknowledged batch. One order still matters: when a record key comes back with
// other content, the first version stays (PRODUCT.md), so a batch holding a key that is still in
// flight waits until the earlier batches are settled.
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { UsageRecord, type IngestBatchResponseMsg } from '../../proto/index.ts';
import type { DeadLetterInput } from '../buffer/dead-letters.ts';
import type { DeadLetterEntry, OutboxEntry as ForwardEntry } from '../buffer/types.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { backoffDelay } from './backoff.ts';
import { encodeBatch } from './client.ts';
import { recordIdentity } from './record-identity.ts';

/** What the forwarder needs of the outbox (collector/buffer/outbox.ts). */
export interface ForwardSource {
  readBatch(limits: { maxRecords: number; maxBytes: number }): Promise<ForwardEntry[]>;
  ack(entries: ForwardEntry[]): Promise<void>;
  deadLetter(entries: DeadLetterEntry[]): Promise<void>;
  stats(): { records: number };
  /** Moves the read cursor back to the first unacknowledged entry. */
  rewind(): void;
  /** Resolves when entries were appended after the call, or immediately if any are unread. */
  waitForAppend(signal: AbortSignal): Promise<void>;
}

export interface BatchSender {
  send(request: Buffer, deadlineMs: number): Promise<IngestBatchResponseMsg>;
}

export interface ForwarderOptions {
  collectorId: string;
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
  /** Batches sent and not yet settled, at most. Default 1. */
  maxInFlight?: number;
  deadlineMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface ForwarderDeps {
  source: ForwardSource;
  sender: BatchSender;
  logger: Logger;
  metrics: CollectorMetrics;
  random?: () => number;
  /** Called after each batch was settled (acked or dead-lettered). */
  onSettled?: () => void;
}

/** Codes where resending the same batch cannot help; the batch is split to find the bad record. */
const SPLIT_CODES = new Set<number>([status.INVALID_ARGUMENT]);

export class Forwarder {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private connected = true;
  /** The first local failure of a batch in flight, handled by run(). */
  private failure: unknown;
  /** Aborted to wake the loop from waiting for appends (a batch in flight failed locally). */
  private wake: AbortController | undefined;
  /** Records of the batches in flight (still counted in the outbox's stats). */
  private inFlightRecords = 0;
  /** Record identities (device and key) in batches not yet settled, with their counts. */
  private readonly inFlightKeys = new Map<string, number>();

  constructor(
    private readonly opts: ForwarderOptions,
    private readonly deps: ForwarderDeps,
  ) {}

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted)
        this.deps.logger.fatal({ err: errorMessage(err) }, 'forwarder stopped unexpectedly');
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const limit = Math.max(1, this.opts.maxInFlight ?? 1);
    for (let failures = 0; !this.stopped;) {
      try {
        while (inFlight.size >= limit) await Promise.race(inFlight);
        // A batch that failed to settle locally: let the others finish, then rewind (below).
        const failed = this.failure;
        if (failed !== undefined) {
          await Promise.allSettled(inFlight);
          this.failure = undefined;
          throw failed;
        }
        const entries = await this.next();
        if (entries.length === 0) continue;
        const keys = limit > 1 ? entries.map((e) => recordIdentity(e.bytes)) : [];
        if (keys.some((k) => this.inFlightKeys.has(k))) await Promise.allSettled(inFlight);
        for (const k of keys) this.inFlightKeys.set(k, (this.inFlightKeys.get(k) ?? 0) + 1);
        this.inFlightRecords += entries.length;
        const delivery = this.deliver(entries)
          .catch((err: unknown) => {
            this.failure ??= err;
            // The loop may be waiting for appends that never come: its entries must be re-read.
            this.wake?.abort();
          })
          .finally(() => {
            this.inFlightRecords -= entries.length;
            for (const k of keys) {
              const n = (this.inFlightKeys.get(k) ?? 1) - 1;
              if (n === 0) this.inFlightKeys.delete(k);
              else this.inFlightKeys.set(k, n);
            }
            inFlight.delete(delivery);
          });
        inFlight.add(delivery);
        failures = 0;
      } catch (err) {
        // A local failure (reading the outbox, acking, dead-lettering): the entries are still on
        // disk, so rewind to the first unacknowledged one and try again later. Never give up:
        // the collector keeps accepting publishes and they must eventually leave.
        await Promise.allSettled(inFlight);
        failures++;
        const delay = backoffDelay(
          failures,
          this.opts.retryInitialMs,
          this.opts.retryMaxMs,
          this.deps.random,
        );
        this.deps.logger.error(
          { err: errorMessage(err), retryInMs: delay },
          'forwarding step failed; will retry',
        );
        this.deps.source.rewind();
        await this.sleep(delay);
      }
    }
    await Promise.allSettled(inFlight);
  }

  /** The next batch to send (empty when stopping). */
  private async next(): Promise<ForwardEntry[]> {
    const { source } = this.deps;
    // Woken by new entries, by stop(), or by a failed batch (not AbortSignal.any: in Node 20 it
    // keeps every signal derived from a long-lived one alive, one per batch here).
    const wake = new AbortController();
    const stop = () => wake.abort();
    this.abort.signal.addEventListener('abort', stop, { once: true });
    // An abort that came while the loop awaited in-flight batches fires no listener added after
    // it: without this the loop would wait for an append that never comes, and stop() with it.
    if (this.stopped) stop();
    this.wake = wake;
    try {
      await source.waitForAppend(wake.signal);
    } finally {
      this.wake = undefined;
      this.abort.signal.removeEventListener('abort', stop);
    }
    if (this.stopped || this.failure !== undefined) return [];
    // Small batches cost a round trip each: give a trickle of records a moment to gather,
    // unless a full batch is already waiting.
    const unsent = source.stats().records - this.inFlightRecords;
    if (this.opts.lingerMs > 0 && unsent < this.opts.maxRecords)
      await this.sleep(this.opts.lingerMs);
    return source.readBatch({
      maxRecords: this.opts.maxRecords,
      maxBytes: this.opts.maxBytes,
    });
  }

  /** Sends until acknowledged (or the forwarder stops), then acks or dead-letters every entry. */
  private async deliver(entries: ForwardEntry[]): Promise<void> {
    const { logger, metrics } = this.deps;
    const first = entries[0] as ForwardEntry;
    const last = entries[entries.length - 1] as ForwardEntry;
    // Same outbox range ⇒ same batch id, however often it is resent.
    const batchId = `${this.opts.collectorId}:${first.seq}-${last.seq}`;
    const request = encodeBatch(
      this.opts.collectorId,
      batchId,
      entries.map((e) => e.bytes),
    );
    let response: IngestBatchResponseMsg | undefined;
    for (let attempt = 0; !this.stopped; attempt++) {
      const started = performance.now();
      try {
        const res = await this.deps.sender.send(request, this.opts.deadlineMs);
        metrics.batchLatency.observe((performance.now() - started) / 1000);
        if (!this.connected) logger.info({ batchId }, 'rater reachable again; forwarding');
        this.connected = true;
        response = res;
        break;
      } catch (err) {
        const code = (err as Partial<ServiceError>).code ?? status.UNKNOWN;
        metrics.batchErrors.inc({ code: status[code] ?? String(code) });
        if (SPLIT_CODES.has(code)) return this.split(entries, err);
        const delay = backoffDelay(
          attempt,
          this.opts.retryInitialMs,
          this.opts.retryMaxMs,
          this.deps.random,
        );
        if (this.connected || attempt % 10 === 0)
          logger.warn(
            {
              batchId,
              records: entries.length,
              code: status[code],
              attempt,
              retryInMs: delay,
              err: errorMessage(err),
            },
            'batch not acknowledged; will retry',
          );
        this.connected = false;
        metrics.batchRetries.inc();
        await this.sleep(delay);
      }
    }
    // Settling is local (outbox ack, dead letters); a failure there goes to run()'s handler.
    if (response) await this.settle(entries, batchId, response);
  }

  private async settle(
    entries: ForwardEntry[],
    batchId: string,
    res: IngestBatchResponseMsg,
  ): Promise<void> {
    const { metrics, logger, source } = this.deps;
    const rejected = res.rejected ?? [];
    if (rejected.length > 0) {
      logger.warn({ batchId, rejected: rejected.length }, 'rater rejected records; dead-lettered');
      await source.deadLetter(
        rejected
          .filter((r) => (r.index ?? 0) < entries.length)
          .map((r) => {
            const entry = entries[r.index ?? 0] as ForwardEntry;
            return {
              entry,
              letter: this.letterFor(entry, r.code ?? 'INVALID_RECORD', r.reason ?? ''),
            };
          }),
      );
    }
    await source.ack(entries);
    this.deps.onSettled?.();
    metrics.batchesSent.inc();
    metrics.recordsForwarded.inc({ result: 'accepted' }, res.accepted ?? 0);
    metrics.recordsForwarded.inc({ result: 'duplicate' }, res.duplicates ?? 0);
    metrics.recordsForwarded.inc({ result: 'conflict' }, res.conflicts ?? 0);
    metrics.recordsForwarded.inc({ result: 'rejected' }, rejected.length);
  }

  /** A batch the rater refuses as a whole: halve it until the offending record stands alone. */
  private async split(entries: ForwardEntry[], err: unknown): Promise<void> {
    if (entries.length === 1) {
      const entry = entries[0] as ForwardEntry;
      this.deps.logger.warn(
        { seq: String(entry.seq), err: errorMessage(err) },
        'rater refused a record; dead-lettered',
      );
      await this.deps.source.deadLetter([
        { entry, letter: this.letterFor(entry, 'RATER_REJECTED', errorMessage(err)) },
      ]);
      await this.deps.source.ack(entries);
      return;
    }
    const mid = Math.ceil(entries.length / 2);
    await this.deliver(entries.slice(0, mid));
    await this.deliver(entries.slice(mid));
  }

  private letterFor(
    entry: ForwardEntry,
    code: string,
    reason: string,
  ): Omit<DeadLetterInput, 'payload'> {
    let deviceId: string | undefined;
    try {
      deviceId = UsageRecord.decode(entry.bytes).deviceId ?? undefined;
    } catch {
      deviceId = undefined;
    }
    return {
      code: code === 'INVALID_RECORD' ? 'RATER_REJECTED' : code,
      reason: `rater: ${reason}`,
      ...(deviceId ? { deviceId } : {}),
      receivedMs: Date.now(),
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
