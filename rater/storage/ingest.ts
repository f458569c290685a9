// One ingest batch inside one transaction. The database enforces the dedupe key in that same
// transaction: the key insert decides which records are new, and only those are written and
// rolled up. Each table gets one multi-row statement over unnest()ed arrays, not one per record.
import type { IngestBatchInput, IngestOutcome, StoredRecordInput } from './store.ts';
import type { SqlClient } from './sql.ts';
import { StorageError } from './errors.ts';
import { aggregateRollups, idOf, metersJson, splitBatch } from './batch.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

interface Conflict {
  record: StoredRecordInput;
  existingHash: string;
}

const INSERT_KEYS = `
  INSERT INTO usage_record_keys (device_id, record_key, content_hash, ts)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
  ON CONFLICT DO NOTHING
  RETURNING device_id, record_key`;

const SELECT_KEYS = `
  SELECT k.device_id, k.record_key, k.content_hash
  FROM usage_record_keys k
  JOIN unnest($1::text[], $2::text[]) AS q(device_id, record_key) USING (device_id, record_key)`;

// clock_skew_ms = ts − received_at: the device clock against the collector's (migration 003).
const INSERT_RECORDS = `
  INSERT INTO usage_records (device_id, record_key, ts, start_ts, up, down, meters, dims,
                             received_at, content_hash, clock_skew_ms, collector_id, batch_id)
  SELECT t.*, $12::text, $13::text
  FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int8[],
              $6::int8[], $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::text[],
              $11::int8[]) AS t`;

// Meter sums merge key by key; jsonb numbers are exact numerics, so the sums stay exact.
const UPSERT_ROLLUPS = `
  INSERT INTO usage_5m AS u (device_id, dims_key, bucket, dims, up, down, records, meters)
  SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::int8[],
                       $6::int8[], $7::int8[], $8::jsonb[])
  ON CONFLICT (device_id, dims_key, bucket) DO UPDATE SET
    up = u.up + excluded.up,
    down = u.down + excluded.down,
    records = u.records + excluded.records,
    meters = CASE
      WHEN excluded.meters = '{}'::jsonb THEN u.meters
      WHEN u.meters = '{}'::jsonb THEN excluded.meters
      ELSE (SELECT jsonb_object_agg(e.key, e.total) FROM (
              SELECT m.key, sum(m.value::numeric) AS total
              FROM (SELECT * FROM jsonb_each(u.meters)
                    UNION ALL SELECT * FROM jsonb_each(excluded.meters)) AS m
              GROUP BY m.key) AS e)
    END`;

const INSERT_CONFLICTS = `
  INSERT INTO usage_conflicts (device_id, record_key, existing_hash, incoming_hash, incoming,
                               collector_id, batch_id)
  SELECT t.*, $6::text, $7::text
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS t
  ON CONFLICT DO NOTHING`;

/** Runs inside the caller's transaction; all-or-nothing with it. */
export async function ingestInTx(tx: SqlClient, batch: IngestBatchInput): Promise<IngestOutcome> {
  const { unique, repeats } = splitBatch(batch.records);
  if (unique.length === 0) return { accepted: 0, duplicates: 0, conflicts: 0 };

  // 1. Claim the keys. Rows come back only for keys this transaction inserted; a key another
  //    transaction is inserting makes this statement wait for it (same sorted order for all).
  const claimed = await tx.query<{ device_id: string; record_key: string }>(INSERT_KEYS, [
    unique.map((r) => r.deviceId),
    unique.map((r) => r.key),
    unique.map((r) => r.contentHash),
    unique.map((r) => iso(r.endMs)),
  ]);
  const isNew = new Set(
    claimed.rows.map((k) => idOf({ deviceId: k.device_id, key: k.record_key })),
  );
  const fresh = unique.filter((r) => isNew.has(idOf(r)));
  const old = unique.filter((r) => !isNew.has(idOf(r)));

  // 2. What is stored for every key of this batch: our own hash for the new ones, the earlier
  //    hash for the others (visible now: READ COMMITTED reads the latest commits per statement).
  const storedHash = new Map<string, string>(fresh.map((r) => [idOf(r), r.contentHash]));
  if (old.length > 0) {
    const existing = await tx.query<{
      device_id: string;
      record_key: string;
      content_hash: string;
    }>(SELECT_KEYS, [old.map((r) => r.deviceId), old.map((r) => r.key)]);
    for (const k of existing.rows) {
      storedHash.set(idOf({ deviceId: k.device_id, key: k.record_key }), k.content_hash);
    }
  }
  let duplicates = 0;
  const conflicts: Conflict[] = [];
  for (const r of [...old, ...repeats]) {
    const existingHash = storedHash.get(idOf(r));
    if (existingHash === undefined) {
      throw new StorageError('DB_ERROR', `dedupe key ${r.deviceId}/${r.key} vanished mid-ingest`);
    }
    if (existingHash === r.contentHash) duplicates++;
    else conflicts.push({ record: r, existingHash });
  }

  // 3. The new records, raw and rolled up.
  if (fresh.length > 0) {
    await tx.query(INSERT_RECORDS, [
      fresh.map((r) => r.deviceId),
      fresh.map((r) => r.key),
      fresh.map((r) => iso(r.endMs)),
      fresh.map((r) => (r.startMs === undefined || r.startMs === null ? null : iso(r.startMs))),
      fresh.map((r) => String(r.up)),
      fresh.map((r) => String(r.down)),
      fresh.map((r) => JSON.stringify(r.meters ?? {})),
      fresh.map((r) => JSON.stringify(r.dims ?? {})),
      fresh.map((r) => iso(r.receivedMs)),
      fresh.map((r) => r.contentHash),
      fresh.map((r) => String(r.endMs - r.receivedMs)),
      batch.collectorId,
      batch.batchId,
    ]);
    const rollups = aggregateRollups(fresh);
    await tx.query(UPSERT_ROLLUPS, [
      rollups.map((b) => b.deviceId),
      rollups.map((b) => b.dimsKey),
      rollups.map((b) => iso(b.bucketMs)),
      rollups.map((b) => JSON.stringify(b.dims)),
      rollups.map((b) => b.up.toString()),
      rollups.map((b) => b.down.toString()),
      rollups.map((b) => String(b.records)),
      rollups.map((b) => metersJson(b.meters)),
    ]);
  }

  // 4. Conflicts: the first record stays; each distinct incoming version is kept once.
  if (conflicts.length > 0) {
    const rows = [
      ...new Map(
        conflicts.map((c) => [`${idOf(c.record)}\u0000${c.record.contentHash}`, c]),
      ).entries(),
    ]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, c]) => c);
    await tx.query(INSERT_CONFLICTS, [
      rows.map((c) => c.record.deviceId),
      rows.map((c) => c.record.key),
      rows.map((c) => c.existingHash),
      rows.map((c) => c.record.contentHash),
      rows.map((c) => JSON.stringify(c.record)),
      batch.collectorId,
      batch.batchId,
    ]);
  }
  return { accepted: fresh.length, duplicates, conflicts: conflicts.length };
}
