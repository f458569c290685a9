// Thresholds for the scan plan (rating-scan.ts): per device and direction, a value that a sample
// of the table's pages says lies safely below the largest values the device's cells need, so
// that the pass keeps only values at or above it. A threshold never changes a result, only the
// pass's cost: a cell left with fewer values than its rank needs is read again by index.
import {
  COLUMN,
  spansOf,
  topCount,
  type Direction,
  type Reader,
  type SpanParams,
  type Wanted,
} from './rating-cells.ts';
import type { SqlClient } from './sql.ts';

export type Floors = Map<string, Partial<Record<Direction, string>>>;

/** Share of the table's pages sampled for thresholds. */
export const SAMPLE_PERCENT = 2;

/**
 * The thresholds, the devices shared out among the readers: each samples the same pages and
 * keeps its own devices' values (the sorting is most of the work; ~0.3 s on one connection for
 * 1,000 devices, before the pass can start).
 */
export async function sampled(
  tx: SqlClient,
  readers: Reader[],
  spans: SpanParams,
  bounds: string[],
  wanted: Wanted,
  pick: typeof thresholds,
): Promise<Floors> {
  const all: Reader[] = readers.length > 0 ? readers : [(fn) => fn(tx)];
  const ids = [...new Set(spans.ids)];
  const per = Math.ceil(ids.length / all.length);
  const parts = await Promise.all(
    all.map((read, k) => {
      const mine = new Set(ids.slice(k * per, (k + 1) * per));
      const share = spansOf(spans, (i) => mine.has(spans.ids[i] ?? ''));
      return share.ids.length === 0 ? new Map() : read((t) => pick(t, share, bounds, wanted));
    }),
  );
  return new Map(parts.flatMap((m) => [...m]));
}

/**
 * Per device and direction, a value below the largest ones its cells need, from a sample of the
 * table's pages (rows of the period only, every dims key and segment together). Of m sampled
 * values, about m·q lie at or above the needed ones (q: the needed share of a series of the
 * estimated length); the threshold is the sampled value at rank m·q + 3·√(m·q) + 2 from the
 * top, so a sample would need to be three standard deviations off to miss (then the cell is read
 * by index). No threshold where the sample holds too few values.
 */
export async function thresholds(
  tx: SqlClient,
  spans: SpanParams,
  bounds: string[],
  wanted: Wanted,
): Promise<Floors> {
  const used = wanted.dirs;
  const { rows } = await tx.query<{ device_id: string; m: number } & Record<string, string>>(
    `SELECT u.device_id, count(*)::int AS m,
            ${used.map((d) => `array_agg(${COLUMN[d]} ORDER BY ${COLUMN[d]} DESC)::text AS s_${d}`).join(', ')}
     FROM usage_5m u TABLESAMPLE SYSTEM (${SAMPLE_PERCENT}) REPEATABLE (0)
     WHERE u.device_id = ANY($1::text[]) AND u.bucket >= $2::timestamptz AND u.bucket < $3::timestamptz
     GROUP BY u.device_id`,
    [[...new Set(spans.ids)], ...bounds],
  );
  const out: Floors = new Map();
  for (const r of rows) {
    const n = Math.max(1, Math.round((r.m * 100) / SAMPLE_PERCENT));
    const expected = (r.m * topCount(wanted, n)) / n;
    const rank = Math.ceil(expected + 3 * Math.sqrt(expected) + 2);
    if (rank > r.m) continue;
    const floors: Partial<Record<Direction, string>> = {};
    for (const d of used) floors[d] = (r[`s_${d}`] ?? '{}').slice(1, -1).split(',')[rank - 1];
    out.set(r.device_id, floors);
  }
  return out;
}
