// The collector's end of QuotaService.Watch: one server stream to the rater, resumed after any
// disconnect from the last seq the quota store saved, with the forwarder's backoff. Updates are
// applied one at a time (the stream is paused meanwhile), so the saved seq never runs ahead of a
// status that is not yet stored.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import type { DeviceQuotaStatus } from '../../common/quota.ts';
import {
  QUOTA_WATCH_PATH,
  QuotaUpdate,
  WatchQuotaRequest,
  type QuotaUpdateMsg,
} from '../../proto/index.ts';
import { backoffDelay } from '../forward/backoff.ts';

export interface QuotaWatchOptions {
  address: string;
  collectorId: string;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface QuotaWatchDeps {
  /** Where to resume: the seq of the last update applied. */
  lastSeq: () => string;
  apply: (seq: string, status: DeviceQuotaStatus) => Promise<void>;
  logger: Logger;
}

export class QuotaWatch {
  private readonly client: grpc.Client;
  private call: grpc.ClientReadableStream<QuotaUpdateMsg> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private inflight: Promise<void> = Promise.resolve();
  private stopped = false;
  /** True while a stream is open and the rater has answered on it. */
  connected = false;

  constructor(
    private readonly opts: QuotaWatchOptions,
    private readonly deps: QuotaWatchDeps,
  ) {
    this.client = new grpc.Client(
      opts.address,
      opts.credentials ?? grpc.credentials.createInsecure(),
      {
        ...opts.channelOptions,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        // Reconnecting is this class's job, on its own backoff (see collector/forward/client.ts).
        'grpc.enable_retries': 0,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1000,
      },
    );
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  private open(): void {
    if (this.stopped) return;
    const after = this.deps.lastSeq();
    const call = this.client.makeServerStreamRequest(
      QUOTA_WATCH_PATH,
      (m: { collectorId: string; afterSeq: string }) =>
        Buffer.from(WatchQuotaRequest.encode(m).finish()),
      (b: Buffer) => QuotaUpdate.decode(b),
      { collectorId: this.opts.collectorId, afterSeq: after },
    );
    this.call = call;
    let ended = false;
    let chain = Promise.resolve();
    call.on('metadata', () => {
      this.connected = true;
      this.deps.logger.info({ afterSeq: after }, 'quota watch connected');
    });
    call.on('data', (u: QuotaUpdateMsg) => {
      // Backpressure toward the rater: nothing more is read until this update is stored.
      call.pause();
      chain = this.inflight = chain
        .then(() => this.applyUpdate(u))
        .then(
          () => {
            this.attempt = 0;
            if (!ended) call.resume();
          },
          (err: unknown) => {
            this.deps.logger.warn({ err: errorMessage(err) }, 'quota update not applied');
            // Not stored, so not acknowledged by the saved seq: reconnect and get it again.
            call.cancel();
          },
        );
    });
    const retry = (why: string) => {
      if (ended) return;
      ended = true;
      this.connected = false;
      if (this.call === call) this.call = undefined;
      if (this.stopped) return;
      const delay = backoffDelay(this.attempt++, this.opts.retryInitialMs, this.opts.retryMaxMs);
      this.deps.logger.warn({ why, retryInMs: delay }, 'quota watch ended; reconnecting');
      // Updates already received are applied before the stream is reopened after them.
      void chain.finally(() => {
        this.timer = setTimeout(() => this.open(), delay);
      });
    };
    call.on('error', (err: grpc.ServiceError) => retry(err.details || err.message));
    call.on('end', () => retry('stream ended by the rater'));
  }

  private async applyUpdate(u: QuotaUpdateMsg): Promise<void> {
    const seq = u.seq ?? '';
    if (!/^\d{1,19}$/.test(seq)) throw new Error(`quota update with a bad seq "${seq}"`);
    const status = JSON.parse(u.statusJson ?? '') as DeviceQuotaStatus;
    if (status.deviceId !== u.deviceId || !Array.isArray(status.quotas))
      throw new Error(`quota update ${seq} is not a status of device ${u.deviceId ?? ''}`);
    await this.deps.apply(seq, status);
  }

  /** Ends the stream; resolves once the update being applied (if any) is stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.call?.cancel();
    this.client.close();
    await this.inflight.catch(() => {});
  }
}
