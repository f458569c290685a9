// Rater ingest: pre-encoded batches straight to a real rater process's gRPC IngestBatch (several
// concurrent streams, one batch in flight per stream, as collectors send them) against the best
// plain insert of the same rows into the same schema: a second database of the same server (or
// a second embedded PGlite directory), migrated the same way (same tables, keys, indexes and,
// with TimescaleDB, hypertables), one INSERT … SELECT FROM unnest(…) into usage_record_keys,
// usage_records and usage_5m per batch, in one transaction per batch, over as many connections
// as there are streams (PGlite: its single connection). Rollups for the plain insert are
// aggregated before the clock starts; each batch holds its own devices, so no two batches touch
// the same keys or rollup rows in either run.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark } from './types.ts';
import { serverDatabase, table } from './util.ts';
import { freePort, raterProcess, type EdgemeterProcess } from '../chaos/procs.ts';
import { metric } from '../chaos/observe.ts';
import { RaterClient, encodeBatch } from '../collector/forward/client.ts';
import { UsageRecord } from '../proto/index.ts';
import { recordKey, type UsageRecord as Rec } from '../common/usage.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { aggregateRollups, metersJson } from '../rater/storage/batch.ts';
import type { StoredRecordInput } from '../rater/storage/store.ts';
import { openStore } from '../rater/storage/open.ts';
import type { SqlClient } from '../rater/storage/sql.ts';

const BATCH = 2000;
const DEVICES_PER_BATCH = 20;
const STREAMS = 4;
const BASE_MS = Date.UTC(2026, 9, 1);
const COLLECTOR = 'bench-gw';

/** The records of batch `b` (run `tag`): 20 devices × 100 records, one every 15 s. */
function batchRecords(tag: string, b: number): Rec[] {
  const out: Rec[] = [];
  const per = BATCH / DEVICES_PER_BATCH;
  for (let d = 0; d < DEVICES_PER_BATCH; d++)
    for (let s = 0; s < per; s++) {
      const endMs = BASE_MS + (s + 1) * 15_000;
      const h = (Math.imul(s + 1, 2654435761) ^ Math.imul(b * 31 + d + 7, 40503)) >>> 0;
      out.push({
        deviceId: `${tag}-b${b}-d${d}`,
        seq: s,
        boot: '1',
        startMs: endMs - 15_000,
        endMs,
        up: 100 + (h % 50_000),
        down: 1000 + ((h >>> 8) % 200_000),
        meters: {},
        dims: {},
        receivedMs: endMs + 40,
      });
    }
  return out;
}

async function streams(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      for (let i = next++; i < n; i = next++) await work(i);
    }),
  );
}

/** CPU seconds of a server database's backends (same machine: loopback only). */
async function backendCpu(sql: SqlClient | undefined, dbName: string): Promise<number> {
  if (!sql) return NaN;
  const { rows } = await sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [dbName],
  );
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the backend exited
    }
  }
  return ticks / 100;
}

interface Phase {
  rows: number;
  seconds: number;
  rowsS: number;
  benchCpuS: number;
  serverCpuS?: number;
  dbCpuS?: number;
  /** The rater's average store transaction per batch (its own metric). */
  txMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Every parameter of the plain insert of batch `b`, built before the clock starts. */
function rawParams(tag: string, b: number) {
  const recs: StoredRecordInput[] = batchRecords(tag, b).map((r) => ({
    ...r,
    key: recordKey(r),
    contentHash: contentHash(r),
  }));
  const rollups = aggregateRollups(recs);
  return {
    keys: [
      recs.map((r) => r.deviceId),
      recs.map((r) => r.key),
      recs.map((r) => r.contentHash),
      recs.map((r) => iso(r.endMs)),
    ],
    records: [
      recs.map((r) => r.deviceId),
      recs.map((r) => r.key),
      recs.map((r) => iso(r.endMs)),
      recs.map((r) => (r.startMs === undefined ? null : iso(r.startMs))),
      recs.map((r) => String(r.up)),
      recs.map((r) => String(r.down)),
      recs.map((r) => JSON.stringify(r.meters)),
      recs.map((r) => JSON.stringify(r.dims)),
      recs.map((r) => iso(r.receivedMs)),
      recs.map((r) => r.contentHash),
      recs.map((r) => String(r.endMs - r.receivedMs)),
      COLLECTOR,
      `${tag}-${b}`,
    ],
    rollups: [
      rollups.map((x) => x.deviceId),
      rollups.map((x) => x.dimsKey),
      rollups.map((x) => iso(x.bucketMs)),
      rollups.map((x) => JSON.stringify(x.dims)),
      rollups.map((x) => x.up.toString()),
      rollups.map((x) => x.down.toString()),
      rollups.map((x) => String(x.records)),
      rollups.map((x) => metersJson(x.meters)),
    ],
  };
}
type RawParams = ReturnType<typeof rawParams>;

function rawInsert(sql: SqlClient, p: RawParams): Promise<void> {
  return sql.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO usage_record_keys (device_id, record_key, content_hash, ts)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])`,
      p.keys,
    );
    await tx.query(
      `INSERT INTO usage_records (device_id, record_key, ts, start_ts, up, down, meters,
         dims, received_at, content_hash, clock_skew_ms, collector_id, batch_id)
       SELECT t.*, $12::text, $13::text
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int8[],
                   $6::int8[], $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::text[],
                   $11::int8[]) AS t`,
      p.records,
    );
    await tx.query(
      `INSERT INTO usage_5m (device_id, dims_key, bucket, dims, up, down, records, meters)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::int8[],
                            $6::int8[], $7::int8[], $8::jsonb[])`,
      p.rollups,
    );
  });
}

const dbNameOf = (url: string) => new URL(url).pathname.slice(1);

/** One driver: the plain insert into one database, then the rater into another. */
async function measure(
  driver: 'pg' | 'pglite',
  batches: number,
  root: string,
  log: (l: string) => void,
): Promise<{ raw: Phase; rater: Phase }> {
  const warm = 4;
  const cleanup: Array<() => Promise<void>> = [];
  let rater: EdgemeterProcess | undefined;
  let client: RaterClient | undefined;
  try {
    let rawUrl = `embedded:${join(root, `${driver}-raw`)}`;
    let raterUrl = `embedded:${join(root, `${driver}-rater`)}`;
    if (driver === 'pg') {
      const a = await serverDatabase('ingest_raw');
      cleanup.push(() => a.drop());
      const b = await serverDatabase('ingest_rater');
      cleanup.push(() => b.drop());
      rawUrl = a.url;
      raterUrl = b.url;
    }
    // ---- the plain insert ----
    const store = await openStore(rawUrl, { poolSize: STREAMS + 1 });
    cleanup.unshift(() => store.close());
    await store.migrate();
    const watch = driver === 'pg' ? store.sql : undefined;
    for (let b = 0; b < warm; b++) await rawInsert(store.sql, rawParams('rw', b));
    let all: RawParams[] = Array.from({ length: batches }, (_, b) => rawParams('raw', b));
    const rawDb = driver === 'pg' ? dbNameOf(rawUrl) : '';
    let cpu0 = process.cpuUsage();
    let db0 = await backendCpu(watch, rawDb);
    let t0 = performance.now();
    await streams(batches, (i) => rawInsert(store.sql, all[i] as RawParams));
    let seconds = (performance.now() - t0) / 1000;
    let cpu = process.cpuUsage(cpu0);
    const raw: Phase = {
      rows: batches * BATCH,
      seconds,
      rowsS: (batches * BATCH) / seconds,
      benchCpuS: (cpu.user + cpu.system) / 1e6,
      dbCpuS: (await backendCpu(watch, rawDb)) - db0,
    };
    all = [];
    log(`rater-ingest (${driver}): plain insert ${Math.round(raw.rowsS)} rows/s`);

    // ---- the rater ----
    const grpcPort = await freePort();
    rater = await raterProcess({ name: `bench-rater-${driver}`, db: raterUrl, grpcPort }, root);
    await rater.start(60_000);
    client = new RaterClient(`127.0.0.1:${grpcPort}`);
    const c = client;
    const encode = (tag: string, b: number) =>
      encodeBatch(
        COLLECTOR,
        `${tag}-${b}`,
        batchRecords(tag, b).map((r) => UsageRecord.encode(r).finish()),
      );
    const send = async (req: Buffer) => {
      const res = await c.send(req, 60_000);
      if ((res.accepted ?? 0) !== BATCH)
        throw new Error(`rater accepted ${res.accepted} of ${BATCH}: ${JSON.stringify(res)}`);
    };
    for (let b = 0; b < warm; b++) await send(encode('gw', b));
    const reqs = Array.from({ length: batches }, (_, b) => encode('g', b));
    const tx = 'edgemeter_rater_ingest_transaction_seconds';
    const read = (p: EdgemeterProcess) =>
      Promise.all([
        metric(p, `${tx}_sum`),
        metric(p, `${tx}_count`),
        metric(p, 'edgemeter_rater_process_cpu_seconds_total'),
      ]);
    const raterDb = driver === 'pg' ? dbNameOf(raterUrl) : '';
    const [txSum0, txN0, rcpu0] = await read(rater);
    cpu0 = process.cpuUsage();
    db0 = await backendCpu(watch, raterDb);
    t0 = performance.now();
    await streams(batches, (i) => send(reqs[i] as Buffer));
    seconds = (performance.now() - t0) / 1000;
    cpu = process.cpuUsage(cpu0);
    const [txSum, txN, rcpu] = await read(rater);
    const rt: Phase = {
      rows: batches * BATCH,
      seconds,
      rowsS: (batches * BATCH) / seconds,
      benchCpuS: (cpu.user + cpu.system) / 1e6,
      serverCpuS: rcpu - rcpu0,
      dbCpuS: (await backendCpu(watch, raterDb)) - db0,
      txMs: txN > txN0 ? (1000 * (txSum - txSum0)) / (txN - txN0) : NaN,
    };
    log(
      `rater-ingest (${driver}): rater ${Math.round(rt.rowsS)} rows/s ` +
        `(store transaction ${rt.txMs?.toFixed(0)} ms per batch of ${BATCH})`,
    );
    return { raw, rater: rt };
  } finally {
    client?.close();
    await rater?.retire().catch(() => {});
    for (const f of cleanup) await f().catch(() => {});
  }
}

const run: Benchmark = async ({ quick, log }) => {
  const root = await mkdtemp(join(tmpdir(), 'edgemeter-bench-ingest-'));
  const results: Record<string, { raw: Phase; rater: Phase }> = {};
  try {
    results.pg = await measure('pg', quick ? 30 : 150, root, log);
    // PGlite serves one connection: fewer batches keep it inside the time budget.
    results.pglite = await measure('pglite', quick ? 10 : 40, root, log);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const figures: Record<string, number> = {};
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [
    `batches of ${BATCH} records (${DEVICES_PER_BATCH} devices × ${BATCH / DEVICES_PER_BATCH}), ` +
      `${STREAMS} concurrent streams, after 4 warm-up batches each; PostgreSQL ` +
      `${quick ? 30 : 150} batches, PGlite ${quick ? 10 : 40}`,
  ];
  for (const [driver, r] of Object.entries(results)) {
    const suffix = driver === 'pg' ? '' : `_${driver}`;
    const ratio = r.rater.rowsS / r.raw.rowsS;
    figures[`rater_rows_s${suffix}`] = Math.round(r.rater.rowsS);
    figures[`raw_insert_rows_s${suffix}`] = Math.round(r.raw.rowsS);
    figures[`rater_ratio${suffix}`] = Math.round(ratio * 1000) / 1000;
    const dash = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x);
    rows.push(
      [
        `${driver}: plain unnest insert`,
        r.raw.rows,
        r.raw.seconds,
        r.raw.rowsS,
        '-',
        dash(r.raw.dbCpuS),
        r.raw.benchCpuS,
      ],
      [
        `${driver}: rater gRPC IngestBatch`,
        r.rater.rows,
        r.rater.seconds,
        r.rater.rowsS,
        dash(r.rater.serverCpuS),
        dash(r.rater.dbCpuS),
        r.rater.benchCpuS,
      ],
      [`${driver}: ratio rater / plain`, '', '', ratio, '', '', ''],
    );
    notes.push(
      `${driver}: CPU seconds in the timed runs (wall ${r.raw.seconds.toFixed(1)} s / ` +
        `${r.rater.seconds.toFixed(1)} s): plain insert — database backends ${dash(r.raw.dbCpuS)}, ` +
        `bench ${r.raw.benchCpuS.toFixed(1)}; rater — rater process ${r.rater.serverCpuS?.toFixed(1)}, ` +
        `database backends ${dash(r.rater.dbCpuS)}, bench ${r.rater.benchCpuS.toFixed(1)}; ` +
        `rater store transaction ${r.rater.txMs?.toFixed(0)} ms per batch (its metric)`,
    );
  }
  return {
    figures,
    table: table(
      ['path', 'rows', 'seconds', 'rows/s', 'rater CPU s', 'db CPU s', 'bench CPU s'],
      rows,
    ),
    notes,
  };
};

export default run;
