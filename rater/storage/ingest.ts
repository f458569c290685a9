// One ingest batch, all or nothing. The database enforces the dedupe key in the transaction
// that stores the records: the key insert decides which records are new, and only those are
// written and rolled up. Nothing goes row by row: keys and records arrive by COPY, rollups and the
// careful path below as multi-row statements over unnest()ed arrays.
//
// Nearly every batch holds only new keys (a resend follows a failure), so that case is tried
// first, cheaply: keys and records COPYed in (the cheapest insert there is, for the database and
// for the rater, measured in bench/README.md) and rollups upserted, in one transaction sent at
// once. If any key exists, the primary key refuses the COPY (unique_violation) and that
// transaction rolls back whole; a second one claims keys with ON CONFLICT DO NOTHING (the
// careful path). Either way the database decides; a COPY of a key another transaction is
// inserting waits for that one, exactly as ON CONFLICT would.
import type { IngestBatchInput, IngestOutcome, StoredRecordInput } from './store.ts';
import { atomic, type CopyIn, type SqlClient } from './sql.ts';
import { errorCode } from '../../common/errors.ts';
import { StorageError } from './errors.ts';
import {
  aggregateRollups,
  idOf,
  metersJson,
  recordDimsKey,
  splitBatch,
  type RollupRow,
} from './batch.ts';
import { intArray, textArray } from './pg-array.ts';
import { CopyBinaryWriter, encodedJsonb, encodedText } from './copy-binary.ts';

interface Conflict {
  record: StoredRecordInput;
  existingHash: string;
}

// Times travel as epoch milliseconds (int8) and become timestamptz in SQL: exact (the product
// stays below 2^53 microseconds until the year 2255), and no Date or ISO string per record.
const ts = (ms: string) => `('epoch'::timestamptz + ${ms} * interval '1 millisecond')`;

const INPUT = `
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[],
                       $7::int8[], $8::jsonb[], $9::jsonb[], $10::int8[])
    AS t(device_id, record_key, content_hash, end_ms, start_ms, up, down, meters, dims,
         received_ms)`;

// clock_skew_ms = ts − received_at: the device clock against the collector's (migration 003).
const storeRecords = (from: string) => `
  INSERT INTO usage_records (device_id, record_key, ts, start_ts, up, down, meters, dims,
                             received_at, content_hash, clock_skew_ms, collector_id, batch_id)
  SELECT i.device_id, i.record_key, ${ts('i.end_ms')}, ${ts('i.start_ms')}, i.up, i.down,
         i.meters, i.dims, ${ts('i.received_ms')}, i.content_hash, i.end_ms - i.received_ms,
         $11::text, $12::text
  FROM ${from}`;

// Meter sums merge key by key; jsonb numbers are exact numerics, so the sums stay exact.
const upsertRollups = (first: number, where = '') => `
  INSERT INTO usage_5m AS u (device_id, dims_key, bucket, dims, up, down, records, meters)
  SELECT r.device_id, r.dims_key, ${ts('r.bucket_ms')}, r.dims, r.up, r.down, r.records, r.meters
  FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::int8[],
              $${first + 3}::jsonb[], $${first + 4}::int8[], $${first + 5}::int8[],
              $${first + 6}::int8[], $${first + 7}::jsonb[])
    AS r(device_id, dims_key, bucket_ms, dims, up, down, records, meters)
  ${where}
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

// 1. Claim the keys: rows come back only for keys this statement inserted; a key another
//    transaction is inserting makes it wait for that one (every rater locks in the same sorted
//    order). 2. Store the records whose keys were claimed. 3. Only when every key was claimed
//    add the rollups, which were computed for all of them; otherwise the caller adds the rollups
//    of the new ones alone. The count subquery makes `claimed` finish before `rolled` starts, so
//    key rows are locked before rollup rows in every transaction. Data-modifying WITH queries
//    always run to completion, whether the final SELECT reads them or not.
const INGEST = `
  WITH input AS (${INPUT}),
  claimed AS (
    INSERT INTO usage_record_keys (device_id, record_key, content_hash, ts)
    SELECT device_id, record_key, content_hash, ${ts('end_ms')} FROM input
    ON CONFLICT DO NOTHING
    RETURNING device_id, record_key
  ),
  stored AS (${storeRecords('input i JOIN claimed c USING (device_id, record_key)')}),
  rolled AS (${upsertRollups(14, 'WHERE (SELECT count(*) FROM claimed) = $13')})
  SELECT count(*)::int AS claimed,
         CASE WHEN count(*) < $13 THEN array_agg(device_id) END AS devices,
         CASE WHEN count(*) < $13 THEN array_agg(record_key) END AS keys
  FROM claimed`;

// Every key new: keys, then records, by COPY (key rows are locked before rollup rows, as on the
// careful path), in binary format; defaults (ingested_at) apply.
const COPY_KEYS = 'usage_record_keys (device_id, record_key, content_hash, ts)';
const COPY_RECORDS = `usage_records (device_id, record_key, ts, start_ts, up, down, meters, dims,
  received_at, content_hash, clock_skew_ms, collector_id, batch_id)`;

const UNIQUE_VIOLATION = '23505';

const SELECT_KEYS = `
  SELECT k.device_id, k.record_key, k.content_hash
  FROM usage_record_keys k
  JOIN unnest($1::text[], $2::text[]) AS q(device_id, record_key) USING (device_id, record_key)`;

const INSERT_CONFLICTS = `
  INSERT INTO usage_conflicts (device_id, record_key, existing_hash, incoming_hash, incoming,
                               collector_id, batch_id)
  SELECT t.*, $6::text, $7::text
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS t
  ON CONFLICT DO NOTHING`;

const EMPTY_JSON = '{}';
const EMPTY_JSONB = encodedJsonb(EMPTY_JSON);

function objectJson(o: Record<string, unknown> | undefined): string {
  for (const _ in o) return JSON.stringify(o);
  return EMPTY_JSON;
}

/** The ten input columns of INGEST, one pass over the records. */
function inputColumns(records: readonly StoredRecordInput[]): string[] {
  const n = records.length;
  const cols = {
    device: new Array<string>(n),
    key: new Array<string>(n),
    hash: new Array<string>(n),
    end: new Array<number>(n),
    start: new Array<number | null>(n),
    up: new Array<number>(n),
    down: new Array<number>(n),
    meters: new Array<string>(n),
    dims: new Array<string>(n),
    received: new Array<number>(n),
  };
  for (let i = 0; i < n; i++) {
    const r = records[i] as StoredRecordInput;
    cols.device[i] = r.deviceId;
    cols.key[i] = r.key;
    cols.hash[i] = r.contentHash;
    cols.end[i] = r.endMs;
    cols.start[i] = r.startMs ?? null;
    cols.up[i] = r.up;
    cols.down[i] = r.down;
    cols.meters[i] = objectJson(r.meters);
    cols.dims[i] = objectJson(r.dims);
    cols.received[i] = r.receivedMs;
  }
  return [
    textArray(cols.device),
    textArray(cols.key),
    textArray(cols.hash),
    intArray(cols.end),
    intArray(cols.start),
    intArray(cols.up),
    intArray(cols.down),
    textArray(cols.meters),
    textArray(cols.dims),
    intArray(cols.received),
  ];
}

function rollupColumns(rows: readonly RollupRow[]): string[] {
  return [
    textArray(rows.map((b) => b.deviceId)),
    textArray(rows.map((b) => b.dimsKey)),
    intArray(rows.map((b) => b.bucketMs)),
    textArray(rows.map((b) => objectJson(b.dims))),
    intArray(rows.map((b) => b.up)),
    intArray(rows.map((b) => b.down)),
    intArray(rows.map((b) => b.records)),
    textArray(rows.map((b) => metersJson(b.meters))),
  ];
}

/**
 * The COPYs of keys and records (also the benchmark's binary plain insert), one pass over the
 * records, in COPY's binary format: no time is formatted and nothing escaped here, no timestamp
 * text parsed by the database. The columns follow COPY_KEYS and COPY_RECORDS, type by type (text,
 * timestamptz, bigint, jsonb).
 */
export function recordCopies(
  records: readonly StoredRecordInput[],
  collectorId: string,
  batchId: string,
): CopyIn[] {
  const keys = new CopyBinaryWriter(records.length * 96);
  const rows = new CopyBinaryWriter(records.length * 192);
  const collector = encodedText(collectorId);
  const batch = encodedText(batchId);
  // Records come sorted by device (splitBatch): its id is encoded once per run, not per record.
  let device = '';
  let deviceField = encodedText(device);
  // And the dims' jsonb once per run of equal dims (jsonb keeps no key order: equal canonical
  // keys store equal values).
  let dims = '';
  let dimsField = EMPTY_JSONB;
  for (const r of records) {
    const dk = recordDimsKey(r);
    if (dk !== dims) {
      dims = dk;
      dimsField = dk === '' ? EMPTY_JSONB : encodedJsonb(objectJson(r.dims));
    }
    if (r.deviceId !== device) deviceField = encodedText((device = r.deviceId));
    keys.tuple(4).encoded(deviceField).text(r.key).text(r.contentHash).timestamptz(r.endMs);
    rows.tuple(13).encoded(deviceField).text(r.key).timestamptz(r.endMs);
    if (r.startMs === undefined || r.startMs === null) rows.null();
    else rows.timestamptz(r.startMs);
    rows.int8(r.up).int8(r.down);
    jsonbField(rows, r.meters);
    rows.encoded(dimsField);
    rows
      .timestamptz(r.receivedMs)
      .text(r.contentHash)
      .int8(r.endMs - r.receivedMs)
      .encoded(collector)
      .encoded(batch);
  }
  return [
    { target: COPY_KEYS, data: keys.finish() },
    { target: COPY_RECORDS, data: rows.finish() },
  ];
}

/** Most records carry no meters: their `{}` is copied, not encoded. */
function jsonbField(w: CopyBinaryWriter, o: Record<string, unknown> | undefined): void {
  const json = objectJson(o);
  if (json === EMPTY_JSON) w.encoded(EMPTY_JSONB);
  else w.jsonb(json);
}

/** Everything about a batch that needs no database, worked out before its transaction opens. */
export interface IngestPlan {
  batch: IngestBatchInput;
  unique: StoredRecordInput[];
  repeats: StoredRecordInput[];
  copies: CopyIn[];
  /** Parameters of `upsertRollups(1)` for every unique record. */
  rollups: string[];
}

/**
 * Pure and CPU-bound: kept out of the transaction, so that a transaction's round trips never
 * wait for this work (or another batch's) on the event loop while it holds its locks.
 */
export function planIngest(batch: IngestBatchInput): IngestPlan {
  const { unique, repeats } = splitBatch(batch.records);
  if (unique.length === 0) return { batch, unique, repeats, copies: [], rollups: [] };
  return {
    batch,
    unique,
    repeats,
    copies: recordCopies(unique, batch.collectorId, batch.batchId),
    rollups: rollupColumns(aggregateRollups(unique)),
  };
}

/**
 * Stores the batch. Nearly every batch holds only new keys, none twice: its COPYs and rollups go
 * out as one transaction of their own (`atomic`), which the primary key of usage_record_keys
 * refuses whole if any key exists. Then, or for a batch that repeats a key, a transaction claims
 * the keys one by one (the careful path).
 */
export async function ingestPlan(sql: SqlClient, plan: IngestPlan): Promise<IngestOutcome> {
  const { unique, repeats } = plan;
  if (unique.length === 0) return { accepted: 0, duplicates: 0, conflicts: 0 };
  if (repeats.length === 0) {
    try {
      await atomic(sql, plan.copies, [{ text: upsertRollups(1), params: plan.rollups }]);
      return { accepted: unique.length, duplicates: 0, conflicts: 0 };
    } catch (err) {
      if (errorCode(err) !== UNIQUE_VIOLATION) throw err;
    }
  }
  return sql.transaction((tx) => ingestCarefully(tx, plan));
}

/** Some keys of the batch exist: claim with ON CONFLICT, store and roll up only the new ones. */
async function ingestCarefully(tx: SqlClient, plan: IngestPlan): Promise<IngestOutcome> {
  const { batch, unique, repeats } = plan;
  const params = [
    ...inputColumns(unique),
    batch.collectorId,
    batch.batchId,
    unique.length,
    ...plan.rollups,
  ];
  const [head] = (
    await tx.query<{ claimed: number; devices: string[] | null; keys: string[] | null }>(
      INGEST,
      params,
    )
  ).rows;
  let fresh = unique;
  let old: StoredRecordInput[] = [];
  if ((head?.claimed ?? 0) < unique.length) {
    // Some keys were stored before: the statement stored only the new records and left the
    // rollups out; add those of the new records alone.
    const devices = head?.devices ?? [];
    const keys = head?.keys ?? [];
    const isNew = new Set(devices.map((d, i) => idOf({ deviceId: d, key: keys[i] ?? '' })));
    fresh = unique.filter((r) => isNew.has(idOf(r)));
    old = unique.filter((r) => !isNew.has(idOf(r)));
    if (fresh.length > 0) await tx.query(upsertRollups(1), rollupColumns(aggregateRollups(fresh)));
  }

  return judge(tx, batch, fresh, old, repeats);
}

/** The record as the conflicts API shows it: without ingest's working value `dimsKey`. */
const incoming = ({ dimsKey: _dimsKey, ...rest }: StoredRecordInput) => rest;

/**
 * Duplicates and conflicts: the records whose keys were stored before (`old`) or earlier in this
 * batch (`repeats`) against what is stored now: our own hash for the new ones, the earlier hash
 * for the others (visible now: READ COMMITTED reads the latest commits per statement).
 */
async function judge(
  tx: SqlClient,
  batch: IngestBatchInput,
  fresh: StoredRecordInput[],
  old: StoredRecordInput[],
  repeats: StoredRecordInput[],
): Promise<IngestOutcome> {
  let duplicates = 0;
  const conflicts: Conflict[] = [];
  if (old.length > 0 || repeats.length > 0) {
    const storedHash = new Map<string, string>(fresh.map((r) => [idOf(r), r.contentHash]));
    if (old.length > 0) {
      const existing = await tx.query<{
        device_id: string;
        record_key: string;
        content_hash: string;
      }>(SELECT_KEYS, [textArray(old.map((r) => r.deviceId)), textArray(old.map((r) => r.key))]);
      for (const k of existing.rows)
        storedHash.set(idOf({ deviceId: k.device_id, key: k.record_key }), k.content_hash);
    }
    for (const r of [...old, ...repeats]) {
      const existingHash = storedHash.get(idOf(r));
      if (existingHash === undefined) {
        throw new StorageError('DB_ERROR', `dedupe key ${r.deviceId}/${r.key} vanished mid-ingest`);
      }
      if (existingHash === r.contentHash) duplicates++;
      else conflicts.push({ record: r, existingHash });
    }
  }

  // Conflicts: the first record stays; each distinct incoming version is kept once.
  if (conflicts.length > 0) {
    const rows = [
      ...new Map(
        conflicts.map((c) => [`${idOf(c.record)}\u0000${c.record.contentHash}`, c]),
      ).entries(),
    ]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, c]) => c);
    await tx.query(INSERT_CONFLICTS, [
      textArray(rows.map((c) => c.record.deviceId)),
      textArray(rows.map((c) => c.record.key)),
      textArray(rows.map((c) => c.existingHash)),
      textArray(rows.map((c) => c.record.contentHash)),
      textArray(rows.map((c) => JSON.stringify(incoming(c.record)))),
      batch.collectorId,
      batch.batchId,
    ]);
  }
  return { accepted: fresh.length, duplicates, conflicts: conflicts.length };
}
