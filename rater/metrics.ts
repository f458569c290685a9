// The rater's Prometheus metrics, on a registry of its own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Capabilities, PoolState } from './storage/sql.ts';

/** Every result of edgemeter_rater_records_total, exported as 0 before the first batch. */
const RECORD_RESULTS = ['accepted', 'duplicate', 'conflict', 'rejected'] as const;

export class RaterMetrics {
  readonly registry = new Registry();
  readonly batches: Counter<'result'>;
  readonly records: Counter<'result'>;
  readonly rejected: Counter<'code'>;
  readonly txSeconds: Histogram;
  readonly httpRefused: Counter<'code'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.batches = new Counter({
      name: 'edgemeter_rater_batches_total',
      help: 'Ingest batches by result (ok: committed; error: the transaction failed, the collector resends; refused: refused as a whole before any transaction, e.g. INVALID_ARGUMENT)',
      labelNames: ['result'],
      registers,
    });
    this.records = new Counter({
      name: 'edgemeter_rater_records_total',
      help: 'Ingested records by result (accepted, duplicate: same key and content as a stored record, conflict: same key and different content, rejected)',
      labelNames: ['result'],
      registers,
    });
    this.rejected = new Counter({
      name: 'edgemeter_rater_rejected_total',
      help: 'Rejected records by code',
      labelNames: ['code'],
      registers,
    });
    this.txSeconds = new Histogram({
      name: 'edgemeter_rater_ingest_transaction_seconds',
      help: 'Duration of one batch transaction',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    // By error code only: never a key, key id or client address in a label.
    this.httpRefused = new Counter({
      name: 'edgemeter_rater_http_refused_total',
      help: 'HTTP requests refused before their handler, by code (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED)',
      labelNames: ['code'],
      registers,
    });
    // A series that appears only with its first event breaks rate() and alerts on it.
    for (const result of ['ok', 'error', 'refused']) this.batches.inc({ result }, 0);
    for (const result of RECORD_RESULTS) this.records.inc({ result }, 0);
    this.rejected.inc({ code: 'INVALID_RECORD' }, 0);
    if (opts.processMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'edgemeter_rater_' });
  }

  /** Open quota streams, and those waiting for their collector to read, read when scraped. */
  watchQuotaStreams(streams: { watching: number; stalled: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'edgemeter_rater_quota_watch_streams',
      help: 'Open QuotaService.Watch streams (collectors following quota decisions)',
      registers,
      collect() {
        this.set(streams.watching);
      },
    });
    new Gauge({
      name: 'edgemeter_rater_quota_watch_stalled',
      help: 'Quota streams waiting for their collector to read (flow control)',
      registers,
      collect() {
        this.set(streams.stalled);
      },
    });
  }

  /**
   * The database driver, and the connection pool read when scraped. Embedded PGlite is one
   * in-process connection without a pool: its pool size is 1 and the connection gauges are
   * not exported.
   */
  watchDatabase(caps: Capabilities, pool: () => PoolState | undefined): void {
    const registers = [this.registry];
    new Gauge({
      name: 'edgemeter_rater_db_info',
      help: 'Always 1; the labels say which database driver (pg: a PostgreSQL server, pglite: embedded) and whether TimescaleDB is in use',
      labelNames: ['driver', 'timescale'],
      registers,
    }).set({ driver: caps.driver, timescale: String(caps.timescale) }, 1);
    new Gauge({
      name: 'edgemeter_rater_db_pool_max',
      help: 'Most connections this rater opens to the database (dbPoolSize); 1 for embedded PGlite, a single in-process connection without a pool',
      registers,
      collect() {
        this.set(pool()?.max ?? 1);
      },
    });
    new Gauge({
      name: 'edgemeter_rater_db_pool_connections',
      help: 'Open database connections by state (idle, busy); pg driver only: embedded PGlite has no pool',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const p = pool();
        if (!p) return;
        this.set({ state: 'idle' }, p.idle);
        this.set({ state: 'busy' }, p.total - p.idle);
      },
    });
    new Gauge({
      name: 'edgemeter_rater_db_pool_waiting',
      help: 'Queries and transactions waiting for a free connection; pg driver only: embedded PGlite queues inside its one connection, not counted',
      // A label, because a gauge without one cannot be left out of a scrape (PGlite).
      labelNames: ['driver'],
      registers,
      collect() {
        this.reset();
        const p = pool();
        if (p) this.set({ driver: caps.driver }, p.waiting);
      },
    });
  }
}
