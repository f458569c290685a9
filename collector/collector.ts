// Wires a collector: MQTT (embedded broker or bridge) → intake → durable outbox → forwarder →
// rater. Building it does no I/O; `start()` opens the outbox and listens; `close()` stops in
// reverse order so that nothing accepted is left half-written.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { splitHostPort } from '../common/net.ts';
import type { CollectorConfig } from './config.ts';
import { Outbox, type OutboxStats } from './buffer/outbox.ts';
import { RaterClient } from './forward/client.ts';
import { Forwarder, type BatchSender } from './forward/forwarder.ts';
import { buildCollectorHttp } from './http/server.ts';
import { CollectorMetrics } from './metrics.ts';
import { Bridge } from './mqtt/bridge.ts';
import { DeviceAuth } from './auth/device-auth.ts';
import { EmbeddedBroker, type TlsListenerOptions } from './mqtt/broker.ts';
import { raterChannelOptions, raterCredentials } from './forward/tls.ts';
import { mqttTlsMaterial } from './mqtt/tls.ts';
import { Intake } from './mqtt/intake.ts';
import { QuotaKeeper, type QuotaPublisher } from './quota/keeper.ts';
import { QuotaStore } from './quota/store.ts';
import { QuotaWatch } from './quota/watch.ts';
import path from 'node:path';
import { IdleGc, fullGc, mallocTrim } from './memory.ts';

export interface CollectorDeps {
  logger: Logger;
  processMetrics?: boolean;
  /** Replaces the gRPC client (tests). */
  sender?: BatchSender;
  /** Called before each durable outbox write; throwing fails that write (fault tests). */
  beforeWrite?: (kind: 'commit' | 'ack') => void | Promise<void>;
  /** Replaces V8's full collection run when idle (tests count the runs). */
  gc?: () => void;
}

export class Collector {
  readonly metrics: CollectorMetrics;
  private outbox: Outbox | undefined;
  private forwarder: Forwarder | undefined;
  private client: RaterClient | undefined;
  private broker: EmbeddedBroker | undefined;
  private bridge: Bridge | undefined;
  private http: FastifyInstance | undefined;
  private quotaStore: QuotaStore | undefined;
  private quotaWatch: QuotaWatch | undefined;
  /** Quota enforcement (docs/quotas.md); undefined with quotaWatch off. */
  quota: QuotaKeeper | undefined;
  private idleGc: IdleGc | undefined;
  mqttPort = 0;
  mqttTlsPort = 0;
  httpPort = 0;

  constructor(
    readonly config: CollectorConfig,
    private readonly deps: CollectorDeps,
  ) {
    this.metrics = new CollectorMetrics({ processMetrics: deps.processMetrics ?? false });
  }

  async start(): Promise<this> {
    const { config } = this;
    const { logger } = this.deps;
    // Key material first: a bad path fails the start before anything is opened.
    const credentials = raterCredentials(config);
    const channelOptions = raterChannelOptions(config);
    const mqttTls =
      config.mqttTlsListen !== undefined && !config.mqttUpstream
        ? mqttTlsMaterial(config)
        : undefined;
    const outbox = new Outbox({
      dir: config.bufferDir,
      maxBytes: config.bufferMaxBytes,
      fullPolicy: config.bufferFullPolicy,
      minFreeBytes: config.bufferMinFreeBytes,
      onDrop: (d) => this.metrics.recordsDropped.inc({ reason: 'buffer_full' }, d.records),
      logger,
      ...(this.deps.beforeWrite ? { beforeWrite: this.deps.beforeWrite } : {}),
    });
    await outbox.open();
    this.outbox = outbox;
    this.metrics.watchOutbox(outbox, config.bufferDir);
    if (config.gcWhenIdleMs > 0) {
      const trim = this.deps.gc ? undefined : mallocTrim();
      if (!this.deps.gc)
        logger.info(
          { mallocTrim: trim !== undefined },
          trim
            ? 'idle collections give freed malloc memory back (native/malloc-trim)'
            : 'native/malloc-trim not built: idle collections cannot give freed malloc memory back',
        );
      const idleGc = new IdleGc({
        idleMs: config.gcWhenIdleMs,
        gc: this.deps.gc ?? fullGc(),
        trim,
      });
      outbox.onAppend(() => idleGc.noteBusy());
      // Opening scanned every buffered entry (and start-up loaded every module): with a backlog
      // of 1 M records that left ~30 MB of garbage that nothing would collect while the rater
      // stays down (measured 150 MB RSS after a restart, against 93 MB idle).
      idleGc.noteBusy();
      this.idleGc = idleGc;
    }
    const backlog = outbox.stats();
    logger.info(
      { dir: config.bufferDir, records: backlog.records, bytes: backlog.bytes },
      'outbox open',
    );

    // Forwarding starts before devices are let in, so a backlog from a previous run drains first.
    if (!this.deps.sender) this.client = new RaterClient(config.rater, credentials, channelOptions);
    const sender = this.deps.sender ?? (this.client as RaterClient);
    this.forwarder = new Forwarder(
      {
        collectorId: config.collectorId,
        maxRecords: config.batchMaxRecords,
        maxBytes: config.batchMaxBytes,
        lingerMs: config.batchLingerMs,
        maxInFlight: config.forwardMaxInFlight,
        deadlineMs: config.forwardDeadlineMs,
        retryInitialMs: config.retryInitialMs,
        retryMaxMs: config.retryMaxMs,
      },
      {
        source: outbox,
        sender,
        logger,
        metrics: this.metrics,
        onSettled: () => this.idleGc?.noteBusy(),
      },
    );
    this.forwarder.start();

    // Quota state before devices are let in, so no accepted record escapes the local count.
    let publisher: QuotaPublisher | undefined;
    if (config.quotaWatch) {
      const store = new QuotaStore(path.join(config.bufferDir, 'quota'));
      await store.open();
      this.quotaStore = store;
      this.quota = new QuotaKeeper({
        store,
        logger,
        metrics: this.metrics,
        publisher: { publish: (t, p, o) => publisher?.publish(t, p, o) },
      });
    }
    const quota = this.quota;

    const intake = new Intake({
      ...(quota ? { onAccepted: (records) => quota.accepted(records) } : {}),
      sink: outbox,
      limits: {
        maxPayloadBytes: config.maxPayloadBytes,
        maxRecordsPerPayload: config.maxRecordsPerPayload,
      },
      clockSkew: {
        toleranceMs: config.clockSkewToleranceMs,
        maxFutureMs: config.maxFutureSkewMs,
      },
      metrics: this.metrics,
      logger,
    });
    const answerRejected = config.answerRejected;
    if (config.mqttUpstream) {
      if (config.deviceCredentials !== undefined || config.mqttTlsListen !== undefined)
        logger.warn(
          'bridge mode: deviceCredentials and mqttTls* are ignored; the upstream broker ' +
            'authenticates devices and must restrict each to usage/{its id} (docs/security.md)',
        );
      this.bridge = new Bridge(
        {
          url: config.mqttUpstream,
          clientId: config.mqttUpstreamClientId ?? `edgemeter-${config.collectorId}`,
          ...optional('username', config.mqttUpstreamUsername),
          ...optional('password', config.mqttUpstreamPassword),
        },
        { intake, logger, answerRejected },
      );
      await this.bridge.start();
      publisher = this.bridge;
    } else {
      await this.startBroker(intake, mqttTls);
      publisher = this.broker;
    }
    if (quota && this.quotaStore) {
      // An embedded broker forgets retained messages on restart: publish them again.
      await quota.restore();
      const store = this.quotaStore;
      this.quotaWatch = new QuotaWatch(
        {
          address: config.rater,
          collectorId: config.collectorId,
          credentials,
          channelOptions: raterChannelOptions(config),
          retryInitialMs: config.retryInitialMs,
          retryMaxMs: config.retryMaxMs,
        },
        { lastSeq: () => store.lastSeq, apply: (seq, s) => quota.applyRater(seq, s), logger },
      );
      this.metrics.watchQuota(this.quotaWatch);
      this.quotaWatch.start();
    }

    this.http = buildCollectorHttp(this, this.metrics, this.quota);
    const { host, port } = splitHostPort(config.httpListen);
    await this.http.listen({ host, port });
    this.httpPort = (this.http.server.address() as { port: number }).port;
    logger.info(
      { collectorId: config.collectorId, mode: this.mode, rater: config.rater },
      'collector started',
    );
    return this;
  }

  /** The embedded broker: device authentication, then the plain and TLS listeners. */
  private async startBroker(intake: Intake, tls: TlsListenerOptions | undefined): Promise<void> {
    const { config } = this;
    const { logger } = this.deps;
    const auth = new DeviceAuth(
      {
        ...optional('credentialsFile', config.deviceCredentials),
        clientCertificates: config.mqttTlsListen !== undefined && config.mqttTlsCa !== undefined,
      },
      logger,
    );
    await auth.start();
    if (!auth.enabled)
      logger.warn(
        'DEVICES ARE NOT AUTHENTICATED: no deviceCredentials file and no mqttTlsCa, so any MQTT ' +
          'client can publish usage for any device id. Fine in a lab; see docs/security.md.',
      );
    const broker = new EmbeddedBroker({
      intake,
      logger,
      answerRejected: config.answerRejected,
      auth,
      metrics: this.metrics,
    });
    this.broker = broker;
    if (config.mqttListen !== 'off') {
      const { host, port } = splitHostPort(config.mqttListen);
      this.mqttPort = (await broker.listen(host, port)).port;
    }
    if (config.mqttTlsListen !== undefined && tls !== undefined) {
      const { host, port } = splitHostPort(config.mqttTlsListen);
      this.mqttTlsPort = (await broker.listenTls(host, port, tls)).port;
    }
  }

  get mode(): 'embedded' | 'bridge' {
    return this.config.mqttUpstream ? 'bridge' : 'embedded';
  }

  outboxStats(): Pick<
    OutboxStats,
    'records' | 'bytes' | 'deadLetters' | 'quarantined' | 'dropped'
  > &
    Partial<OutboxStats> {
    if (!this.outbox) return { records: 0, bytes: 0, deadLetters: 0, quarantined: 0, dropped: 0 };
    return this.outbox.stats();
  }

  get deadLetters(): Outbox['deadLetters'] {
    if (!this.outbox) throw new Error('collector not started');
    return this.outbox.deadLetters;
  }

  listDeadLetters(limit: number, afterSeq?: bigint) {
    return this.deadLetters.list({ limit, ...(afterSeq === undefined ? {} : { afterSeq }) });
  }

  /** Damaged outbox entries (failed their checksum), oldest first. */
  listQuarantine(limit: number, afterSeq?: bigint) {
    if (!this.outbox) throw new Error('collector not started');
    return this.outbox.quarantine.list({ limit, ...(afterSeq === undefined ? {} : { afterSeq }) });
  }

  readiness() {
    const s = this.outboxStats();
    const { bufferMaxBytes: maxBytes, bufferFullPolicy: fullPolicy } = this.config;
    // Nearly full: a payload of the largest accepted size might no longer fit under the cap.
    const full = s.bytes + this.config.maxPayloadBytes > maxBytes;
    const outbox = {
      records: s.records,
      bytes: s.bytes,
      maxBytes,
      fullPolicy,
      full,
      dropped: s.dropped,
      quarantined: s.quarantined,
      ...(s.diskFree === undefined ? {} : { diskFree: s.diskFree }),
    };
    const notReady = (reason: string) => ({ ready: false, reason, outbox, mode: this.mode });
    if (!this.outbox || s.state !== 'open') {
      if (s.state === 'recovering')
        return notReady(
          `outbox is being reopened after a failed disk write (${s.lastStoreError ?? 'unknown'}): publishes are refused`,
        );
      return notReady('outbox not open');
    }
    if (s.diskLow)
      return notReady(
        `disk nearly full: ${s.diskFree ?? '?'} bytes free, ${s.minFreeBytes ?? '?'} kept in reserve: publishes are refused`,
      );
    // With refuse, publishes are (or are about to be) refused with BUFFER_FULL from here on.
    // With drop-oldest they are still accepted, and `outbox.full` and `dropped` tell.
    if (full && fullPolicy === 'refuse')
      return notReady('outbox (nearly) full: publishes are refused');
    return { ready: true, outbox, mode: this.mode };
  }

  /** Resolves when the outbox is empty, or rejects after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.outboxStats().records > 0) {
      if (Date.now() > until)
        throw new Error(
          `outbox still holds ${this.outboxStats().records} records after ${timeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    // Stop taking new messages first, then stop forwarding, then close the disk.
    await this.quotaWatch?.stop();
    await this.broker?.close();
    await this.bridge?.close();
    await this.quota?.settled();
    await this.quotaStore?.close();
    await this.http?.close();
    await this.forwarder?.stop();
    this.client?.close();
    await this.outbox?.close();
    this.idleGc?.stop();
  }
}

function optional<K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}
