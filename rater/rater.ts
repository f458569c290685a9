// Wires the rater: store → ingest service → gRPC server, and the HTTP API. Building it does no
// I/O; `start()` opens the database, migrates, and listens; `close()` undoes it in reverse.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { splitHostPort } from '../common/net.ts';
import type { RaterConfig } from './config.ts';
import { buildApi } from './api/server.ts';
import { IngestServer } from './ingest/server.ts';
import { IngestService } from './ingest/service.ts';
import { RaterMetrics } from './metrics.ts';
import type { CatalogStore } from './storage/catalog.ts';
import { SqlCatalogStore } from './storage/catalog-store.ts';
import { SqlInvoiceStore, type InvoiceStore } from './storage/invoice-store.ts';
import { openStore } from './storage/open.ts';
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
  /** "Now" for the HTTP API (open periods, default effective times). Default Date.now. */
  clock?: () => number;
  processMetrics?: boolean;
}

export class Rater {
  readonly metrics: RaterMetrics;
  private store: UsageStore | undefined;
  private grpc: IngestServer | undefined;
  private http: FastifyInstance | undefined;
  grpcPort = 0;
  httpPort = 0;

  constructor(
    private readonly config: RaterConfig,
    private readonly deps: RaterDeps,
  ) {
    this.metrics = new RaterMetrics({ processMetrics: deps.processMetrics ?? false });
  }

  async start(): Promise<this> {
    const { logger } = this.deps;
    const store =
      this.deps.store ??
      (await openStore(this.config.db, { logger, poolSize: this.config.dbPoolSize }));
    this.store = store;
    this.metrics.watchDatabase(store.capabilities, () =>
      store instanceof SqlUsageStore ? store.sql.poolState?.() : undefined,
    );
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
    this.grpc = new IngestServer(service, logger, this.metrics);
    this.grpcPort = await this.grpc.listen(this.config.grpcListen);
    logger.info({ address: this.config.grpcListen, port: this.grpcPort }, 'gRPC ingest listening');

    this.http = buildApi({
      store,
      catalog: this.catalogFor(store),
      invoices: this.invoicesFor(store),
      metrics: this.metrics,
      logger,
      ...(this.deps.clock ? { now: this.deps.clock } : {}),
    });
    const { host, port } = splitHostPort(this.config.httpListen);
    await this.http.listen({ host, port });
    this.httpPort = (this.http.server.address() as { port: number }).port;
    logger.info({ host, port: this.httpPort }, 'HTTP API listening');
    return this;
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

  get usageStore(): UsageStore {
    if (!this.store) throw new Error('rater not started');
    return this.store;
  }

  async close(): Promise<void> {
    await this.grpc?.close();
    await this.http?.close();
    // A store passed in belongs to the caller.
    if (!this.deps.store) await this.store?.close();
  }
}
