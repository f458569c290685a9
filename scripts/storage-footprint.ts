// Measures the database disk cost of usage, for the capacity arithmetic in docs/scaling.md.
// Realistic reports (one per device every 5 minutes: seq, boot, ts, start, up, down, a zone
// dimension, an SMS meter on one report in ten) go through the rater's own ingest path
// (SqlUsageStore.ingest, batches of 2,000) into a freshly migrated database; then it reports
// bytes per row of each table, indexes and TOAST included (pg_total_relation_size), and with
// TimescaleDB also after compressing every chunk.
//
//   node --import tsx scripts/storage-footprint.ts [--records N] [--db postgres://…|embedded:memory]
//
// Default: PostgreSQL at postgres://postgres@127.0.0.1:5432/postgres (a throw-away database is
// created and dropped), else embedded. Measurement only; nothing asserts a size.
import pg from 'pg';
import { recordKey, type UsageRecord } from '../common/usage.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { openStore } from '../rater/storage/open.ts';
import type { StoredRecordInput } from '../rater/storage/store.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RECORDS = Number(arg('records') ?? 200_000);
const DEVICES = 1000;
const BATCH = 2000;
const TABLES = ['usage_records', 'usage_record_keys', 'usage_5m'];
const T0 = Date.UTC(2026, 9, 1);

function report(i: number): StoredRecordInput {
  const device = i % DEVICES;
  const seq = Math.floor(i / DEVICES) + 1;
  const endMs = T0 + seq * 300_000;
  const r: UsageRecord = {
    deviceId: `router-${String(device).padStart(6, '0')}`,
    seq,
    boot: '3',
    endMs,
    startMs: endMs - 300_000,
    up: 100_000 + ((i * 7919) % 5_000_000),
    down: 400_000 + ((i * 104_729) % 40_000_000),
    meters: i % 10 === 0 ? { sms: 1 + (i % 3) } : {},
    dims: { zone: device % 5 === 0 ? 'roaming' : 'eu' },
    receivedMs: endMs + 1500,
  };
  return { ...r, key: recordKey(r), contentHash: contentHash(r) };
}

async function sizes(
  store: SqlUsageStore,
): Promise<Record<string, { rows: number; bytes: number }>> {
  const out: Record<string, { rows: number; bytes: number }> = {};
  for (const t of TABLES) {
    const rows = await store.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
    // A hypertable's data lives in its chunks: hypertable_size counts them (and compressed ones).
    const size = store.capabilities.timescale
      ? await store.sql.query<{ b: string }>(
          `SELECT coalesce(hypertable_size('${t}'), pg_total_relation_size('${t}'))::text AS b`,
        )
      : await store.sql.query<{ b: string }>(`SELECT pg_total_relation_size('${t}')::text AS b`);
    out[t] = { rows: Number(rows.rows[0]?.n), bytes: Number(size.rows[0]?.b) };
  }
  return out;
}

function print(label: string, s: Record<string, { rows: number; bytes: number }>, records: number) {
  console.log(`\n${label}`);
  let total = 0;
  for (const [t, { rows, bytes }] of Object.entries(s)) {
    total += bytes;
    console.log(
      `  ${t.padEnd(18)} ${String(rows).padStart(9)} rows  ${(bytes / 1e6).toFixed(1).padStart(8)} MB  ${(bytes / rows).toFixed(1).padStart(7)} B/row`,
    );
  }
  console.log(`  total per record: ${(total / records).toFixed(1)} B`);
}

async function main(): Promise<void> {
  let db = arg('db');
  let drop: (() => Promise<void>) | undefined;
  if (!db) {
    const admin = 'postgres://postgres@127.0.0.1:5432/postgres';
    const c = new pg.Client({ connectionString: admin });
    try {
      await c.connect();
      const name = `edgemeter_footprint_${process.pid}`;
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      db = admin.replace(/\/postgres$/, `/${name}`);
      drop = async () => {
        const d = new pg.Client({ connectionString: admin });
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await d.end();
      };
    } catch {
      db = 'embedded:memory';
    }
  }
  const store = await openStore(db);
  try {
    await store.migrate();
    console.log(
      `${RECORDS} records, ${DEVICES} devices, one report per device per 5 minutes; driver ${store.capabilities.driver}, TimescaleDB ${store.capabilities.timescale}`,
    );
    const started = Date.now();
    for (let i = 0; i < RECORDS; i += BATCH) {
      const records = Array.from({ length: Math.min(BATCH, RECORDS - i) }, (_, k) => report(i + k));
      await store.ingest({
        collectorId: 'gw-berlin-017',
        batchId: `gw-berlin-017:${i}-${i + BATCH - 1}`,
        records,
      });
    }
    console.log(`ingested in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await store.sql.exec(`VACUUM ANALYZE ${TABLES.join(', ')}`);
    print('uncompressed', await sizes(store), RECORDS);

    if (store.capabilities.timescale) {
      // The compression settings docs/scaling.md recommends: per device, in time order.
      await store.sql.exec(`
        ALTER TABLE usage_records SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'ts');
        ALTER TABLE usage_5m SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'bucket');
        SELECT compress_chunk(c) FROM show_chunks('usage_records') c;
        SELECT compress_chunk(c) FROM show_chunks('usage_5m') c;`);
      print('after compress_chunk on every chunk', await sizes(store), RECORDS);
    }
  } finally {
    await store.close();
    await drop?.();
  }
}

await main();
