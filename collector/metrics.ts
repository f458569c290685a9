// The collector's Prometheus metrics, on a registry of its own (no module-global default
// registry, so several collectors can live in one process, as in tests and the demo).
import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OutboxGaugeSource {
  stats(): {
    records: number;
    bytes: number;
    maxBytes: number;
    deadLetters: number;
    quarantined?: number;
  };
  /** The oldest unsent record and its receive time (collector/buffer/outbox.ts). */
  oldest(): Promise<{ receivedMs?: number } | undefined>;
}

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly recordsReceived: Counter;
  readonly recordsAccepted: Counter;
  readonly recordsRejected: Counter<'code'>;
  readonly publishesRefused: Counter<'code'>;
  readonly authFailures: Counter<'reason'>;
  readonly subscribesRefused: Counter;
  readonly recordsDropped: Counter<'reason'>;
  readonly recordsClockSkewed: Counter<'direction'>;
  readonly batchesSent: Counter;
  readonly batchRetries: Counter;
  readonly batchErrors: Counter<'code'>;
  readonly recordsForwarded: Counter<'result'>;
  readonly batchLatency: Histogram;
  readonly quotaUpdates: Counter;
  readonly quotaMessages: Counter<'kind' | 'source'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.recordsReceived = new Counter({
      name: 'edgemeter_collector_records_received_total',
      help: 'Usage reports received from devices',
      registers,
    });
    this.recordsAccepted = new Counter({
      name: 'edgemeter_collector_records_accepted_total',
      help: 'Reports made durable in the outbox',
      registers,
    });
    this.recordsRejected = new Counter({
      name: 'edgemeter_collector_records_rejected_total',
      help: 'Reports dead-lettered, by reason code',
      labelNames: ['code'],
      registers,
    });
    this.recordsClockSkewed = new Counter({
      name: 'edgemeter_collector_records_clock_skewed_total',
      help: 'Reports accepted with ts beyond clockSkewToleranceMs of the receive time, by direction',
      labelNames: ['direction'],
      registers,
    });
    this.publishesRefused = new Counter({
      name: 'edgemeter_collector_publishes_refused_total',
      help: 'Publishes refused without PUBACK, by reason code',
      labelNames: ['code'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'edgemeter_collector_auth_failures_total',
      help: 'MQTT connections refused by device authentication, by reason (unknown_device, bad_secret, no_credentials, bad_certificate, name_mismatch)',
      labelNames: ['reason'],
      registers,
    });
    this.subscribesRefused = new Counter({
      name: 'edgemeter_collector_subscribes_refused_total',
      help: 'MQTT subscriptions refused because the topic is not the device’s own',
      registers,
    });
    this.recordsDropped = new Counter({
      name: 'edgemeter_collector_records_dropped_total',
      help: 'Acknowledged records deleted from the outbox without reaching the rater, by reason (buffer_full: bufferFullPolicy drop-oldest)',
      labelNames: ['reason'],
      registers,
    });
    this.recordsDropped.inc({ reason: 'buffer_full' }, 0); // exported as 0 from the start
    this.batchesSent = new Counter({
      name: 'edgemeter_collector_forward_batches_total',
      help: 'Batches acknowledged by the rater',
      registers,
    });
    this.batchRetries = new Counter({
      name: 'edgemeter_collector_forward_retries_total',
      help: 'Batch sends retried after a failure',
      registers,
    });
    this.batchErrors = new Counter({
      name: 'edgemeter_collector_forward_errors_total',
      help: 'Failed batch sends, by gRPC status',
      labelNames: ['code'],
      registers,
    });
    this.recordsForwarded = new Counter({
      name: 'edgemeter_collector_forwarded_records_total',
      help: 'Forwarded records by rater verdict',
      labelNames: ['result'],
      registers,
    });
    this.batchLatency = new Histogram({
      name: 'edgemeter_collector_forward_batch_seconds',
      help: 'Round trip of one acknowledged batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.quotaUpdates = new Counter({
      name: 'edgemeter_collector_quota_updates_total',
      help: 'Quota decisions received from the rater (QuotaService.Watch) and stored',
      registers,
    });
    this.quotaMessages = new Counter({
      name: 'edgemeter_collector_quota_messages_total',
      help: 'Quota messages published: kind state (retained quota/{id}) or notice, by who decided',
      labelNames: ['kind', 'source'],
      registers,
    });
    if (opts.processMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'edgemeter_collector_' });
  }

  /** Whether the quota stream is up, read from the Watch client when scraped. */
  watchQuota(watch: { connected: boolean }): void {
    new Gauge({
      name: 'edgemeter_collector_quota_watch_connected',
      help: '1 while the quota stream from the rater is open; 0 means enforcing offline',
      registers: [this.registry],
      collect() {
        this.set(watch.connected ? 1 : 0);
      },
    });
  }

  /**
   * Outbox depth is read from the outbox when scraped rather than tracked twice; the age of the
   * oldest record (one LevelDB point read) and the free disk space (one statfs) likewise.
   */
  watchOutbox(outbox: OutboxGaugeSource, dir: string, now: () => number = Date.now): void {
    const registers = [this.registry];
    new Gauge({
      name: 'edgemeter_collector_outbox_max_bytes',
      help: 'The outbox cap (bufferMaxBytes); outbox_bytes / outbox_max_bytes is how full it is',
      registers,
      collect() {
        this.set(outbox.stats().maxBytes);
      },
    });
    new Gauge({
      name: 'edgemeter_collector_outbox_oldest_age_seconds',
      help: 'Age of the oldest record not yet acknowledged by the rater (receive time to now); 0 when the outbox is empty',
      registers,
      async collect() {
        const oldest = await outbox.oldest().catch(() => undefined);
        const ms = oldest?.receivedMs;
        this.set(ms === undefined ? 0 : Math.max(0, now() - ms) / 1000);
      },
    });
    new Gauge({
      name: 'edgemeter_collector_disk_free_bytes',
      help: 'Free bytes (for unprivileged users) on the file system of bufferDir; not exported when it cannot be read',
      registers,
      async collect() {
        this.reset();
        const s = await statfs(dir).catch(() => undefined);
        if (s) this.set(Number(s.bavail) * Number(s.bsize));
      },
    });
    new Gauge({
      name: 'edgemeter_collector_outbox_records',
      help: 'Records waiting in the outbox',
      registers,
      collect() {
        this.set(outbox.stats().records);
      },
    });
    new Gauge({
      name: 'edgemeter_collector_outbox_bytes',
      help: 'Bytes waiting in the outbox',
      registers,
      collect() {
        this.set(outbox.stats().bytes);
      },
    });
    new Gauge({
      name: 'edgemeter_collector_dead_letters',
      help: 'Entries in the dead-letter store',
      registers,
      collect() {
        this.set(outbox.stats().deadLetters);
      },
    });
    new Gauge({
      name: 'edgemeter_collector_quarantined',
      help: 'Damaged outbox entries in the quarantine (failed their checksum; not forwarded)',
      registers,
      collect() {
        this.set(outbox.stats().quarantined ?? 0);
      },
    });
  }
}
