// The rater's Prometheus metrics, on a registry of its own.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
      help: 'Ingest batches by result (ok, error)',
      labelNames: ['result'],
      registers,
    });
    this.records = new Counter({
      name: 'edgemeter_rater_records_total',
      help: 'Ingested records by result (accepted, duplicate, conflict, rejected)',
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
    if (opts.processMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'edgemeter_rater_' });
  }
}
