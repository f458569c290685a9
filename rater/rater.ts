// Wires the rater: store → ingest service → gRPC server, and the HTTP API. Building it does no
// I/O; `start()` opens the database, migrates, and listens; `close()` undoes it in reverse.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { isLoopback, splitHostPort } from '../common/net.ts';
import type { RaterConfig } from './config.ts';
import type { AuditLog } from './api/audit.ts';
import { KeyRing } from './api/keys.ts';
import { buildApi } from './api/server.ts';
import { IngestServer } from './ingest/server.ts';
import { IngestService } from './ingest/service.ts';
import { ingestExposure } from './ingest/tls.ts';
import { RaterMetrics } from './metrics.ts';
import { SqlAuditLog } from './storage/audit.ts';
import type { QuotaLog } from './quota/log.ts';
import { QuotaStream, quotaServiceDefinition } from './quota/stream.ts';
import { SqlQuotaLog } from './storage/quota-log.ts';
import type { CatalogStore } from './storage/catalog.ts';
import { SqlCatalogStore } from './storage/catalog-store.ts';
import { SqlInvoiceStore, type InvoiceStore } from './storage/invoice-store.ts';
import { openStore } from './storage/open.ts';
import { RetentionJob } from './storage/retention.ts';
import { InvoiceService } from './api/invoice-service.ts';
import { BillAlerts } from './quota/bill-alerts.ts';
import { WebhookDispatcher } from './quota/dispatcher.ts';
import { notifyingCatalog } from './quota/rules.ts';
import { QuotaTracker } from './quota/tracker.ts';
import { periodAt } from './rating/period.ts';
import { SqlAlertStore } from './storage/alert-store.ts';
import type { UsageStore } from './storage/store.ts';
import { SqlUsageStore } from './storage/usage-store.ts';

export interface RaterDeps {
  logger: Logger;
  /** A store to use instead of opening `config.db` (tests, the demo). */
  store?: UsageStore;
  /**
   * The billing catalog. Default: SqlCatalogStore over the usage store's connection (a store
   * passed in that is not an SqlUsageStore needs its catalog passed too).
   */
  catalog?: CatalogStore;
  /** Issued invoices. Default: SqlInvoiceStore over the usage store's connection. */
  invoices?: InvoiceStore;
  /** The audit log. Default: SqlAuditLog over the usage store's connection. */
  audit?: AuditLog;
  /** The quota change log. Default: SqlQuotaLog over the usage store's connection. */
  quotaLog?: QuotaLog;
  /** "Now" for the HTTP API (open periods, default effective times). Default Date.now. */
  clock?: () => number;
  processMetrics?: boolean;
  /**
   * The rater cannot go on: the embedded database's thread stopped (logged at fatal first).
   * The CLI exits non-zero so that a supervisor restarts it; collectors keep their batches
   * meanwhile. Default: nothing more (every call then fails as DB_UNAVAILABLE, /readyz 503).
   */
  onFatal?: (err: Error) => void;
}

export class Rater {
  readonly metrics: RaterMetrics;
  private store: UsageStore | undefined;
  private grpc: IngestServer | undefined;
  private http: FastifyInstance | undefined;
  private retention: RetentionJob | undefined;
  private quotas: QuotaLog | undefined;
  private quotaStream: QuotaStream | undefined;
  /** Quota tracking and alerts: present when the store is an SqlUsageStore. */
  quotaTracker: QuotaTracker | undefined;
  webhookDispatcher: WebhookDispatcher | undefined;
  billAlerts: BillAlerts | undefined;
  grpcPort = 0;
  httpPort = 0;
  /** The address the HTTP API listens on (127.0.0.1 when keys are missing; see httpAddress). */
  httpHost = '';

  constructor(
    private readonly config: RaterConfig,
    private readonly deps: RaterDeps,
  ) {
    this.metrics = new RaterMetrics({ processMetrics: deps.processMetrics ?? false });
  }

  async start(): Promise<this> {
    const { logger } = this.deps;
    // TLS material first: a bad path fails the start before the database is opened.
    const exposure = ingestExposure(this.config, logger);
    const store =
      this.deps.store ??
      (await openStore(this.config.db, {
        logger,
        poolSize: this.config.dbPoolSize,
        embeddedThread: this.config.embeddedThread,
        onDatabaseLost: (err) => {
          logger.fatal(
            { err: err.message },
            'the embedded database stopped: nothing can be stored or rated until the rater restarts',
          );
          this.deps.onFatal?.(err);
        },
      }));
    this.store = store;
    this.metrics.watchDatabase(store.capabilities, () =>
      store instanceof SqlUsageStore ? store.sql.poolState?.() : undefined,
    );
    await store.migrate();
    logger.info(
      { driver: store.capabilities.driver, timescale: store.capabilities.timescale },
      'database ready',
    );

    const catalog = this.catalogFor(store);
    const quotas = this.quotasFor(store, catalog);
    const service = new IngestService({
      store,
      metrics: this.metrics,
      logger,
      maxBatchRecords: this.config.maxBatchRecords,
      ...(quotas ? { onCommitted: quotas.tracker.onCommitted } : {}),
    });
    this.grpc = new IngestServer(service, logger, {
      mutualTls: exposure.mutual,
      metrics: this.metrics,
    });
    const quotaLog = this.quotaLogFor(store);
    this.quotas = quotaLog;
    this.quotaStream = new QuotaStream(
      {
        log: quotaLog,
        logger,
        ...(quotaLog instanceof SqlQuotaLog ? { onAppend: (fn) => quotaLog.onAppend(fn) } : {}),
      },
      { pollMs: this.config.quotaPollMs, mutualTls: exposure.mutual },
    );
    this.grpc.addService(quotaServiceDefinition, this.quotaStream.handlers);
    this.metrics.watchQuotaStreams(this.quotaStream);
    this.grpcPort = await this.grpc.listen(exposure.address, exposure.credentials);
    logger.info(
      { address: exposure.address, port: this.grpcPort, mutualTls: exposure.mutual },
      'gRPC ingest listening',
    );

    const keys = new KeyRing(this.config.apiKeys);
    this.http = buildApi({
      store,
      catalog: quotas
        ? notifyingCatalog(catalog, () => quotas.tracker.rules.invalidate())
        : catalog,
      invoices: this.invoicesFor(store),
      ...(quotas ? { quotas } : {}),
      audit: this.auditFor(store),
      metrics: this.metrics,
      logger,
      keys,
      bodyLimit: this.config.httpBodyLimit,
      rateLimit: { max: this.config.httpRateLimit, windowMs: this.config.httpRateLimitWindowMs },
      ...(this.deps.clock ? { now: this.deps.clock } : {}),
    });
    const { host, port } = this.httpAddress(keys.size);
    await this.http.listen({ host, port });
    this.httpHost = host;
    this.httpPort = (this.http.server.address() as { port: number }).port;
    logger.info({ host, port: this.httpPort, apiKeys: keys.size }, 'HTTP API listening');

    this.quotaTracker?.start();
    this.webhookDispatcher?.start();
    this.billAlerts?.start();

    if (this.config.retentionDays > 0) {
      if (!(store instanceof SqlUsageStore))
        throw new Error('retentionDays needs an SqlUsageStore (a store passed in has its own)');
      this.retention = new RetentionJob(store.sql, { days: this.config.retentionDays, logger });
      this.retention.start();
    }
    return this;
  }

  /**
   * Without API keys anyone who reaches the API is admin: then it listens on loopback only,
   * unless httpAllowUnauthenticated says otherwise. Either way the log says so, loudly.
   */
  private httpAddress(keyCount: number): { host: string; port: number } {
    const { logger } = this.deps;
    const { host, port } = splitHostPort(this.config.httpListen);
    if (keyCount > 0) return { host, port };
    if (isLoopback(host)) {
      logger.warn(
        { host },
        'HTTP API without API keys: every local client has the admin role (set EDGEMETER_API_KEYS)',
      );
      return { host, port };
    }
    if (this.config.httpAllowUnauthenticated) {
      logger.warn(
        { host },
        'HTTP API WITHOUT AUTHENTICATION on a non-loopback address (httpAllowUnauthenticated): anyone who reaches it can change plans, accounts and devices',
      );
      return { host, port };
    }
    logger.warn(
      { configured: host, host: '127.0.0.1' },
      'no API keys configured: the HTTP API listens on 127.0.0.1 only, not on the configured address (set EDGEMETER_API_KEYS, or EDGEMETER_HTTP_ALLOW_UNAUTHENTICATED=1 to serve it unauthenticated)',
    );
    return { host: '127.0.0.1', port };
  }

  /** The catalog shares the usage store's connection pool (one PGlite per directory anyway). */
  private catalogFor(store: UsageStore): CatalogStore {
    if (this.deps.catalog) return this.deps.catalog;
    if (store instanceof SqlUsageStore)
      return new SqlCatalogStore(store.sql, { readers: this.config.ratingReaders });
    throw new Error('a usage store that is not an SqlUsageStore needs deps.catalog');
  }

  /**
   * Quota tracking, projected-bill alerts and the webhook dispatcher (rater/quota): they read
   * rollups and write their own tables in SQL, so they need an SqlUsageStore.
   */
  private quotasFor(store: UsageStore, catalog: CatalogStore) {
    if (!(store instanceof SqlUsageStore)) {
      this.deps.logger.warn({}, 'quotas and alerts are off: the store is not an SqlUsageStore');
      return undefined;
    }
    const c = this.config;
    const { logger } = this.deps;
    const now = this.deps.clock ?? Date.now;
    const alerts = new SqlAlertStore(store.sql);
    const dispatcher = new WebhookDispatcher(alerts, logger, {
      intervalMs: c.webhookIntervalMs,
      timeoutMs: c.webhookTimeoutMs,
      retryBaseMs: c.webhookRetryBaseMs,
      retryMaxMs: c.webhookRetryMaxMs,
      maxAttempts: c.webhookMaxAttempts,
    });
    const tracker = new QuotaTracker(
      {
        sql: store.sql,
        catalog,
        logger,
        now,
        onAlerts: () => dispatcher.poke(),
        // The Watch streams exist by the time the tracker's first tick appends.
        onAppended: () => this.quotaStream?.wake(),
      },
      {
        evalIntervalMs: c.quotaEvalIntervalMs,
        sweepIntervalMs: c.quotaSweepIntervalMs,
        rulesTtlMs: c.quotaRulesTtlMs,
      },
    );
    const invoices = new InvoiceService(catalog, this.invoicesFor(store));
    this.billAlerts = new BillAlerts(
      {
        sql: store.sql,
        rules: tracker.rules,
        logger,
        now,
        accounts: () => tracker.takeUsageAccounts(),
        onAlerts: () => dispatcher.poke(),
        project: async (accountId, nowMs) => {
          const account = await catalog.getAccount(accountId, nowMs);
          if (!account) throw new Error(`unknown account ${accountId}`);
          const period = periodAt(nowMs, account.timeZone);
          const inv = await invoices.invoice(account, period, nowMs);
          const total = inv.projected_total ?? inv.total;
          return { period, currency: inv.currency, total: inv.total, projected: total };
        },
      },
      c.billAlertIntervalMs,
    );
    this.quotaTracker = tracker;
    this.webhookDispatcher = dispatcher;
    return { tracker, alerts };
  }

  /** Issued invoices live in the same database, over the same connection. */
  private invoicesFor(store: UsageStore): InvoiceStore {
    if (this.deps.invoices) return this.deps.invoices;
    if (store instanceof SqlUsageStore) return new SqlInvoiceStore(store.sql);
    throw new Error('a usage store that is not an SqlUsageStore needs deps.invoices');
  }

  /** The audit log lives in the same database too. */
  private auditFor(store: UsageStore): AuditLog {
    if (this.deps.audit) return this.deps.audit;
    if (store instanceof SqlUsageStore) return new SqlAuditLog(store.sql);
    throw new Error('a usage store that is not an SqlUsageStore needs deps.audit');
  }

  /** The quota change log collectors stream from (the quota tracker appends to it). */
  private quotaLogFor(store: UsageStore): QuotaLog {
    if (this.deps.quotaLog) return this.deps.quotaLog;
    if (store instanceof SqlUsageStore) return new SqlQuotaLog(store.sql);
    throw new Error('a usage store that is not an SqlUsageStore needs deps.quotaLog');
  }

  get quotaLog(): QuotaLog {
    if (!this.quotas) throw new Error('rater not started');
    return this.quotas;
  }

  get usageStore(): UsageStore {
    if (!this.store) throw new Error('rater not started');
    return this.store;
  }

  async close(): Promise<void> {
    await this.retention?.stop();
    // Watch streams never end on their own; end them so the gRPC shutdown need not wait.
    this.quotaStream?.close();
    await this.grpc?.close();
    await this.http?.close();
    // After ingest stopped: the last batches' devices are evaluated before the database closes.
    await this.billAlerts?.stop();
    await this.quotaTracker?.stop();
    await this.webhookDispatcher?.stop();
    // A store passed in belongs to the caller.
    if (!this.deps.store) await this.store?.close();
  }
}
