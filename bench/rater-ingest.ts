// Rater ingest: pre-encoded batches straight to a real rater process's gRPC IngestBatch (several
// concurrent streams, one batch in flight per stream, as collectors send them) against the best
// plain insert of the same rows into the same schema: a second database of the same server (or
// a second embedded PGlite directory), migrated the same way (same tables, keys, indexes and,
// with TimescaleDB, hypertables), over as many connections as there are streams (PGlite: its
// single connection). Three plain inserts are measured and the fastest is the reference, so the
// reference is the best we know, not a straw man:
// - COPY (text) and COPY (binary): usage_record_keys, usage_records and usage_5m by COPY … FROM
//   STDIN, all three in one round trip, in one transaction per batch; binary is the format the
//   rater itself sends (rater/storage/copy-binary.ts);
// - unnest: one statement per batch inserting into the three tables from unnest()ed array
//   literals (INSERT … SELECT in data-modifying WITH queries), times as epoch milliseconds.
// Every parameter and every byte of COPY data is built before the clock starts; rollups are
// aggregated before it too. Each batch holds its own devices, so no two batches touch the same
// keys or rollup rows in either run. The four paths run in alternated rounds, each round a slice
// of the batches on every path in a rotating order: the machine's speed swings within seconds, and
// run one after another, each path met a different machine.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark } from './types.ts';
import { PG_ADMIN_URL, serverDatabase, table } from './util.ts';
import { freePort, raterProcess, type EdgemeterProcess } from '../chaos/procs.ts';
import { metric } from '../chaos/observe.ts';
import { RaterClient, encodeBatch } from '../collector/forward/client.ts';
import { collectorOptions } from '../collector/config.ts';
import { UsageRecord } from '../proto/index.ts';
import { recordKey, type UsageRecord as Rec } from '../common/usage.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { aggregateRollups, metersJson } from '../rater/storage/batch.ts';
import type { StoredRecordInput } from '../rater/storage/store.ts';
import { openStore } from '../rater/storage/open.ts';
import { PgSqlClient } from '../rater/storage/pg-client.ts';
import { intArray, textArray } from '../rater/storage/pg-array.ts';
import { CopyBinaryWriter } from '../rater/storage/copy-binary.ts';
import { recordCopies } from '../rater/storage/ingest.ts';
import type { CopyIn, SqlClient } from '../rater/storage/sql.ts';

/** Rows per batch: what a collector sends by default (its batchMaxRecords). */
const BATCH = collectorOptions.batchMaxRecords.schema.parse(undefined);
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

/**
 * CPU seconds of a server database's backends (same machine: loopback only). `monitor` is
 * connected to another database, so every backend of `dbName` counts, none is left out.
 */
async function backendCpu(monitor: SqlClient | undefined, dbName: string): Promise<number> {
  if (!monitor) return NaN;
  const { rows } = await monitor.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1`,
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

function storedRecords(tag: string, b: number): StoredRecordInput[] {
  return batchRecords(tag, b).map((r) => ({
    ...r,
    key: recordKey(r),
    contentHash: contentHash(r),
  }));
}

/** COPY text rows (the bench's ids, keys and JSON hold no tab, newline or backslash). */
const tsv = (rows: Array<Array<string | number | null>>) =>
  rows.map((r) => r.map((v) => (v === null ? '\\N' : String(v))).join('\t')).join('\n') + '\n';

const ROLLUPS_TARGET = 'usage_5m (device_id, dims_key, bucket, dims, up, down, records, meters)';

/** The COPY data of batch `b`: keys, records and rollups. */
function copyData(tag: string, b: number): CopyIn[] {
  const recs = storedRecords(tag, b);
  return [
    {
      target: 'usage_record_keys (device_id, record_key, content_hash, ts)',
      data: tsv(recs.map((r) => [r.deviceId, r.key, r.contentHash, iso(r.endMs)])),
    },
    {
      target: `usage_records (device_id, record_key, ts, start_ts, up, down, meters, dims,
        received_at, content_hash, clock_skew_ms, collector_id, batch_id)`,
      data: tsv(
        recs.map((r) => [
          r.deviceId,
          r.key,
          iso(r.endMs),
          r.startMs === undefined ? null : iso(r.startMs),
          r.up,
          r.down,
          JSON.stringify(r.meters),
          JSON.stringify(r.dims),
          iso(r.receivedMs),
          r.contentHash,
          r.endMs - r.receivedMs,
          COLLECTOR,
          `${tag}-${b}`,
        ]),
      ),
    },
    {
      target: ROLLUPS_TARGET,
      data: tsv(
        aggregateRollups(recs).map((x) => [
          x.deviceId,
          x.dimsKey,
          iso(x.bucketMs),
          JSON.stringify(x.dims),
          x.up.toString(),
          x.down.toString(),
          x.records,
          metersJson(x.meters),
        ]),
      ),
    },
  ];
}

/** The same three COPYs in COPY's binary format: keys and records exactly as the rater sends them. */
function binaryCopyData(tag: string, b: number): CopyIn[] {
  const recs = storedRecords(tag, b);
  const rollups = new CopyBinaryWriter();
  for (const x of aggregateRollups(recs))
    rollups
      .tuple(8)
      .text(x.deviceId)
      .text(x.dimsKey)
      .timestamptz(x.bucketMs)
      .jsonb(JSON.stringify(x.dims))
      .int8(Number(x.up))
      .int8(Number(x.down))
      .int8(x.records)
      .jsonb(metersJson(x.meters));
  return [
    ...recordCopies(recs, COLLECTOR, `${tag}-${b}`),
    { target: ROLLUPS_TARGET, data: rollups.finish() },
  ];
}

function copyInsert(sql: SqlClient, copies: CopyIn[]): Promise<void> {
  return sql.transaction(async (tx) => {
    if (!tx.copyFrom) throw new Error('this driver cannot COPY');
    await tx.copyFrom(copies);
  });
}

/** Every parameter of the one-statement unnest insert of batch `b`, as array literals. */
function unnestParams(tag: string, b: number): Array<string | number> {
  const recs = storedRecords(tag, b);
  const rollups = aggregateRollups(recs);
  return [
    textArray(recs.map((r) => r.deviceId)),
    textArray(recs.map((r) => r.key)),
    textArray(recs.map((r) => r.contentHash)),
    intArray(recs.map((r) => r.endMs)),
    intArray(recs.map((r) => r.startMs ?? null)),
    intArray(recs.map((r) => r.up)),
    intArray(recs.map((r) => r.down)),
    textArray(recs.map((r) => JSON.stringify(r.meters))),
    textArray(recs.map((r) => JSON.stringify(r.dims))),
    intArray(recs.map((r) => r.receivedMs)),
    COLLECTOR,
    `${tag}-${b}`,
    textArray(rollups.map((x) => x.deviceId)),
    textArray(rollups.map((x) => x.dimsKey)),
    intArray(rollups.map((x) => x.bucketMs)),
    textArray(rollups.map((x) => JSON.stringify(x.dims))),
    intArray(rollups.map((x) => x.up)),
    intArray(rollups.map((x) => x.down)),
    intArray(rollups.map((x) => x.records)),
    textArray(rollups.map((x) => metersJson(x.meters))),
  ];
}

const ts = (ms: string) => `('epoch'::timestamptz + ${ms} * interval '1 millisecond')`;
const UNNEST_INSERT = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[],
                         $7::int8[], $8::jsonb[], $9::jsonb[], $10::int8[])
      AS t(device_id, record_key, content_hash, end_ms, start_ms, up, down, meters, dims,
           received_ms)
  ),
  keys AS (
    INSERT INTO usage_record_keys (device_id, record_key, content_hash, ts)
    SELECT device_id, record_key, content_hash, ${ts('end_ms')} FROM input
  ),
  records AS (
    INSERT INTO usage_records (device_id, record_key, ts, start_ts, up, down, meters, dims,
                               received_at, content_hash, clock_skew_ms, collector_id, batch_id)
    SELECT device_id, record_key, ${ts('end_ms')}, ${ts('start_ms')}, up, down, meters, dims,
           ${ts('received_ms')}, content_hash, end_ms - received_ms, $11::text, $12::text
    FROM input
  )
  INSERT INTO usage_5m (device_id, dims_key, bucket, dims, up, down, records, meters)
  SELECT r.device_id, r.dims_key, ${ts('r.bucket_ms')}, r.dims, r.up, r.down, r.records, r.meters
  FROM unnest($13::text[], $14::text[], $15::int8[], $16::jsonb[], $17::int8[], $18::int8[],
              $19::int8[], $20::jsonb[])
    AS r(device_id, dims_key, bucket_ms, dims, up, down, records, meters)`;

// One statement is atomic on its own: no BEGIN, no COMMIT.
const unnestInsert = (sql: SqlClient, params: unknown[]) => sql.query(UNNEST_INSERT, params);

/** The plain inserts, each measured; the fastest is the reference. */
const PLAINS = {
  copy: 'COPY (text)',
  binary: 'COPY (binary)',
  unnest: 'unnest statement',
} as const;
type PlainName = keyof typeof PLAINS;

interface Measured {
  plain: Record<PlainName, Phase>;
  rater: Phase;
}

const dbNameOf = (url: string) => new URL(url).pathname.slice(1);

/** A way of inserting the batches, measured slice by slice. */
interface Path {
  /** Runs batches [from, to) over the streams. */
  slice(from: number, to: number): Promise<void>;
  /** CPU seconds of the rater process so far (rater path only). */
  serverCpu?: () => Promise<number>;
  /** Its store transactions so far: seconds and count (rater path only). */
  transactions?: () => Promise<[number, number]>;
  /** The database whose backends' CPU counts (server database only). */
  dbName: string;
}

/**
 * One driver: the plain inserts into one database and the rater into another, all open at once,
 * measured in alternated rounds (each round a slice of the batches for every path, the order
 * rotating), so that a machine whose speed swings within seconds slows them all alike.
 */
async function measure(
  driver: 'pg' | 'pglite',
  batches: number,
  rounds: number,
  root: string,
  log: (l: string) => void,
): Promise<Measured> {
  const warm = 4;
  const cleanup: Array<() => Promise<void>> = [];
  let monitor: SqlClient | undefined;
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
      const m = new PgSqlClient(PG_ADMIN_URL, { poolSize: 1 });
      cleanup.push(() => m.close());
      monitor = m;
    }
    const rawDb = driver === 'pg' ? dbNameOf(rawUrl) : '';
    const raterDb = driver === 'pg' ? dbNameOf(raterUrl) : '';

    // ---- the plain inserts: COPY (text and binary), one unnest statement ----
    const store = await openStore(rawUrl, { poolSize: STREAMS + 1 });
    cleanup.unshift(() => store.close());
    await store.migrate();
    const plain = async <T>(
      name: string,
      build: (tag: string, b: number) => T,
      insert: (x: T) => Promise<unknown>,
    ): Promise<Path> => {
      for (let b = 0; b < warm; b++) await insert(build(`${name}-w`, b));
      const all = Array.from({ length: batches }, (_, b) => build(name, b));
      return {
        slice: (from, to) =>
          streams(to - from, async (i) => {
            await insert(all[from + i] as T);
          }),
        dbName: rawDb,
      };
    };
    const paths: Record<PlainName | 'rater', Path> = {
      copy: await plain('copy', copyData, (c) => copyInsert(store.sql, c)),
      binary: await plain('binary', binaryCopyData, (c) => copyInsert(store.sql, c)),
      unnest: await plain('unnest', unnestParams, (p) => unnestInsert(store.sql, p)),
      rater: undefined as unknown as Path,
    };

    // ---- the rater ----
    const grpcPort = await freePort();
    rater = await raterProcess({ name: `bench-rater-${driver}`, db: raterUrl, grpcPort }, root);
    await rater.start(60_000);
    const proc = rater;
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
    paths.rater = {
      slice: (from, to) => streams(to - from, (i) => send(reqs[from + i] as Buffer)),
      serverCpu: () => metric(proc, 'edgemeter_rater_process_cpu_seconds_total'),
      transactions: () => Promise.all([metric(proc, `${tx}_sum`), metric(proc, `${tx}_count`)]),
      dbName: raterDb,
    };

    // ---- alternated rounds ----
    const names = Object.keys(paths) as Array<keyof typeof paths>;
    const phases = Object.fromEntries(
      names.map((n) => [
        n,
        {
          rows: 0,
          seconds: 0,
          rowsS: 0,
          benchCpuS: 0,
          dbCpuS: 0,
          ...(n === 'rater' ? { serverCpuS: 0 } : {}),
        },
      ]),
    ) as Record<keyof typeof paths, Phase>;
    let txSeconds = 0;
    let txCount = 0;
    for (let round = 0; round < rounds; round++) {
      const from = Math.floor((batches * round) / rounds);
      const to = Math.floor((batches * (round + 1)) / rounds);
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length] as keyof typeof paths;
        const path = paths[name];
        const phase = phases[name];
        const [tx0, n0] = (await path.transactions?.()) ?? [0, 0];
        const server0 = (await path.serverCpu?.()) ?? 0;
        const db0 = await backendCpu(monitor, path.dbName);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await path.slice(from, to);
        phase.seconds += (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        phase.benchCpuS += (cpu.user + cpu.system) / 1e6;
        phase.dbCpuS = (phase.dbCpuS ?? 0) + (await backendCpu(monitor, path.dbName)) - db0;
        if (path.serverCpu)
          phase.serverCpuS = (phase.serverCpuS ?? 0) + (await path.serverCpu()) - server0;
        const [tx1, n1] = (await path.transactions?.()) ?? [0, 0];
        txSeconds += tx1 - tx0;
        txCount += n1 - n0;
        phase.rows += (to - from) * BATCH;
      }
    }
    for (const name of names) {
      const phase = phases[name];
      phase.rowsS = phase.rows / phase.seconds;
      log(`rater-ingest (${driver}): ${name} ${Math.round(phase.rowsS)} rows/s`);
    }
    phases.rater.txMs = txCount > 0 ? (1000 * txSeconds) / txCount : NaN;
    const { rater: rt, ...plains } = phases;
    return { plain: plains, rater: rt };
  } finally {
    client?.close();
    await rater?.retire().catch(() => {});
    for (const f of cleanup) await f().catch(() => {});
  }
}

const run: Benchmark = async ({ quick, log }) => {
  const root = await mkdtemp(join(tmpdir(), 'edgemeter-bench-ingest-'));
  const results: Record<string, Measured> = {};
  try {
    results.pg = await measure('pg', quick ? 30 : 150, quick ? 2 : 5, root, log);
    // PGlite serves one connection: fewer batches keep it inside the time budget.
    results.pglite = await measure('pglite', quick ? 12 : 60, quick ? 2 : 4, root, log);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const figures: Record<string, number> = {};
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [
    `batches of ${BATCH} records (${DEVICES_PER_BATCH} devices × ${BATCH / DEVICES_PER_BATCH}), ` +
      `${STREAMS} concurrent streams, after 4 warm-up batches each; PostgreSQL ` +
      `${quick ? 30 : 150} batches in ${quick ? 2 : 5} rounds, PGlite ${quick ? 12 : 60} in ` +
      `${quick ? 2 : 4}; each round runs a slice of the batches on every path, the order ` +
      `rotating; the reference is the fastest plain insert`,
  ];
  const dash = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x);
  const cpu = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2));
  for (const [driver, r] of Object.entries(results)) {
    const suffix = driver === 'pg' ? '' : `_${driver}`;
    const names = Object.keys(PLAINS) as PlainName[];
    const best = names.reduce((a, b) => (r.plain[b].rowsS > r.plain[a].rowsS ? b : a));
    const raw = r.plain[best];
    const ratio = r.rater.rowsS / raw.rowsS;
    figures[`rater_rows_s${suffix}`] = Math.round(r.rater.rowsS);
    figures[`raw_insert_rows_s${suffix}`] = Math.round(raw.rowsS);
    figures[`rater_ratio${suffix}`] = Math.round(ratio * 1000) / 1000;
    const plainRow = (name: PlainName) => [
      `${driver}: plain ${PLAINS[name]}${name === best ? ' (ref.)' : ''}`,
      r.plain[name].rows,
      r.plain[name].seconds,
      r.plain[name].rowsS,
      '-',
      dash(r.plain[name].dbCpuS),
      r.plain[name].benchCpuS,
    ];
    rows.push(
      ...names.map(plainRow),
      [
        `${driver}: rater gRPC IngestBatch`,
        r.rater.rows,
        r.rater.seconds,
        r.rater.rowsS,
        dash(r.rater.serverCpuS),
        dash(r.rater.dbCpuS),
        r.rater.benchCpuS,
      ],
      [`${driver}: ratio rater / reference`, '', '', ratio, '', '', ''],
    );
    const perRow = (x: number | undefined) =>
      x === undefined || Number.isNaN(x) ? '-' : ((x * 1e6) / r.rater.rows).toFixed(1);
    const plainCpu = names.map(
      (n) =>
        `${PLAINS[n]} (${r.plain[n].seconds.toFixed(1)} s) — database backends ` +
        `${cpu(r.plain[n].dbCpuS)}, bench ${cpu(r.plain[n].benchCpuS)}`,
    );
    notes.push(
      `${driver}: CPU seconds in the timed runs: ${plainCpu.join('; ')}; rater ` +
        `(${r.rater.seconds.toFixed(1)} s) — rater process ` +
        `${cpu(r.rater.serverCpuS)} (${perRow(r.rater.serverCpuS)} µs per row), database backends ` +
        `${cpu(r.rater.dbCpuS)}, bench ${cpu(r.rater.benchCpuS)}; rater store transaction ` +
        `${r.rater.txMs?.toFixed(0)} ms per batch (its metric)`,
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
