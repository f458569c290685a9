// The scan plan for cells (rating-cells.ts): when an account's month is a large share of
// usage_5m, one sequential pass over the table costs less than walking each device's rows
// through the index. Ingest writes rows in time order, so a page holds one bucket of many devices
// and the walk touches about one page per row (9.0 M buffers for 8.9 M rows, measured), while a
// pass reads each page once, and the readers share it by ranges of pages.
//
// The pass hash-aggregates per device, segment and dims key: the sums, the count, and of each
// peak direction only the values at or above a per-device threshold, unsorted. The thresholds
// come from a sample of the table's pages (TABLESAMPLE SYSTEM, ~2 % of them): for each device and
// direction, a value the sample says lies safely below the largest values the rank needs. The
// sample only makes the pass cheap, never the result: a cell is exact when the pass returned at
// least as many values as its rank needs — every value at or above a threshold came back, so the
// largest of them are the cell's largest — and a cell with fewer (an unlucky sample) is read
// again by index, with its device's other cells.
//
// Devices whose one span covers the period (the usual month) are joined by device alone; the
// others need their spans' bounds checked on every row. When those others are few, the pass
// leaves them out and they too are read by index (shapeOf).
import {
  COLUMN,
  int,
  msOf,
  topCount,
  cellOf,
  spansOf,
  type Reader,
  type CellRow,
  type Direction,
  type SpanParams,
  type Wanted,
} from './rating-cells.ts';
import { sampled, thresholds } from './rating-thresholds.ts';
import type { SqlClient } from './sql.ts';

/**
 * The scan plan pays off when the account's rows are at least this share of the table: with
 * time-ordered rows the index walk costs ~2.9 µs of database CPU per account row, the scan
 * ~0.3 µs per table row read plus ~0.65 µs per account row (measured, 1,000 devices; bench
 * README), even at ~13 %. Rounded up: where rows lie by device the index walk is cheaper.
 */
export const SCAN_SHARE = 0.2;

/** Rows of usage_5m as the planner's statistics have them (a hypertable: its chunks summed). */
export async function tableRows(tx: SqlClient): Promise<number> {
  // reltuples is -1 before the first ANALYZE: the size on disk, at ~40 rows a page, stands in.
  const { rows } = await tx.query<{ n: number | null }>(
    `SELECT sum(CASE WHEN c.reltuples >= 0 THEN c.reltuples
                     ELSE pg_relation_size(c.oid) / 8192 * 40 END)::float8 AS n
     FROM pg_class c
     WHERE c.oid = 'usage_5m'::regclass
        OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'usage_5m'::regclass)`,
  );
  return rows[0]?.n ?? 0;
}

/** The lowest int8: "no threshold", every value of the direction comes back. */
const ALL = '-9223372036854775808';

/** Planner settings the pass sets for itself (and puts back: the transaction goes on). */
const SETTINGS: Record<string, string> = {
  // Left to itself the planner walks the index per device, as if a device's rows lay together.
  enable_nestloop: 'off',
  enable_mergejoin: 'off',
  // Cells are hashed: sorting the month's rows by cell spilled to disk (measured). The planner
  // cannot know how few cells there are (a segment is computed per row).
  enable_sort: 'off',
  // Compiling the statement with inlining and optimisation took ~1 s of the pass (measured).
  jit: 'off',
  // Room for the hash table of cells and their values at or above the thresholds (tens of MB
  // for 1,000 devices): spilling it to disk tripled the pass (measured).
  work_mem: '256MB',
};

type PassRow = Omit<CellRow, 'top'> & { [D in Direction as `top_${D}`]?: string | null };

/**
 * The cells of `spans` in one pass shared out among `readers` (array_agg has no partial form
 * before PostgreSQL 16, so the server's own parallel workers cannot share it): each reads one
 * range of the table's pages by ctid, and their partial cells are added up here. Also returns
 * the devices whose cells the pass could not complete (fewer values at or above a threshold
 * than the rank needs) and those it left out (a few devices not covering the period, see
 * REST_SHARE): the caller reads those by index. `pick` chooses the thresholds (tests pass wrong
 * ones to show a short cell is caught).
 */
export async function scanCells(
  tx: SqlClient,
  readers: Reader[],
  spans: SpanParams,
  bounds: string[],
  wanted: Wanted,
  pick: typeof thresholds = thresholds,
): Promise<{ rows: CellRow[]; short: Set<string> }> {
  const used = wanted.dirs;
  const { whole, rest } = shapeOf(spans, bounds);
  // Whole devices alone when the rest are few: those are read by index (the caller's re-read).
  const form: Form =
    whole.ids.length > 0 && rest.rows * REST_SHARE <= whole.rows ? 'whole' : 'bounded';
  const set = form === 'whole' ? whole.spans : spans;
  // Thresholds only for the devices the pass reads.
  const floors =
    used.length > 0 ? await sampled(tx, readers, set, bounds, wanted, pick) : new Map();
  const floor = (dir: Direction) => set.ids.map((id) => floors.get(id)?.[dir] ?? ALL);
  const params = [
    set.ids,
    set.segs,
    ...(form === 'whole' ? [] : [set.froms, set.tos]),
    floor('in'),
    floor('out'),
    floor('sum'),
    ...bounds,
  ];
  const ranges = await pageRanges(tx, readers.length);
  const parts = await Promise.all(
    ranges.map((range, k) => {
      const read = readers[k] ?? ((fn) => fn(tx));
      return read((t) => passRows(t, form, used, params, range));
    }),
  );
  // Partial cells of one cell (one per page range at most) added up; values kept as text.
  const cells = new Map<string, { row: PassRow; tops: Partial<Record<Direction, string[]>> }>();
  for (const r of parts.flat()) {
    const key = `${r.device_id}\n${r.seg}\n${r.dims_key}`;
    const cell = cells.get(key);
    if (!cell) {
      const tops: Partial<Record<Direction, string[]>> = {};
      for (const d of used) tops[d] = [r[`top_${d}`] ?? '{}'];
      cells.set(key, { row: r, tops });
      continue;
    }
    const c = cell.row;
    c.n += r.n;
    c.up = (BigInt(c.up) + BigInt(r.up)).toString();
    c.down = (BigInt(c.down) + BigInt(r.down)).toString();
    c.records = (BigInt(c.records) + BigInt(r.records)).toString();
    c.has_meters ||= r.has_meters;
    if (BigInt(r.ms) < BigInt(c.ms)) {
      c.ms = r.ms;
      c.dims = r.dims;
    }
    for (const d of used) cell.tops[d]?.push(r[`top_${d}`] ?? '{}');
  }
  const short = new Set<string>(form === 'whole' ? rest.ids : []);
  const out: CellRow[] = [];
  for (const { row: r, tops } of cells.values()) {
    const need = topCount(wanted, r.n);
    const top: CellRow['top'] = {};
    for (const dir of used) {
      const values = largest(tops[dir] ?? [], `${dir} bytes`);
      if (values.length < need) short.add(r.device_id);
      top[dir] = values.slice(0, need);
    }
    out.push(cellOf(r, top));
  }
  return { rows: out.filter((r) => !short.has(r.device_id)), short };
}

/**
 * Rows of devices whose one span covers the whole period are told apart by device alone: the
 * period bounds the pass anyway. Bounding the rows of the others (their spans' ends, their
 * segments by width_bucket) on every row of the table took 2.1 of 7.9 CPU-s for a month of
 * 1,000 devices (one backend reading the whole table, measured).
 */
type Form = 'whole' | 'bounded';

/**
 * With the rest's rows at most this share of the whole devices', the pass reads only the whole
 * devices and the rest are read by index: the index walk costs ~2.9 µs of database CPU per row,
 * the bounded form ~0.27 µs more per row of the whole devices than the whole form (measured).
 */
export const REST_SHARE = 10;

/** The devices of `spans` with one span covering [bounds), and the rest; rows estimated. */
function shapeOf(
  spans: SpanParams,
  bounds: string[],
): {
  whole: { ids: string[]; spans: SpanParams; rows: number };
  rest: { ids: string[]; rows: number };
} {
  const lo = Date.parse(bounds[0] ?? '');
  const hi = Date.parse(bounds[1] ?? '');
  const count = new Map<string, number>();
  for (const id of spans.ids) count.set(id, (count.get(id) ?? 0) + 1);
  const isWhole = spans.ids.map(
    (id, i) =>
      count.get(id) === 1 &&
      Date.parse(spans.froms[i] ?? '') <= lo &&
      Date.parse(spans.tos[i] ?? '') >= hi,
  );
  let wholeRows = 0;
  let restRows = 0;
  const rest = new Set<string>();
  spans.ids.forEach((id, i) => {
    const from = Math.max(Date.parse(spans.froms[i] ?? ''), lo);
    const rows = Math.max(0, Math.min(Date.parse(spans.tos[i] ?? ''), hi) - from) / 300_000;
    if (isWhole[i]) wholeRows += rows;
    else {
      restRows += rows;
      rest.add(id);
    }
  });
  const whole = spansOf(spans, (i) => isWhole[i] === true);
  return {
    whole: { ids: whole.ids, spans: whole, rows: wholeRows },
    rest: { ids: [...rest], rows: restRows },
  };
}

/**
 * `count` ranges of block numbers covering every page of usage_5m (of each chunk, for a
 * hypertable: the ranges then cut every chunk alike), as [from, to) with the last one open;
 * a single open range when the table is small.
 */
async function pageRanges(tx: SqlClient, count: number): Promise<Array<[number, number?]>> {
  if (count <= 1) return [[0]];
  const { rows } = await tx.query<{ pages: number | null }>(
    `SELECT max(pg_relation_size(c.oid) / current_setting('block_size')::int)::float8 AS pages
     FROM pg_class c
     WHERE c.oid = 'usage_5m'::regclass
        OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'usage_5m'::regclass)`,
  );
  const pages = rows[0]?.pages ?? 0;
  if (pages < 64 * count) return [[0]];
  return Array.from({ length: count }, (_, k) => {
    const from = Math.floor((k * pages) / count);
    return k === count - 1 ? [from] : [from, Math.floor(((k + 1) * pages) / count)];
  });
}

/** One page range's partial cells (see scanCells), read in the given form. */
async function passRows(
  t: SqlClient,
  form: Form,
  used: Direction[],
  params: unknown[],
  [from, to]: [number, number?],
): Promise<PassRow[]> {
  // Parameters: ids, segs, [froms, tos,] the three thresholds, the period's bounds.
  const n = form === 'whole' ? 2 : 4;
  const [tIn, tOut, tSum, lo, hi] = [1, 2, 3, 4, 5].map((k) => `$${n + k}`);
  const tops = used
    .map(
      (d) => `, array_agg(${COLUMN[d]}) FILTER (WHERE ${COLUMN[d]} >= r.t_${d})::text AS top_${d}`,
    )
    .join('');
  const pages = [
    `u.bucket >= ${lo}::timestamptz`,
    `u.bucket < ${hi}::timestamptz`,
    ...(from > 0 ? [`u.ctid >= '(${from},0)'::tid`] : []),
    ...(to !== undefined ? [`u.ctid < '(${to},0)'::tid`] : []),
  ].join(' AND ');
  // The devices are hashed for the join, one row each, grouped: a unique key (a function's
  // output has no statistics, and the planner would hash the table instead, measured).
  const rowsOf =
    form === 'whole'
      ? `SELECT d.k, u.dims_key, u.bucket, u.up, u.down, u.records, u.meters,
                d.t_in, d.t_out, d.t_sum, d.seg
         FROM (SELECT s.device_id, min(s.k) AS k, min(s.seg) AS seg,
                      min(s.t_in) AS t_in, min(s.t_out) AS t_out, min(s.t_sum) AS t_sum
               FROM unnest($1::text[], $2::int[], ${tIn}::int8[], ${tOut}::int8[], ${tSum}::int8[])
                      WITH ORDINALITY AS s (device_id, seg, t_in, t_out, t_sum, k)
               GROUP BY s.device_id) d
         JOIN usage_5m u ON u.device_id = d.device_id
         WHERE ${pages}`
      : // A device with one segment bounds its rows with two comparisons; with several, a row's
        // segment is the last that starts at or before it (width_bucket, a binary search), if
        // the row lies before that segment's end (0.8 CPU-s of 3.0 for half the table when done
        // for every device, measured).
        `SELECT d.k, u.dims_key, u.bucket, u.up, u.down, u.records, u.meters,
                d.t_in, d.t_out, d.t_sum,
                CASE WHEN d.froms IS NULL THEN d.seg
                     ELSE d.segs[width_bucket(u.bucket, d.froms)] END AS seg
         FROM (SELECT s.device_id, min(s.k) AS k, min(s.seg) AS seg,
                      min(s.from_ts) AS lo, max(s.to_ts) AS hi,
                      CASE WHEN count(*) > 1 THEN array_agg(s.seg ORDER BY s.from_ts) END AS segs,
                      CASE WHEN count(*) > 1
                        THEN array_agg(s.from_ts ORDER BY s.from_ts) END AS froms,
                      CASE WHEN count(*) > 1
                        THEN array_agg(s.to_ts ORDER BY s.from_ts) END AS tos,
                      min(s.t_in) AS t_in, min(s.t_out) AS t_out, min(s.t_sum) AS t_sum
               FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[],
                           ${tIn}::int8[], ${tOut}::int8[], ${tSum}::int8[])
                      WITH ORDINALITY AS s (device_id, seg, from_ts, to_ts, t_in, t_out, t_sum, k)
               GROUP BY s.device_id) d
         JOIN usage_5m u ON u.device_id = d.device_id
           AND u.bucket >= d.lo AND u.bucket < d.hi
           AND (d.froms IS NULL OR u.bucket < d.tos[width_bucket(u.bucket, d.froms)])
         WHERE ${pages}`;
  const names = Object.keys(SETTINGS);
  const { rows: before } = await t.query<Record<string, string>>(
    `SELECT ${names.map((n) => `current_setting('${n}') AS ${n}`).join(', ')}`,
  );
  const set = (values: string[]) =>
    t.query(
      `SELECT ${names.map((n, k) => `set_config('${n}', $${k + 1}, true)`).join(', ')}`,
      values,
    );
  await set(names.map((n) => SETTINGS[n] ?? ''));
  try {
    // Grouped by the device's place in $1, an integer, rather than by its id: hashing and
    // comparing the text on every row cost ~8 % of the pass (measured, one backend).
    const sql = `SELECT ($1::text[])[x.k] AS device_id, x.seg, x.dims_key, x.ms, x.up, x.down,
                        x.records, x.has_meters, x.n${used.map((d) => `, x.top_${d}`).join('')},
                        (SELECT v.dims FROM usage_5m v WHERE v.device_id = ($1::text[])[x.k]
                           AND v.dims_key = x.dims_key AND v.bucket = x.first) AS dims
       FROM (SELECT r.k, r.seg, r.dims_key, min(r.bucket) AS first,
                    ${msOf('min(r.bucket)')} AS ms, sum(r.up)::text AS up,
                    sum(r.down)::text AS down, sum(r.records)::text AS records,
                    bool_or(pg_column_size(r.meters) > 8) AS has_meters, count(*)::int AS n ${tops}
             FROM (${rowsOf}) r
             GROUP BY r.k, r.seg, r.dims_key) x`;
    const { rows } = await t.query<PassRow>(sql, params);
    return rows;
  } finally {
    const old = before[0] ?? {};
    await set(names.map((n) => old[n] ?? ''));
  }
}

/**
 * Unordered integer arrays' text forms (`{3,1,2}`), their values largest first. Read digit by
 * digit: splitting into strings and converting each took most of this process' time for a
 * month of 1,000 devices (~2 M values, profiled). Like the index plan, a value beyond
 * Number.MAX_SAFE_INTEGER is an error naming the largest (the first it would meet).
 */
function largest(texts: string[], what: string): number[] {
  // At most one value per two characters ("1,"): sized without a counting pass.
  let room = 0;
  for (const t of texts) room += (t.length + 1) >> 1;
  const values = new Float64Array(room);
  let k = 0;
  let safe = true;
  for (const t of texts) {
    if (t.length <= 2) continue; // {}
    let v = 0;
    let sign = 1;
    for (let i = 1; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
      else if (c === 45) sign = -1;
      else {
        // ',' or '}': one value done
        if (v > Number.MAX_SAFE_INTEGER) safe = false;
        values[k++] = sign * v;
        v = 0;
        sign = 1;
      }
    }
  }
  if (!safe) {
    const parts = texts.flatMap((t) => (t.length <= 2 ? [] : t.slice(1, -1).split(',')));
    const max = parts.reduce((a, b) => (BigInt(b) > BigInt(a) ? b : a));
    int(max, what); // throws
  }
  // Largest first, into a plain array (Array.from over a typed array walks its iterator: a third
  // of this function's time, measured).
  const sorted = values.subarray(0, k).sort();
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) out[i] = sorted[k - 1 - i] as number;
  return out;
}
