// Cells of a summed rating input: per device, segment and dims key, one summed sample, its count
// of 5-minute rows and the largest values its device-scope peaks need. Two plans read them:
// - by index (here): each device's rows walked through usage_5m_key, sorted per cell; cheap for a
//   few devices, or when a device's rows lie together on disk;
// - by scan (rating-scan.ts): one sequential pass over the month, whatever the physical order.
// Both give the same cells; rating-summary.ts chooses, and turns cells into the input.
import { topNeeded } from '../rating/peak.ts';
import type { DeviceInput, Sample } from '../rating/types.ts';
import { iso } from './catalog-rules.ts';
import { StorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

/** Epoch milliseconds of a timestamptz expression, exact (extract returns numeric). */
export const msOf = (expr: string): string => `(extract(epoch FROM ${expr}) * 1000)::int8`;

/** An int8 or numeric integer from the database (a decimal string) as a number, never rounded. */
export function int(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new StorageError('OUT_OF_RANGE', `${what} ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/** A 5-minute row (stored, or summed per cell) as a rating sample; integers exact. */
export function sampleOf(
  r: {
    ms: string;
    dims: Record<string, string>;
    dims_key: string;
    up: string;
    down: string;
    records: string;
  },
  meters: Sample['meters'],
): Sample {
  return {
    bucketMs: int(r.ms, 'bucket'),
    dims: r.dims,
    dimsKey: r.dims_key,
    up: int(r.up, 'up bytes'),
    down: int(r.down, 'down bytes'),
    records: int(r.records, 'record count'),
    meters,
  };
}

/** `{3,2,1}` (an integer array's text form) → [3, 2, 1]; NULL (no rows) → []. */
export function intArray(text: string | null, what: string): number[] {
  if (text === null || text === '{}') return [];
  return text
    .slice(1, -1)
    .split(',')
    .map((v) => int(v, what));
}

/** Runs a callback in a transaction on the snapshot of the rating read (one connection each). */
export type Reader = <T>(fn: (tx: SqlClient) => Promise<T>) => Promise<T>;

/** Segment rows as unnest() parameters: device ids, segment index, from, to. */
export interface SpanParams {
  ids: string[];
  segs: number[];
  froms: string[];
  tos: string[];
}

export function spanParams(devices: Iterable<DeviceInput>, plan?: string): SpanParams {
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

/** The spans whose index passes `keep`. */
export function spansOf(spans: SpanParams, keep: (i: number) => boolean): SpanParams {
  const out: SpanParams = { ids: [], segs: [], froms: [], tos: [] };
  spans.ids.forEach((id, i) => {
    if (!keep(i)) return;
    out.ids.push(id);
    out.segs.push(spans.segs[i] ?? 0);
    out.froms.push(spans.froms[i] ?? '');
    out.tos.push(spans.tos[i] ?? '');
  });
  return out;
}

/** Directions as columns: in = down (to the device), out = up, sum = both per interval. */
export type Direction = 'in' | 'out' | 'sum';
export const COLUMN: Record<Direction, string> = { in: 'down', out: 'up', sum: 'down + up' };
export const DIRECTIONS: Direction[] = ['in', 'out', 'sum'];

/** What the device-scope peak charges need of each cell: directions, and the lowest percentile. */
export interface Wanted {
  dirs: Direction[];
  /** Undefined when every device-scope peak is a maximum (one value each). */
  lowest?: number;
}

/** How many of a cell's largest values every device-scope peak charge on it has enough of. */
export const topCount = (w: Wanted, n: number): number =>
  w.lowest === undefined ? topNeeded('max', 100, n) : topNeeded('percentile', w.lowest, n);

/** One cell: where it belongs, its sums as the database gave them, and its largest values. */
export interface CellRow {
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
  top: Partial<Record<Direction, number[]>>;
}

/** A row's sums and place as a cell, with its largest values (without the raw top_* columns). */
export function cellOf(r: Omit<CellRow, 'top'>, top: CellRow['top']): CellRow {
  const { device_id, seg, dims_key, dims, ms, up, down, records, has_meters, n } = r;
  return { device_id, seg, dims_key, dims, ms, up, down, records, has_meters, n, top };
}

/**
 * `(array_agg(col ORDER BY col DESC))[1:m]` per direction: the largest values of a group, as
 * many as the nearest rank k = ceil(p·n/100) needs (n − k + 1). `m` is n − floor(p·n/100) + 1,
 * never fewer (integer division floors; every operand ≥ 0), for the lowest percentile asked;
 * 1 when only maxima are. Each group is sorted on its own, in memory.
 */
export function topsSql(dirs: readonly Direction[], percentile: number | undefined): string {
  const m = percentile === undefined ? '1' : `count(*) - (${percentile} * count(*)) / 100 + 1`;
  return dirs
    .map((d) => `(array_agg(${COLUMN[d]} ORDER BY ${COLUMN[d]} DESC))[1:${m}]::text AS top_${d}`)
    .join(', ');
}

export type TopColumns = { [D in Direction as `top_${D}`]?: string | null };

/** The index plan: per device segment and dims key, the sums and the largest values. */
export async function indexCells(
  t: SqlClient,
  spans: SpanParams,
  bounds: string[],
  wanted: Wanted,
): Promise<CellRow[]> {
  const used = wanted.dirs;
  const tops = used.length > 0 ? `, ${topsSql(used, wanted.lowest)}` : '';
  const { rows } = await t.query<Omit<CellRow, 'top'> & TopColumns>(
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
  return rows.map((r) => {
    const top: CellRow['top'] = {};
    for (const dir of used) top[dir] = intArray(r[`top_${dir}`] ?? null, `${dir} bytes`);
    return cellOf(r, top);
  });
}
