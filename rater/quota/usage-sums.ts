// Usage under quota windows, summed from the exact 5-minute rollups (usage_5m) per device and
// dimension set. A month is not rescanned per batch: buckets older than `settleMs` are summed
// once per device and window start and kept; only recent buckets are re-read. Late usage for an
// older bucket drops the device's kept sums (`touched`), and kept sums also expire after
// `keepMs` (30 minutes), so usage another replica ingested into old buckets is seen then.
import { QDec, type QDecimal, type UsageSample } from '../../common/quota.ts';
import { BUCKET_MS } from '../../common/usage.ts';
import { parseMetersText } from '../storage/meters-text.ts';
import type { SqlClient } from '../storage/sql.ts';

export interface DimsSum {
  dims: Record<string, string>;
  up: bigint;
  down: bigint;
  meters: Map<string, QDecimal>;
}

/** Sums per dims_key. */
export type Sums = Map<string, DimsSum>;

/** Window starts kept per device: a month and a few rolling windows. */
const MAX_STARTS = 4;

interface Kept {
  cutoffMs: number;
  keptAtMs: number;
  sums: Sums;
}

export interface UsageSumsOptions {
  /** Buckets older than this are considered settled and kept. Default 15 minutes. */
  settleMs?: number;
  /** Kept sums are re-read after this long. Default 30 minutes. */
  keepMs?: number;
}

export class UsageSums {
  private readonly kept = new Map<string, Map<number, Kept>>();
  private readonly generation = new Map<string, number>();
  private readonly settleMs: number;
  private readonly keepMs: number;

  constructor(
    private readonly sql: SqlClient,
    opts: UsageSumsOptions = {},
  ) {
    this.settleMs = opts.settleMs ?? 15 * 60_000;
    this.keepMs = opts.keepMs ?? 30 * 60_000;
  }

  /** Usage was stored for the device at or after `fromMs`: kept sums covering it are stale. */
  touched(deviceId: string, fromMs: number): void {
    // Also tells reads in flight not to keep what they read (it may predate this usage).
    this.generation.set(deviceId, (this.generation.get(deviceId) ?? 0) + 1);
    const byStart = this.kept.get(deviceId);
    if (!byStart) return;
    for (const [start, k] of byStart) if (k.cutoffMs > fromMs) byStart.delete(start);
  }

  /** The device's usage in [fromMs, toMs), per dims_key, read through `sql` (a transaction). */
  async sums(
    deviceId: string,
    fromMs: number,
    toMs: number,
    nowMs: number,
    sql: SqlClient = this.sql,
  ): Promise<Sums> {
    const cutoff = Math.min(
      toMs,
      Math.max(fromMs, Math.floor((nowMs - this.settleMs) / BUCKET_MS) * BUCKET_MS),
    );
    const generation = this.generation.get(deviceId) ?? 0;
    let k = this.kept.get(deviceId)?.get(fromMs);
    if (!k || k.cutoffMs > cutoff || nowMs - k.keptAtMs > this.keepMs) {
      k = {
        cutoffMs: cutoff,
        keptAtMs: nowMs,
        sums: await this.read(sql, deviceId, fromMs, cutoff),
      };
    } else if (k.cutoffMs < cutoff) {
      // Time moved on: the buckets that settled since are added, not the window re-read; once,
      // even when two callers (the tracker and the API) got here together.
      const from = k.cutoffMs;
      const more = await this.read(sql, deviceId, from, cutoff);
      if (k.cutoffMs === from) {
        merge(k.sums, more);
        k.cutoffMs = cutoff;
      }
    }
    if ((this.generation.get(deviceId) ?? 0) === generation) this.keep(deviceId, fromMs, k);
    const out: Sums = new Map();
    merge(out, k.sums);
    merge(out, await this.read(sql, deviceId, k.cutoffMs, toMs));
    return out;
  }

  /**
   * Most recently used last; a rolling window starts somewhere new every 5 minutes, so starts
   * no longer asked for fall out at the front.
   */
  private keep(deviceId: string, fromMs: number, k: Kept): void {
    let byStart = this.kept.get(deviceId);
    if (!byStart) this.kept.set(deviceId, (byStart = new Map()));
    byStart.delete(fromMs);
    byStart.set(fromMs, k);
    while (byStart.size > MAX_STARTS) byStart.delete(byStart.keys().next().value as number);
  }

  private async read(
    sql: SqlClient,
    deviceId: string,
    fromMs: number,
    toMs: number,
  ): Promise<Sums> {
    const out: Sums = new Map();
    if (toMs <= fromMs) return out;
    const params = [deviceId, new Date(fromMs).toISOString(), new Date(toMs).toISOString()];
    const where = `device_id = $1 AND bucket >= $2::timestamptz AND bucket < $3::timestamptz`;
    const { rows } = await sql.query<{
      dims_key: string;
      dims: Record<string, string>;
      up: string;
      down: string;
      meters: string;
    }>(
      `SELECT dims_key, dims, sum(up)::text AS up, sum(down)::text AS down,
              (SELECT coalesce(jsonb_object_agg(k, t), '{}'::jsonb)::text FROM (
                 SELECT m.key AS k, sum(m.value::numeric) AS t
                 FROM usage_5m x, jsonb_each(x.meters) m
                 WHERE x.device_id = $1 AND x.dims_key = u.dims_key
                   AND x.bucket >= $2::timestamptz AND x.bucket < $3::timestamptz
                 GROUP BY m.key) s) AS meters
       FROM usage_5m u WHERE ${where} GROUP BY dims_key, dims`,
      params,
    );
    for (const r of rows) {
      const meters = new Map<string, QDecimal>();
      for (const [name, v] of Object.entries(parseMetersText(r.meters)))
        meters.set(name, new QDec(v));
      out.set(r.dims_key, { dims: r.dims, up: BigInt(r.up), down: BigInt(r.down), meters });
    }
    return out;
  }
}

function merge(into: Sums, from: Sums): void {
  for (const [key, s] of from) {
    const have = into.get(key);
    if (!have) {
      into.set(key, { ...s, meters: new Map(s.meters) });
      continue;
    }
    have.up += s.up;
    have.down += s.down;
    for (const [name, v] of s.meters)
      have.meters.set(name, (have.meters.get(name) ?? new QDec(0)).plus(v));
  }
}

/** One dims_key's sums as the sample common/quota.ts `addSample` takes. */
export function sampleOf(s: DimsSum): UsageSample {
  const meters: Record<string, string> = {};
  for (const [name, v] of s.meters) meters[name] = v.toFixed();
  return { up: s.up, down: s.down, meters, dims: s.dims };
}
