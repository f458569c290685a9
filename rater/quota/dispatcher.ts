// Delivers alert webhooks from the outbox (storage/alert-store.ts): claims due deliveries,
// POSTs each signed, and records the outcome. 2xx is delivered; anything else (a status, a
// timeout, a refused connection) is retried with exponential backoff and jitter up to a cap,
// and marked failed after the last attempt. At least once: receivers dedupe on
// Edgemeter-Delivery (a claim whose POST outlived its lease may be sent again).
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import type { ClaimedDelivery, SqlAlertStore } from '../storage/alert-store.ts';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.ts';

export interface DispatcherOptions {
  intervalMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  /** Deliveries claimed per round. Default 20. */
  batch?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
}

/** Delay before retry number `attempt` + 1: base × 2^(attempt−1), ±20 % jitter, capped. */
export function retryDelayMs(attempt: number, o: DispatcherOptions): number {
  const raw = o.retryBaseMs * 2 ** Math.min(attempt - 1, 30);
  const jitter = 0.8 + 0.4 * (o.random ?? Math.random)();
  return Math.round(Math.min(o.retryMaxMs, raw * jitter));
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly store: SqlAlertStore,
    private readonly logger: Logger,
    private readonly opts: DispatcherOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** New deliveries were enqueued: run a round soon rather than at the next interval. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), ms);
  }

  private async round(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((err: unknown) =>
        this.logger.warn({ err: errorMessage(err) }, 'webhook round failed'),
      );
    await this.running;
    this.running = undefined;
    if (this.stopped) return;
    const soon = this.again;
    this.again = false;
    this.schedule(soon ? 0 : this.opts.intervalMs);
  }

  /** One round: every due delivery, a batch at a time. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    let n = 0;
    for (;;) {
      const claimed = await this.store.claimDue(this.opts.batch ?? 20, this.opts.timeoutMs * 2);
      if (claimed.length === 0) return n;
      await Promise.all(claimed.map((d) => this.deliver(d)));
      n += claimed.length;
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const result = await this.post(d);
    const ok = result.code !== undefined && result.code >= 200 && result.code < 300;
    const next = ok
      ? ({ status: 'delivered' } as const)
      : d.attempt >= this.opts.maxAttempts
        ? ({ status: 'failed' } as const)
        : ({ status: 'pending', retryInMs: retryDelayMs(d.attempt, this.opts) } as const);
    if (!ok)
      this.logger.warn(
        { delivery: d.id, attempt: d.attempt, ...result, next: next.status },
        'webhook delivery attempt failed',
      );
    await this.store.finish(d, result, next);
  }

  private async post(d: ClaimedDelivery): Promise<{ code?: number; error?: string }> {
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'edgemeter-webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(d.secret, d.body, Math.floor(Date.now() / 1000)),
          [DELIVERY_HEADER]: d.id,
          [EVENT_HEADER]: d.event,
        },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      // The body is not used; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      return { code: res.status };
    } catch (err) {
      const e = err as { name?: string; cause?: unknown };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${this.opts.timeoutMs} ms`
          : errorMessage(e.cause ?? err);
      return { error: why.slice(0, 300) };
    }
  }
}
