// TimescaleDB's create_hypertable (migration 001) gave usage_records a default index on ts alone.
// No query of the rater reads usage_records by time without a device (each one starts from
// device_id, served by usage_records_device_ts), and retention drops whole chunks, so that index
// was only written: one more B-tree insert, its WAL and its disk for every stored record. On the
// embedded database it cost 14-16 % of the ingest transaction's CPU (bench/README.md, Results).
// Plain PostgreSQL never had it. usage_5m keeps its bucket index: rollups are few and the rating
// reads plan over them.
import type { Migration } from './types.ts';

export const recordsTimeIndex: Migration = {
  version: 8,
  name: 'records_time_index',
  async up(sql, caps) {
    if (!caps.timescale) return;
    // Dropped on the hypertable, TimescaleDB drops it on every chunk too.
    await sql.exec(`DROP INDEX IF EXISTS usage_records_ts_idx`);
  },
};
