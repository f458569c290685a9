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
): Promise<void> {
  const all = spanParams(devices.values());
  const bounds = [iso(fromMs), iso(toMs)];
  const { rows } = await tx.query<{
    device_id: string;
    seg: number;
    dims_key: string;
    dims: Record<string, string>;
    ms: string;
    up: string;
    down: string;
    records: string;
    has_meters: boolean;
  }>(
    `SELECT s.device_id, s.seg, u.dims_key, u.dims, ${msOf('min(u.bucket)')} AS ms,
            sum(u.up)::text AS up, sum(u.down)::text AS down, sum(u.records)::text AS records,
            bool_or(u.meters <> '{}'::jsonb) AS has_meters
     FROM ${SPANS}
     WHERE u.bucket >= $5::timestamptz AND u.bucket < $6::timestamptz
     GROUP BY s.device_id, s.seg, u.dims_key, u.dims`,
    [all.ids, all.segs, all.froms, all.tos, ...bounds],
  );
  const cells = new Map<string, Sample>();
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
    devices.get(r.device_id)?.samples.push(sample);
    if (r.has_meters) cells.set(`${r.device_id}\n${r.seg}\n${r.dims_key}`, sample);
  }
  if (cells.size > 0) await loadMeterSums(tx, all, bounds, cells);
  input.peaks = await loadPeaks(tx, input, devices);
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

type Direction = 'in' | 'out' | 'sum';
const COLUMN: Record<Direction, string> = { in: 'down', out: 'up', sum: 'down + up' };

/**
 * One statement per peak charge of each plan version in use: the series of each device (or the
 * account's devices summed per interval) over its segments under that version, filtered by the
 * charge's dims, reduced to the observed count and the largest values. PostgreSQL sorts each
 * series; only a few hundred values per series travel.
 */
async function loadPeaks(
  tx: SqlClient,
  input: RatingInput,
  devices: Map<string, DeviceInput>,
): Promise<PeakInput[]> {
  const out: PeakInput[] = [];
  for (const [plan, version] of Object.entries(input.plans)) {
    const spans = spanParams(devices.values(), plan);
    if (spans.ids.length === 0) continue;
    for (const c of version.plan.charges) {
      if (c.type !== 'peak') continue;
      if (c.method === 'daily_peak_avg')
        // loadRatingInput checks `summarizable` first: reaching this is a caller's mistake.
        throw new Error(`peak charge ${c.id} (daily_peak_avg) needs its series, not a summary`);
      const keys = passingKeys(c, devices, plan);
      const dirs: Direction[] = c.direction === 'max' ? ['in', 'out'] : [c.direction];
      // Enough of the largest values for the nearest rank k = ceil(p·n/100): n − k + 1 of them,
      // and n − floor(p·n/100) + 1 is never fewer (integer division floors: all operands ≥ 0).
      const m = c.method === 'max' ? '1' : `count(*) - (${c.percentile} * count(*)) / 100 + 1`;
      const tops = dirs
        .map((d) => `(array_agg(${COLUMN[d]} ORDER BY ${COLUMN[d]} DESC))[1:${m}]::text AS ${d}`)
        .join(', ');
      const params = [spans.ids, spans.froms, spans.tos, keys.all];
      const summary = (r: Partial<Record<Direction, string | null>> & { n: number }) => ({
        observed: r.n,
        top: Object.fromEntries(dirs.map((d) => [d, intArray(r[d] ?? null, `${c.id} ${d}`)])),
      });
      if (c.scope === 'account') {
        // The account's series: its devices' rows summed per interval.
        const { rows } = await tx.query<{ n: number } & Record<Direction, string | null>>(
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
      // Device by device (each series sorted on its own, in memory), one row per interval: a
      // device whose rows pass under one dims key only needs no grouping.
      const series = keys.single
        ? `SELECT u.down, u.up FROM usage_5m u WHERE ${ROWS_OF_DEVICE}`
        : `SELECT sum(u.down) AS down, sum(u.up) AS up FROM usage_5m u WHERE ${ROWS_OF_DEVICE}
           GROUP BY u.bucket`;
      const { rows } = await tx.query<
        { device_id: string; n: number } & Record<Direction, string | null>
      >(
        `SELECT d.device_id, x.* FROM (${DEVICE_SPANS}) d,
         LATERAL (SELECT count(*)::int AS n, ${tops} FROM (${series}) r) x
         WHERE x.n > 0`,
        params,
      );
      for (const r of rows)
        out.push({ plan, charge: c.id, device: r.device_id, summary: summary(r) });
    }
  }
  return out;
}

/**
 * The dims keys that pass the charge's filter, among the summed samples already loaded (every
 * key with usage in the span has one), and whether each device has at most one of them in its
 * segments under `plan` (then its rows are its series as they are).
 */
function passingKeys(
  c: PeakCharge,
  devices: Map<string, DeviceInput>,
  plan: string,
): { all: string[]; single: boolean } {
  const all = new Set<string>();
  let single = true;
  for (const d of devices.values()) {
    const mine = new Set<string>();
    for (const s of d.samples) {
      const seg = d.segments.find((g) => s.bucketMs >= g.fromMs && s.bucketMs < g.toMs);
      if (!seg || `${seg.planId}@${seg.planVersion}` !== plan) continue;
      if (c.filter && !dimsMatch(c.filter, s.dims)) continue;
      mine.add(s.dimsKey ?? '');
    }
    if (mine.size > 1) single = false;
    for (const k of mine) all.add(k);
  }
  return { all: [...all], single };
}
