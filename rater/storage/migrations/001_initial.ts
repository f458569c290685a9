// The usage store: raw records, their dedupe keys, exact 5-minute rollups and conflicts.
import type { Migration } from './types.ts';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  async up(sql, caps) {
    await sql.exec(`
      -- Raw records as accepted, for audit and re-rating. ts is the interval end.
      CREATE TABLE usage_records (
        device_id    text        NOT NULL,
        record_key   text        NOT NULL,
        ts           timestamptz NOT NULL,
        start_ts     timestamptz,
        up           bigint      NOT NULL,
        down         bigint      NOT NULL,
        meters       jsonb       NOT NULL DEFAULT '{}',
        dims         jsonb       NOT NULL DEFAULT '{}',
        received_at  timestamptz NOT NULL,
        collector_id text        NOT NULL,
        batch_id     text        NOT NULL,
        ingested_at  timestamptz NOT NULL DEFAULT now(),
        content_hash text        NOT NULL
      );
      CREATE INDEX usage_records_device_ts ON usage_records (device_id, ts);

      -- The dedupe key. A hypertable's unique index must contain its time column and the key
      -- (device, record key) has none, so the uniqueness lives in this plain table, written in
      -- the same transaction as usage_records.
      CREATE TABLE usage_record_keys (
        device_id    text        NOT NULL,
        record_key   text        NOT NULL,
        content_hash text        NOT NULL,
        ts           timestamptz NOT NULL,
        PRIMARY KEY (device_id, record_key)
      );

      -- Exact 5-minute sums per device and dimension set. meters holds per-meter sums as JSON
      -- numbers, which jsonb stores as exact numerics (0.1 + 0.2 stays 0.3).
      CREATE TABLE usage_5m (
        device_id text        NOT NULL,
        bucket    timestamptz NOT NULL,
        dims_key  text        NOT NULL DEFAULT '',
        dims      jsonb       NOT NULL DEFAULT '{}',
        up        bigint      NOT NULL DEFAULT 0,
        down      bigint      NOT NULL DEFAULT 0,
        records   bigint      NOT NULL DEFAULT 0,
        meters    jsonb       NOT NULL DEFAULT '{}',
        CONSTRAINT usage_5m_key UNIQUE (device_id, dims_key, bucket)
      );

      -- Same key, different content: the first record stays, each distinct incoming version is
      -- kept once (a replayed batch does not add rows).
      CREATE TABLE usage_conflicts (
        id            bigserial   PRIMARY KEY,
        device_id     text        NOT NULL,
        record_key    text        NOT NULL,
        existing_hash text        NOT NULL,
        incoming_hash text        NOT NULL,
        incoming      jsonb       NOT NULL,
        collector_id  text        NOT NULL,
        batch_id      text        NOT NULL,
        detected_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT usage_conflicts_version UNIQUE (device_id, record_key, incoming_hash)
      );
      CREATE INDEX usage_conflicts_device ON usage_conflicts (device_id, id);
    `);
    if (caps.timescale) {
      // Old-style signature (not by_range) so TimescaleDB servers before 2.13 work too.
      await sql.exec(`
        SELECT create_hypertable('usage_records', 'ts', chunk_time_interval => interval '1 day');
        SELECT create_hypertable('usage_5m', 'bucket', chunk_time_interval => interval '7 days');
      `);
    }
  },
};
