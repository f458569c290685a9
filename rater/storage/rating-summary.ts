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
import {
  DIRECTIONS,
  indexCells,
  intArray,
  sampleOf,
  spanParams,
  topsSql,
  type CellRow,
  type Direction,
  type Reader,
  type SpanParams,
  type TopColumns,
  type Wanted,
} from './rating-cells.ts';
import { SCAN_SHARE, scanCells, tableRows } from './rating-scan.ts';
import type { SqlClient } from './sql.ts';

const SPANS = `unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[])
                 AS s (device_id, seg, from_ts, to_ts)
               JOIN usage_5m u ON u.device_id = s.device_id
                 AND u.bucket >= s.from_ts AND u.bucket < s.to_ts`;

const directionsOf = (c: PeakCharge): Direction[] =>
  c.direction === 'max' ? ['in', 'out'] : [c.direction];

/** A summed sample, where it belongs, and the largest values of its rows (device-scope peaks). */
interface Cell {
  seg: number;
  sample: Sample;
  n: number;
  top: Partial<Record<Direction, number[]>>;
}

/** How the cells are read (rating-cells.ts): by index, by one pass over the table, or chosen. */
export type SummaryPlan = 'index' | 'scan';

/**
 * Fills `devices`' samples with one summed sample per segment and dims key (bucketMs: the
 * earliest bucket, inside the segment) and sets `input.peaks`. [fromMs, toMs) bounds every
 * segment; repeated in the WHERE clause so TimescaleDB can skip chunks outside it.
 *
 * The plan: by scan when the account's rows (at most one per device and 5 minutes of its
 * segments) are at least SCAN_SHARE of the table's, else by index, shared out among `readers`.
 * `plan` forces one (tests, benchmarks).
 */
export async function loadSummaries(
  tx: SqlClient,
  input: RatingInput,
  devices: Map<string, DeviceInput>,
  fromMs: number,
  toMs: number,
  readers: Reader[] = [(fn) => fn(tx)],
  plan?: SummaryPlan,
): Promise<void> {
  const all = spanParams(devices.values());
  const bounds = [iso(fromMs), iso(toMs)];
  // Device-scope peaks: the same pass keeps each cell's largest values, which are the device's
  // series' whenever one cell makes it (one segment under the plan, one dims key passing).
  const dirs = new Set<Direction>();
  let lowest: number | undefined;
  for (const c of peakCharges(input))
    if (c.scope === 'device') {
      for (const d of directionsOf(c)) dirs.add(d);
      if (c.method === 'percentile') lowest = Math.min(lowest ?? 100, c.percentile);
    }
  const wanted: Wanted = {
    dirs: DIRECTIONS.filter((d) => dirs.has(d)),
    ...(lowest === undefined ? {} : { lowest }),
  };
  const ordered = [...devices.values()];
  const byIndex = async (share: DeviceInput[]): Promise<CellRow[]> => {
    // Shares of the devices on the readers at once (each reader is one connection), all on one
    // snapshot; the rest of the work is small and runs on `tx`.
    const per = Math.ceil(share.length / readers.length);
    const parts = await Promise.all(
      readers.map((read, k) => {
        const spans = spanParams(share.slice(k * per, (k + 1) * per));
        return spans.ids.length === 0 ? [] : read((t) => indexCells(t, spans, bounds, wanted));
      }),
    );
    return parts.flat();
  };
  let rows: CellRow[];
  if ((plan ?? (await choosePlan(tx, ordered, fromMs, toMs))) === 'scan') {
    const scanned = await scanCells(tx, readers, all, bounds, wanted);
    const again = ordered.filter((d) => scanned.short.has(d.deviceId));
    rows = again.length > 0 ? [...scanned.rows, ...(await byIndex(again))] : scanned.rows;
  } else rows = await byIndex(ordered);
  const cells = new Map<string, Cell[]>();
  const withMeters = new Map<string, Sample>();
  for (const r of rows) {
    const sample = sampleOf(r, {});
    const d = devices.get(r.device_id);
    if (!d) continue;
    d.samples.push(sample);
    let list = cells.get(d.deviceId);
    if (!list) cells.set(d.deviceId, (list = []));
    list.push({ seg: r.seg, sample, n: r.n, top: r.top });
    if (r.has_meters) withMeters.set(`${r.device_id}\n${r.seg}\n${r.dims_key}`, sample);
  }
  if (withMeters.size > 0) await loadMeterSums(tx, all, bounds, withMeters);
  input.peaks = await loadPeaks(tx, input, devices, cells);
}

/**
 * The scan plan when the account's rows could be SCAN_SHARE of the table's or more: every device
 * counted as reporting every 5 minutes of its segments inside [fromMs, toMs) (an upper bound),
 * the table as the planner's statistics count it.
 */
async function choosePlan(
  tx: SqlClient,
  devices: DeviceInput[],
  fromMs: number,
  toMs: number,
): Promise<SummaryPlan> {
  let ms = 0;
  for (const d of devices)
    for (const s of d.segments)
      ms += Math.max(0, Math.min(s.toMs, toMs) - Math.max(s.fromMs, fromMs));
  const rows = ms / 300_000;
  return rows >= SCAN_SHARE * (await tableRows(tx)) ? 'scan' : 'index';
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
