// Reads back what the rater's database holds for a scenario's devices and compares it with the
// ground truth (what the devices got acknowledged), key by key and byte by byte:
//   lost        acknowledged keys with no row in usage_records (Guarantee 1 broken);
//   duplicated  rows beyond the first per key in usage_records (Guarantee 2 broken);
//   bytes       per device, usage_records sums and usage_5m sums (what the API and the rating
//               read) both equal the truth, and usage_5m counts each record once.
// Keys that were published but never acknowledged may be billed or not (the PUBACK can be lost
// after the durable write); when billed, their known bytes join the expected totals.
import pg from 'pg';
import { openStore } from '../rater/storage/open.ts';
import { recordBytes, type Truth } from './fleet.ts';

export interface Sql {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A connection to the rater's database: `pg` for a server, PGlite in process for embedded. */
export async function openSql(db: string): Promise<Sql> {
  if (db.startsWith('embedded:')) {
    const store = await openStore(db);
    return {
      query: async <T>(text: string, params?: unknown[]) =>
        (await store.sql.query<T>(text, params)).rows,
      close: () => store.close(),
    };
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  return {
    query: async <T>(text: string, params?: unknown[]) =>
      (await client.query(text, params)).rows as T[],
    close: () => client.end(),
  };
}

export interface Billing {
  /** Rows in usage_records for the scenario's devices. */
  billed: number;
  lost: number;
  duplicated: number;
  /** Rows whose key no device ever sent (must be 0). */
  phantom: number;
  /** Sent, never acknowledged, and billed anyway (allowed: the PUBACK was lost). */
  unackedBilled: number;
  conflicts: number;
  bytesExact: boolean;
  problems: string[];
}

// Every sent key, marked acknowledged or not, fully joined with the billed keys.
const KEYS_SQL = `
  WITH sent AS (
    SELECT r.d AS device_id, 's:' || r.b || ':' || g AS record_key, r.acked
    FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::bool[]) AS r(d, b, lo, hi, acked),
         generate_series(r.lo, r.hi) AS g
  ), billed AS (
    SELECT device_id, record_key, count(*) AS n
    FROM usage_records WHERE device_id LIKE $6 GROUP BY device_id, record_key
  )
  SELECT count(*) FILTER (WHERE s.acked AND b.n IS NULL) AS lost,
         coalesce(sum(b.n - 1), 0) AS duplicated,
         count(*) FILTER (WHERE s.device_id IS NULL) AS phantom,
         coalesce(array_agg(b.device_id || ' ' || b.record_key)
                  FILTER (WHERE NOT s.acked AND b.n IS NOT NULL), '{}') AS unacked_billed
  FROM sent s FULL JOIN billed b ON b.device_id = s.device_id AND b.record_key = s.record_key`;

const RECORDS_SQL = `
  SELECT device_id, count(*) AS n, sum(up) AS up, sum(down) AS down
  FROM usage_records WHERE device_id LIKE $1 GROUP BY device_id`;

const ROLLUPS_SQL = `
  SELECT device_id, sum(records) AS n, sum(up) AS up, sum(down) AS down
  FROM usage_5m WHERE device_id LIKE $1 GROUP BY device_id`;

type Sums = { n: number; up: number; down: number };
type SumRow = { device_id: string; n: string; up: string; down: string };

function byDevice(rows: SumRow[]): Map<string, Sums> {
  return new Map(
    rows.map((r) => [r.device_id, { n: Number(r.n), up: Number(r.up), down: Number(r.down) }]),
  );
}

export async function checkBilling(sql: Sql, prefix: string, truth: Truth): Promise<Billing> {
  const like = `${prefix}-%`;
  const ranges = truth.devices.flatMap((d) => [
    ...d.acked.map((r) => ({ d, r, acked: true })),
    ...d.unacked.map((r) => ({ d, r, acked: false })),
  ]);
  const [keys] = await sql.query<{
    lost: string;
    duplicated: string;
    phantom: string;
    unacked_billed: string[];
  }>(KEYS_SQL, [
    ranges.map((x) => x.d.id),
    ranges.map((x) => x.d.boot),
    ranges.map((x) => x.r[0]),
    ranges.map((x) => x.r[1]),
    ranges.map((x) => x.acked),
    like,
  ]);
  if (!keys) throw new Error('the key check returned nothing');
  const records = byDevice(await sql.query<SumRow>(RECORDS_SQL, [like]));
  const rollups = byDevice(await sql.query<SumRow>(ROLLUPS_SQL, [like]));
  const [conflicts] = await sql.query<{ n: string }>(
    'SELECT count(*) AS n FROM usage_conflicts WHERE device_id LIKE $1',
    [like],
  );

  // Expected per device: the acknowledged truth plus any unacknowledged record that was billed.
  const expected = new Map<string, Sums>(
    truth.devices.map((d) => [
      d.id,
      { n: d.acked.reduce((s, [lo, hi]) => s + hi - lo + 1, 0), up: d.up, down: d.down },
    ]),
  );
  const indexOf = new Map(truth.devices.map((d) => [d.id, d.index]));
  for (const entry of keys.unacked_billed) {
    const [id = '', key = ''] = entry.split(' ');
    const seq = Number(key.slice(key.lastIndexOf(':') + 1));
    const b = recordBytes(indexOf.get(id) ?? -1, seq);
    const e = expected.get(id);
    if (e) Object.assign(e, { n: e.n + 1, up: e.up + b.up, down: e.down + b.down });
  }

  const problems: string[] = [];
  const zero: Sums = { n: 0, up: 0, down: 0 };
  for (const [id, e] of expected) {
    for (const [table, got] of [
      ['usage_records', records.get(id) ?? zero],
      ['usage_5m', rollups.get(id) ?? zero],
    ] as const) {
      if (got.n !== e.n || got.up !== e.up || got.down !== e.down)
        problems.push(
          `${id}: ${table} holds ${got.n} records, up ${got.up}, down ${got.down}; ` +
            `expected ${e.n}, ${e.up}, ${e.down}`,
        );
    }
  }
  const lost = Number(keys.lost);
  const duplicated = Number(keys.duplicated);
  const phantom = Number(keys.phantom);
  if (lost > 0) problems.push(`${lost} acknowledged records are not billed`);
  if (duplicated > 0) problems.push(`${duplicated} records are stored more than once`);
  if (phantom > 0) problems.push(`${phantom} billed records were never sent`);
  let billed = 0;
  for (const s of records.values()) billed += s.n;
  return {
    billed,
    lost,
    duplicated,
    phantom,
    unackedBilled: keys.unacked_billed.length,
    conflicts: Number(conflicts?.n ?? 0),
    bytesExact: problems.every((p) => !/usage_(records|5m) holds/.test(p)),
    problems: problems.slice(0, 10),
  };
}
