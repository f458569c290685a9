// A month of rollups summed where they are: the rating input of an account whose plans do not
// look at the time of day of a sample (rating/aggregate.ts `summarizable`). Instead of every
// 5-minute row (1,000 devices × a month = 8.9 M rows, which cost far more to turn into JS
// objects than to read), PostgreSQL returns
// - one summed sample per device, segment and dims key (usage charges, fixed fees, summaries);
// - per peak charge and device (or the account), the number of observed 5-minute intervals and
//   only the largest byte counts the figure needs (RatingInput.peaks, rating/peak.ts).
// The engine rates this input exactly as it rates the rows themselves; what stays in JS is the
// rule (nearest rank, which dims pass a filter), what moves to SQL is summing and sorting.
import { dimsMatch } from '../rating/aggregate.ts';
import { topNeeded } from '../rating/peak.ts';
import type { PeakCharge } from '../rating/plan.ts';
import type { DeviceInput, PeakInput, RatingInput, Sample } from '../rating/types.ts';
import { iso } from './catalog-rules.ts';
import { StorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

/** Epoch milliseconds of a timestamptz expression, exact (extract returns numeric). */
const msOf = (expr: string): string => `(extract(epoch FROM ${expr}) * 1000)::int8`;

/** An int8 or numeric integer from the database (a decimal string) as a number, never rounded. */
function int(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new StorageError('OUT_OF_RANGE', `${what} ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/** `{3,2,1}` (an integer array's text form) → [3, 2, 1]; NULL (no rows) → []. */
function intArray(text: string | null, what: string): number[] {
  if (text === null || text === '{}') return [];
  return text
    .slice(1, -1)
    .split(',')
    .map((v) => int(v, what));
}

/** Segment rows as unnest() parameters: $1 device ids, $2 segment index, $3 from, $4 to. */
interface SpanParams {
  ids: string[];
  segs: number[];
  froms: string[];
  tos: string[];
}

const SPANS = `unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[])
                 AS s (device_id, seg, from_ts, to_ts)
               JOIN usage_5m u ON u.device_id = s.device_id
                 AND u.bucket >= s.from_ts AND u.bucket < s.to_ts`;

function spanParams(devices: Iterable<DeviceInput>, plan?: string): SpanParams {
  const p: SpanParams = { ids: [], segs: [], froms: [], tos: [] };
  for (const d of devices)
    d.segments.forEach((s, i) => {
      if (plan !== undefined && `${s.planId}@${s.planVersion}` !== plan) return;
      p.ids.push(d.deviceId);
      p.segs.push(i);
      p.froms.push(iso(s.fromMs));
      p.tos.push(iso(s.toMs));
    });
  return p;
}

/** Runs a callback in a transaction on the snapshot of the rating read (one connection each). */
export type Reader = <T>(fn: (tx: SqlClient) => Promise<T>) => Promise<T>;

/** Directions as columns: in = down (to the device), out = up, sum = both per interval. */
type Direction = 'in' | 'out' | 'sum';
const COLUMN: Record<Direction, string> = { in: 'down', out: 'up', sum: 'down + up' };
const DIRECTIONS: Direction[] = ['in', 'out', 'sum'];
const directionsOf = (c: PeakCharge): Direction[] =>
  c.direction === 'max' ? ['in', 'out'] : [c.direction];

/**
 * `(array_agg(col ORDER BY col DESC))[1:m]` per direction: the largest values of a group, as
 * many as the nearest rank k = ceil(p·n/100) needs (n − k + 1). `m` is n − floor(p·n/100) + 1,
 * never fewer (integer division floors; every operand ≥ 0), for the lowest percentile asked;
 * 1 when only maxima are. Each group is sorted on its own, in memory.
 */
function topsSql(dirs: readonly Direction[], percentile: number | undefined): string {
  const m = percentile === undefined ? '1' : `count(*) - (${percentile} * count(*)) / 100 + 1`;
  return dirs
    .map((d) => `(array_agg(${COLUMN[d]} ORDER BY ${COLUMN[d]} DESC))[1:${m}]::text AS top_${d}`)
    .join(', ');
}

type TopColumns = { [D in Direction as `top_${D}`]?: string | null };

/** A summed sample, where it belongs, and the largest values of its rows (device-scope peaks). */
interface Cell {
  seg: number;
  sample: Sample;
  n: number;
  top: Partial<Record<Direction, number[]>>;
}

/**
 * Fills `devices`' samples with one summed sample per segment and dims key (bucketMs: the
 * earliest bucket, inside the segment) and sets `input.peaks`. [fromMs, toMs) bounds every
 * segment; repeated in the WHERE clause so TimescaleDB can skip chunks outside it.
 */
export async function loadSummaries(
  tx: SqlClient,
  input: RatingInput,
  devices: Map<string, DeviceInput>,
  fromMs: number,
  toMs: number,
  readers: Reader[] = [(fn) => fn(tx)],
): Promise<void> {
  const all = spanParams(devices.values());
  const bounds = [iso(fromMs), iso(toMs)];
  // Device-scope peaks: the same pass sorts each sample's rows, which is the device's series
  // whenever one sample makes it (one segment under the plan, one dims key passing).
  const dirs = new Set<Direction>();
  let lowest: number | undefined;
  for (const c of peakCharges(input))
    if (c.scope === 'device') {
      for (const d of directionsOf(c)) dirs.add(d);
      if (c.method === 'percentile') lowest = Math.min(lowest ?? 100, c.percentile);
    }
  const used = DIRECTIONS.filter((d) => dirs.has(d));
  const tops = used.length > 0 ? `, ${topsSql(used, lowest)}` : '';
  // Shares of the devices on the readers at once (each reader is one connection), all on one
  // snapshot; the rest of the work is small and runs on `tx`.
  const ordered = [...devices.values()];
  const per = Math.ceil(ordered.length / readers.length);
  const parts = await Promise.all(
    readers.map((read, k) => {
      const share = spanParams(ordered.slice(k * per, (k + 1) * per));
      return share.ids.length === 0 ? [] : read((t) => cellRows(t, share, bounds, used, tops));
    }),
  );
  const rows = parts.flat();
  const cells = new Map<string, Cell[]>();
  const withMeters = new Map<string, Sample>();
  for (const r of rows) {
    const sample: Sample = {
      bucketMs: int(r.ms, 'bucket'),
      dims: r.dims,
      dimsKey: r.dims_key,
      up: int(r.up, 'up bytes'),
      down: int(r.down, 'down bytes'),
      records: int(r.records, 'record count'),
      meters: {},
    };
    const d = devices.get(r.device_id);
    if (!d) continue;
    d.samples.push(sample);
    const top: Cell['top'] = {};
    for (const dir of used) top[dir] = intArray(r[`top_${dir}`] ?? null, `${dir} bytes`);
    let list = cells.get(d.deviceId);
    if (!list) cells.set(d.deviceId, (list = []));
    list.push({ seg: r.seg, sample, n: r.n, top });
    if (r.has_meters) withMeters.set(`${r.device_id}\n${r.seg}\n${r.dims_key}`, sample);
  }
  if (withMeters.size > 0) await loadMeterSums(tx, all, bounds, withMeters);
  input.peaks = await loadPeaks(tx, input, devices, cells);
}

type CellRow = {
  device_id: string;
  seg: number;
  dims_key: string;
  dims: Record<string, string>;
  ms: string;
  up: string;
  down: string;
  records: string;
  has_meters: boolean;
  n: number;
} & TopColumns;

/** The main statement: per device segment and dims key, the sums and the largest values. */
async function cellRows(
  t: SqlClient,
  spans: SpanParams,
  bounds: string[],
  used: Direction[],
  tops: string,
): Promise<CellRow[]> {
  const { rows } = await t.query<CellRow>(
    // Device by device (the index's order): grouped by dims key without hashing, and the dims
    // looked up once per group rather than compared on every row. An empty jsonb object takes
    // 5 bytes on disk (8 in memory) and any member makes it larger: a cheap "has meters" test
    // that cannot miss one.
    `SELECT s.device_id, s.seg, x.dims_key, x.ms, x.up, x.down, x.records, x.has_meters, x.n,
            ${used.map((d) => `x.top_${d}`).join(', ') || 'NULL AS none'},
            (SELECT v.dims FROM usage_5m v WHERE v.device_id = s.device_id
               AND v.dims_key = x.dims_key AND v.bucket = x.first) AS dims
     FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[])
            AS s (device_id, seg, from_ts, to_ts),
          LATERAL (SELECT u.dims_key, min(u.bucket) AS first, ${msOf('min(u.bucket)')} AS ms,
                          sum(u.up)::text AS up, sum(u.down)::text AS down,
                          sum(u.records)::text AS records,
                          bool_or(pg_column_size(u.meters) > 8) AS has_meters,
                          count(*)::int AS n ${tops}
                   FROM usage_5m u
                   WHERE u.device_id = s.device_id
                     AND u.bucket >= s.from_ts AND u.bucket < s.to_ts
                     AND u.bucket >= $5::timestamptz AND u.bucket < $6::timestamptz
                   GROUP BY u.dims_key) x`,
    [spans.ids, spans.segs, spans.froms, spans.tos, ...bounds],
  );
  return rows;
}

function* peakCharges(input: RatingInput): Generator<PeakCharge> {
  for (const v of Object.values(input.plans))
    for (const c of v.plan.charges) if (c.type === 'peak') yield c;
}

/** Other meters summed per cell, as exact decimal strings (numeric sums of jsonb numbers). */
async function loadMeterSums(
  tx: SqlClient,
  spans: SpanParams,
  bounds: string[],
  cells: Map<string, Sample>,
): Promise<void> {
  const { rows } = await tx.query<{
    device_id: string;
    seg: number;
    dims_key: string;
    name: string;
    total: string;
  }>(
    `SELECT s.device_id, s.seg, u.dims_key, m.key AS name, sum(m.value::numeric)::text AS total
     FROM ${SPANS}, jsonb_each_text(u.meters) AS m (key, value)
     WHERE u.bucket >= $5::timestamptz AND u.bucket < $6::timestamptz
       AND u.meters <> '{}'::jsonb
     GROUP BY s.device_id, s.seg, u.dims_key, m.key`,
    [spans.ids, spans.segs, spans.froms, spans.tos, ...bounds],
  );
  for (const r of rows) {
    const cell = cells.get(`${r.device_id}\n${r.seg}\n${r.dims_key}`);
    if (cell) cell.meters[r.name] = r.total;
  }
}

/** Per device, its segments under one plan version as one multirange ($1 ids, $2 from, $3 to). */
const DEVICE_SPANS = `SELECT s.device_id, range_agg(tstzrange(s.from_ts, s.to_ts)) AS spans,
                             min(s.from_ts) AS lo, max(s.to_ts) AS hi
                      FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[])
                        AS s (device_id, from_ts, to_ts)
                      GROUP BY s.device_id`;
/** Rows of device `d` inside its spans under dims keys $4 (lo/hi bound the index scan). */
const ROWS_OF_DEVICE = `u.device_id = d.device_id AND u.bucket >= d.lo AND u.bucket < d.hi
                        AND u.bucket <@ d.spans AND u.dims_key = ANY($4::text[])`;

/**
 * Every peak charge's series, reduced. A device whose series under a plan version is one cell
 * takes the cell's largest values; the others (several dims keys passing, or several segments
 * under the version) and the account's series (its devices summed per interval) are summed per
 * interval and sorted in one more statement per charge.
 */
async function loadPeaks(
  tx: SqlClient,
  input: RatingInput,
  devices: Map<string, DeviceInput>,
  cells: Map<string, Cell[]>,
): Promise<PeakInput[]> {
  const out: PeakInput[] = [];
  for (const [plan, version] of Object.entries(input.plans))
    for (const c of version.plan.charges) {
      if (c.type !== 'peak') continue;
      if (c.method === 'daily_peak_avg')
        // loadRatingInput checks `summarizable` first: reaching this is a caller's mistake.
        throw new Error(`peak charge ${c.id} (daily_peak_avg) needs its series, not a summary`);
      const method = c.method; // narrowed: percentile or max
      const dirs = directionsOf(c);
      const series = new Map<DeviceInput, Cell[]>();
      for (const d of devices.values()) {
        const mine = new Set(
          d.segments.flatMap((s, i) => (`${s.planId}@${s.planVersion}` === plan ? [i] : [])),
        );
        if (mine.size === 0) continue;
        const parts = (cells.get(d.deviceId) ?? []).filter(
          (x) => mine.has(x.seg) && (!c.filter || dimsMatch(c.filter, x.sample.dims)),
        );
        if (parts.length > 0) series.set(d, parts);
      }
      const rest: DeviceInput[] = [];
      for (const [d, parts] of series) {
        const only = parts.length === 1 ? parts[0] : undefined;
        if (c.scope === 'device' && only) {
          const need = topNeeded(method, c.percentile, only.n);
          const top = Object.fromEntries(
            dirs.map((dir) => [dir, (only.top[dir] ?? []).slice(0, need)]),
          );
          out.push({ plan, charge: c.id, device: d.deviceId, summary: { observed: only.n, top } });
        } else rest.push(d);
      }
      if (rest.length === 0) continue;
      const keys = [...new Set([...series.values()].flat().map((x) => x.sample.dimsKey ?? ''))];
      const spans = spanParams(rest, plan);
      const params = [spans.ids, spans.froms, spans.tos, keys];
      const tops = topsSql(dirs, method === 'percentile' ? c.percentile : undefined);
      type Row = { n: number } & TopColumns;
      const summary = (r: Row) => {
        const need = topNeeded(method, c.percentile, r.n);
        const top = (dir: Direction) =>
          intArray(r[`top_${dir}`] ?? null, `${c.id} ${dir}`).slice(0, need);
        return { observed: r.n, top: Object.fromEntries(dirs.map((dir) => [dir, top(dir)])) };
      };
      if (c.scope === 'account') {
        const { rows } = await tx.query<Row>(
          `SELECT count(*)::int AS n, ${tops}
           FROM (SELECT sum(u.down) AS down, sum(u.up) AS up
                 FROM (${DEVICE_SPANS}) d JOIN usage_5m u ON ${ROWS_OF_DEVICE}
                 GROUP BY u.bucket) r`,
          params,
        );
        const r = rows[0];
        if (r && r.n > 0) out.push({ plan, charge: c.id, summary: summary(r) });
        continue;
      }
      const { rows } = await tx.query<{ device_id: string } & Row>(
        `SELECT d.device_id, x.*
         FROM (${DEVICE_SPANS}) d,
              LATERAL (SELECT count(*)::int AS n, ${tops}
                       FROM (SELECT sum(u.down) AS down, sum(u.up) AS up FROM usage_5m u
                             WHERE ${ROWS_OF_DEVICE} GROUP BY u.bucket) r) x
         WHERE x.n > 0`,
        params,
      );
      for (const r of rows)
        out.push({ plan, charge: c.id, device: r.device_id, summary: summary(r) });
    }
  return out;
}
