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
import type { CatalogStore } from './storage/catalog.ts';
import { SqlCatalogStore } from './storage/catalog-store.ts';
import { SqlInvoiceStore, type InvoiceStore } from './storage/invoice-store.ts';
import { openStore } from './storage/open.ts';
import { RetentionJob } from './storage/retention.ts';
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
  /** "Now" for the HTTP API (open periods, default effective times). Default Date.now. */
  clock?: () => number;
  processMetrics?: boolean;
}

export class Rater {
  readonly metrics: RaterMetrics;
  private store: UsageStore | undefined;
  private grpc: IngestServer | undefined;
  private http: FastifyInstance | undefined;
  private retention: RetentionJob | undefined;
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
      (await openStore(this.config.db, { logger, poolSize: this.config.dbPoolSize }));
    this.store = store;
    await store.migrate();
    logger.info(
      { driver: store.capabilities.driver, timescale: store.capabilities.timescale },
      'database ready',
    );

    const service = new IngestService({
      store,
      metrics: this.metrics,
      logger,
      maxBatchRecords: this.config.maxBatchRecords,
    });
    this.grpc = new IngestServer(service, logger, { mutualTls: exposure.mutual });
    this.grpcPort = await this.grpc.listen(exposure.address, exposure.credentials);
    logger.info(
      { address: exposure.address, port: this.grpcPort, mutualTls: exposure.mutual },
      'gRPC ingest listening',
    );

    const keys = new KeyRing(this.config.apiKeys);
    this.http = buildApi({
      store,
      catalog: this.catalogFor(store),
      invoices: this.invoicesFor(store),
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
    if (store instanceof SqlUsageStore) return new SqlCatalogStore(store.sql);
    throw new Error('a usage store that is not an SqlUsageStore needs deps.catalog');
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

  get usageStore(): UsageStore {
    if (!this.store) throw new Error('rater not started');
    return this.store;
  }

  async close(): Promise<void> {
    await this.retention?.stop();
    await this.grpc?.close();
    await this.http?.close();
    // A store passed in belongs to the caller.
    if (!this.deps.store) await this.store?.close();
  }
}
