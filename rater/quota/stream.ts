// QuotaService.Watch: collectors follow the quota change log. A new collector (after_seq 0) gets
// each device's latest status first, then the tail; a returning one gets everything after the
// seq it stored, then the tail. The tail polls the log (other replicas append too) and wakes at
// once when this process appends. Writes respect HTTP/2 flow control: a slow collector makes
// this loop wait, it never makes the rater buffer the log in memory.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { commonName } from '../../common/tls.ts';
import {
  QUOTA_WATCH_PATH,
  QuotaUpdate,
  WatchQuotaRequest,
  type QuotaUpdateMsg,
  type WatchQuotaRequestMsg,
} from '../../proto/index.ts';
import { RaterError, isInternal, toGrpcError } from '../errors.ts';
import type { QuotaChange, QuotaLog } from './log.ts';

type Decoded = { ok: true; msg: WatchQuotaRequestMsg } | { ok: false; error: string };
type Call = grpc.ServerWritableStream<Decoded, QuotaUpdateMsg>;

export const quotaServiceDefinition = {
  watch: {
    path: QUOTA_WATCH_PATH,
    requestStream: false,
    responseStream: true,
    requestDeserialize: (b: Buffer): Decoded => {
      try {
        return { ok: true, msg: WatchQuotaRequest.decode(b) };
      } catch (err) {
        return { ok: false, error: errorMessage(err) };
      }
    },
    requestSerialize: (m: Decoded) =>
      m.ok ? Buffer.from(WatchQuotaRequest.encode(m.msg).finish()) : Buffer.alloc(0),
    responseSerialize: (m: QuotaUpdateMsg) => Buffer.from(QuotaUpdate.encode(m).finish()),
    responseDeserialize: (b: Buffer) => QuotaUpdate.decode(b),
  },
} satisfies grpc.ServiceDefinition;

export interface QuotaStreamOptions {
  /** How often an idle stream looks for changes appended by other replicas, in ms. */
  pollMs: number;
  /** Rows read per query (snapshot pages and tail reads). */
  pageSize?: number;
  /** Mutual TLS: collector_id must be the CN of the client certificate. */
  mutualTls?: boolean;
}

export interface QuotaStreamDeps {
  log: QuotaLog;
  logger: Logger;
  /** Appends made by this process, to wake idle streams at once (SqlQuotaLog.onAppend). */
  onAppend?: (fn: () => void) => () => void;
}

export class QuotaStream {
  private readonly sleepers = new Set<() => void>();
  private readonly calls = new Set<Call>();
  private closed = false;
  private waitingForDrain = 0;
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    private readonly deps: QuotaStreamDeps,
    private readonly opts: QuotaStreamOptions,
  ) {
    this.unsubscribe = deps.onAppend?.(() => this.wake());
  }

  /** The implementation to register on a grpc.Server with quotaServiceDefinition. */
  readonly handlers = {
    watch: (call: Call) => {
      if (this.closed) {
        call.end(); // shutting down: come back later
        return;
      }
      this.calls.add(call);
      void this.serve(call).finally(() => this.calls.delete(call));
    },
  };

  get watching(): number {
    return this.calls.size;
  }

  /** Streams waiting for their collector to read (HTTP/2 flow control). */
  get stalled(): number {
    return this.waitingForDrain;
  }

  /** Wakes every idle stream to read the log now. */
  wake(): void {
    for (const s of [...this.sleepers]) s();
  }

  /** Ends every stream cleanly (status OK); collectors reconnect to another replica or later. */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.wake();
    for (const call of this.calls) if (!call.cancelled) call.end();
  }

  private async serve(call: Call): Promise<void> {
    const { logger } = this.deps;
    let collectorId: string | undefined;
    try {
      const req = this.validate(call);
      collectorId = req.collectorId;
      logger.info({ collectorId, afterSeq: String(req.after) }, 'quota watch started');
      await this.run(call, req.after);
      // After close() the stream was ended there already.
      if (!call.cancelled && !this.closed) call.end();
    } catch (err) {
      if (call.cancelled || this.closed) return;
      const { code, details } = toGrpcError(err);
      if (isInternal(err)) logger.error({ err: errorMessage(err), collectorId }, 'quota watch');
      else logger.warn({ details, collectorId }, 'quota watch ended with an error');
      call.emit('error', { code, details, name: 'QuotaWatchError', message: details });
    }
  }

  private validate(call: Call): { collectorId: string; after: bigint } {
    const req = call.request;
    if (!req.ok)
      throw new RaterError(
        'INVALID_BATCH',
        `request is not an edgemeter.v1.WatchQuotaRequest: ${req.error}`,
      );
    const collectorId = req.msg.collectorId ?? '';
    if (collectorId === '') throw new RaterError('BAD_REQUEST', 'collector_id is required');
    const peer = commonNameOf(call);
    if (this.opts.mutualTls && collectorId !== peer)
      throw new RaterError(
        'COLLECTOR_MISMATCH',
        `collector_id "${collectorId}" is not the CN of the client certificate ("${peer ?? ''}")`,
      );
    const raw = req.msg.afterSeq ?? '';
    if (raw !== '' && !/^\d{1,19}$/.test(raw))
      throw new RaterError('BAD_REQUEST', `after_seq must be a decimal seq, not "${raw}"`);
    return { collectorId, after: BigInt(raw === '' ? '0' : raw) };
  }

  private async run(call: Call, after: bigint): Promise<void> {
    const { log } = this.deps;
    const page = this.opts.pageSize ?? 500;
    let cursor = after;
    const head = await log.head();
    // A seq beyond the head means the log was replaced (a new database): start over.
    if (cursor === 0n || cursor > head) {
      cursor = head;
      let afterDevice: string | undefined;
      for (;;) {
        const rows = await log.latest(afterDevice, page);
        for (const c of rows) if (!(await this.send(call, c))) return;
        if (rows.length < page) break;
        afterDevice = rows[rows.length - 1]?.deviceId;
      }
    }
    while (!this.closed && !call.cancelled) {
      const rows = await log.after(cursor, page);
      for (const c of rows) {
        if (!(await this.send(call, c))) return;
        cursor = c.seq;
      }
      if (rows.length < page) await this.sleep(call);
    }
  }

  /** Writes one update; waits for 'drain' when the stream's buffer is full. False: stop. */
  private async send(call: Call, c: QuotaChange): Promise<boolean> {
    if (this.closed || call.cancelled) return false;
    const ok = call.write({
      seq: c.seq.toString(),
      deviceId: c.deviceId,
      statusJson: JSON.stringify(c.status),
    });
    if (!ok) {
      const ac = new AbortController();
      this.waitingForDrain++;
      await Promise.race([
        once(call, 'drain', { signal: ac.signal }),
        once(call, 'cancelled', { signal: ac.signal }),
        once(call, 'close', { signal: ac.signal }),
      ]).catch(() => {});
      this.waitingForDrain--;
      ac.abort();
    }
    return !this.closed && !call.cancelled;
  }

  /** Until pollMs passes, this process appends, the call is cancelled, or the stream closes. */
  private sleep(call: Call): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        call.off('cancelled', done);
        resolve();
      };
      const timer = setTimeout(done, this.opts.pollMs);
      this.sleepers.add(done);
      call.once('cancelled', done);
    });
  }
}

function commonNameOf(call: Call): string | undefined {
  return commonName(call.getAuthContext().sslPeerCertificate?.subject);
}
