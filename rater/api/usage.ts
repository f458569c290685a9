// GET /v1/devices/{id}/usage?from&to&step[&tz] — a device's usage series from the exact
// 5-minute rollups. JSON by default; CSV with `Accept: text/csv`. Byte counts are JSON integers;
// other meters are decimal strings (they may be fractional and must stay exact).
// GET /v1/conflicts[?device=] — records that reused a known key with different content.
// GET /v1/devices/{id}/skewed?from&to&tolerance_ms&limit — a device's records whose device clock
// disagreed with the collector's by more than the tolerance (docs/devices.md#clock-skew).
import { Decimal } from 'decimal.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RaterError } from '../errors.ts';
import type { UsageBucket, UsageStep, UsageStore } from '../storage/store.ts';
import { route, wantsCsv } from './route.ts';
import { deviceParams, deviceId } from './schemas.ts';

/** The collector's default clockSkewToleranceMs (collector/mqtt/clock-skew.ts). */
const DEFAULT_SKEW_TOLERANCE_MS = 300_000;
const STEP_MS: Record<UsageStep, number> = { '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };
const MAX_BUCKETS = 100_000;

export const timeParam = (name: string) =>
  z
    .string()
    .transform((v, ctx) => {
      const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
      if (!Number.isFinite(ms)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an RFC 3339 time or epoch milliseconds`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .optional()
    .meta({ description: 'An RFC 3339 time or epoch milliseconds' });

const usageQuery = z.object({
  from: timeParam('from'),
  to: timeParam('to'),
  step: z
    .enum(['5m', '1h', '1d'], { error: 'step must be 5m, 1h or 1d' })
    .default('1h')
    .meta({ description: 'Bucket size' }),
  tz: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'tz must be an IANA time zone such as Europe/Paris')
    .default('UTC')
    .meta({ description: 'IANA time zone of 1h and 1d bucket boundaries' }),
});

const conflictsQuery = z.object({
  device: deviceId.optional().meta({ description: 'Only this device' }),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'limit must be an integer from 1 to 1000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, 'limit must be an integer from 1 to 1000')
    .default(100)
    .meta({ description: 'Most conflicts returned, newest first (1-1000)' }),
});

const skewedQuery = z.object({
  from: timeParam('from'),
  to: timeParam('to'),
  tolerance_ms: z
    .string()
    .regex(/^\d{1,15}$/, 'tolerance_ms must be an integer number of milliseconds >= 0')
    .transform(Number)
    .default(DEFAULT_SKEW_TOLERANCE_MS)
    .meta({
      description:
        'List records whose |clock_skew_ms| exceeds this (default: the collector default, 300000 = 5 minutes)',
    }),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'limit must be an integer from 1 to 1000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, 'limit must be an integer from 1 to 1000')
    .default(100)
    .meta({ description: 'Most records returned, in ts order (1-1000)' }),
});

const skewedResponse = z
  .object({
    device_id: z.string(),
    tolerance_ms: z.number().int(),
    records: z.array(
      z
        .object({
          key: z.string(),
          ts: z.string(),
          start: z.string().optional(),
          received_at: z.string(),
          clock_skew_ms: z.number().int(),
          direction: z.enum(['future', 'past']),
          up: z.number().int(),
          down: z.number().int(),
          meters: z.record(z.string(), z.string()),
          dims: z.record(z.string(), z.string()),
          collector_id: z.string(),
          batch_id: z.string(),
        })
        .strict(),
    ),
    truncated: z.boolean(),
  })
  .strict();

const usageResponse = z
  .object({
    deviceId: z.string(),
    from: z.string(),
    to: z.string(),
    step: z.enum(['5m', '1h', '1d']),
    timeZone: z.string(),
    totals: z.object({
      up: z.number().int(),
      down: z.number().int(),
      total: z.number().int(),
      records: z.number().int(),
      meters: z.record(z.string(), z.string()),
    }),
    series: z.array(
      z.object({
        start: z.string(),
        up: z.number().int(),
        down: z.number().int(),
        total: z.number().int(),
        records: z.number().int(),
        meters: z.record(z.string(), z.string()),
      }),
    ),
  })
  .strict();

const conflictsResponse = z.object({
  conflicts: z.array(
    z.object({
      deviceId: z.string(),
      key: z.string(),
      collectorId: z.string(),
      batchId: z.string(),
      detectedAtMs: z.number().int(),
      detectedAt: z.string(),
      existingHash: z.string(),
      incomingHash: z.string(),
      incoming: z.unknown(),
    }),
  ),
});

export function registerUsageRoutes(
  app: FastifyInstance,
  store: UsageStore,
  now: () => number = Date.now,
): void {
  route(
    app,
    {
      method: 'GET',
      url: '/v1/devices/:id/usage',
      access: 'read',
      tag: 'usage',
      summary: "A device's usage series from the exact 5-minute rollups",
      description:
        'Buckets of the step whose start lies in [from, to); empty buckets are omitted. CSV with `Accept: text/csv`.',
      params: deviceParams,
      querystring: usageQuery,
      responses: {
        200: {
          description: 'The series and its totals',
          json: usageResponse,
          csv: 'One row per bucket: start,up,down,total,records and one column per meter',
        },
        400: 'BAD_REQUEST',
      },
    },
    async ({ params, query: q }, req, reply) => {
      const deviceId = params.id;
      const toMs = q.to ?? now();
      const fromMs = q.from ?? toMs - 86_400_000;
      if (fromMs >= toMs) throw new RaterError('BAD_REQUEST', 'from must be before to');
      if ((toMs - fromMs) / STEP_MS[q.step] > MAX_BUCKETS)
        throw new RaterError(
          'BAD_REQUEST',
          `the range holds more than ${MAX_BUCKETS} buckets of ${q.step}; use a larger step`,
        );

      const series = await store.usageSeries({
        deviceId,
        fromMs,
        toMs,
        step: q.step,
        timeZone: q.tz,
      });
      if (wantsCsv(req)) {
        reply.type('text/csv; charset=utf-8');
        return usageCsv(series);
      }
      return {
        deviceId,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        step: q.step,
        timeZone: q.tz,
        totals: totals(series),
        series: series.map((b) => ({
          start: new Date(b.startMs).toISOString(),
          up: b.up,
          down: b.down,
          total: b.up + b.down,
          records: b.records,
          meters: b.meters,
        })),
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/conflicts',
      access: 'read',
      tag: 'usage',
      summary: 'Records that reused a known dedupe key with different content',
      querystring: conflictsQuery,
      responses: {
        200: { description: 'Conflicts, newest first', json: conflictsResponse },
        400: 'BAD_REQUEST',
      },
    },
    async ({ query }) => {
      const rows = await store.listConflicts(query.device, query.limit);
      return {
        conflicts: rows.map((c) => ({ ...c, detectedAt: new Date(c.detectedAtMs).toISOString() })),
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/devices/:id/skewed',
      access: 'read',
      tag: 'usage',
      summary: "A device's records whose device clock disagreed with the collector's",
      description:
        'Stored records with |ts − received_at| > tolerance_ms and ts in [from, to), oldest ts first. The records are billed at their ts like any other; this lists them for review.',
      params: deviceParams,
      querystring: skewedQuery,
      responses: {
        200: { description: 'The skewed records, in ts order', json: skewedResponse },
        400: 'BAD_REQUEST',
      },
    },
    async ({ params, query: q }) => {
      if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
        throw new RaterError('BAD_REQUEST', 'from must be before to');
      const rows = await store.listSkewed({
        deviceId: params.id,
        toleranceMs: q.tolerance_ms,
        ...(q.from === undefined ? {} : { fromMs: q.from }),
        ...(q.to === undefined ? {} : { toMs: q.to }),
        limit: q.limit + 1,
      });
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        device_id: params.id,
        tolerance_ms: q.tolerance_ms,
        records: rows.slice(0, q.limit).map((r) => ({
          key: r.key,
          ts: iso(r.endMs),
          ...(r.startMs === undefined ? {} : { start: iso(r.startMs) }),
          received_at: iso(r.receivedMs),
          clock_skew_ms: r.clockSkewMs,
          direction: r.clockSkewMs > 0 ? 'future' : 'past',
          up: r.up,
          down: r.down,
          meters: r.meters,
          dims: r.dims,
          collector_id: r.collectorId,
          batch_id: r.batchId,
        })),
        truncated: rows.length > q.limit,
      };
    },
  );
}

function totals(series: UsageBucket[]) {
  let up = 0;
  let down = 0;
  let records = 0;
  // A Map, not an object: meter names such as "constructor" must not meet Object.prototype.
  const meters = new Map<string, Decimal>();
  for (const b of series) {
    up += b.up;
    down += b.down;
    records += b.records;
    for (const [k, v] of Object.entries(b.meters))
      meters.set(k, (meters.get(k) ?? new Decimal(0)).plus(v));
  }
  return {
    up,
    down,
    total: up + down,
    records,
    meters: Object.fromEntries([...meters].map(([k, v]) => [k, v.toFixed()])),
  };
}

function usageCsv(series: UsageBucket[]): string {
  const meterNames = [...new Set(series.flatMap((b) => Object.keys(b.meters)))].sort();
  const lines = [['start', 'up', 'down', 'total', 'records', ...meterNames].join(',')];
  for (const b of series)
    lines.push(
      [
        new Date(b.startMs).toISOString(),
        b.up,
        b.down,
        b.up + b.down,
        b.records,
        ...meterNames.map((m) => b.meters[m] ?? '0'),
      ].join(','),
    );
  return lines.join('\n') + '\n';
}
