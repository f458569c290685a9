// GET /v1/devices/{id}/usage?from&to&step[&tz] — a device's usage series from the exact
// 5-minute rollups. JSON by default; CSV with `Accept: text/csv`. Byte counts are JSON integers;
// other meters are decimal strings (they may be fractional and must stay exact).
// GET /v1/conflicts[?device=] — records that reused a known key with different content.
import { Decimal } from 'decimal.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEVICE_ID_RE } from '../../common/usage.ts';
import { RaterError } from '../errors.ts';
import type { UsageBucket, UsageStep, UsageStore } from '../storage/store.ts';

const STEP_MS: Record<UsageStep, number> = { '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };
const MAX_BUCKETS = 100_000;

const timeParam = (name: string) =>
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
    .optional();

const usageQuery = z.object({
  from: timeParam('from'),
  to: timeParam('to'),
  step: z.enum(['5m', '1h', '1d'], { error: 'step must be 5m, 1h or 1d' }).default('1h'),
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
    .default('UTC'),
});

function badRequest(err: z.ZodError): RaterError {
  return new RaterError('BAD_REQUEST', err.issues.map((i) => i.message).join('; '));
}

export function registerUsageRoutes(app: FastifyInstance, store: UsageStore): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    '/v1/devices/:id/usage',
    async (req, reply) => {
      const deviceId = req.params.id;
      if (!DEVICE_ID_RE.test(deviceId))
        throw new RaterError(
          'BAD_REQUEST',
          'device id must be 1-128 characters of [A-Za-z0-9._:-]',
        );
      const q = usageQuery.safeParse(req.query);
      if (!q.success) throw badRequest(q.error);
      const toMs = q.data.to ?? Date.now();
      const fromMs = q.data.from ?? toMs - 86_400_000;
      if (fromMs >= toMs) throw new RaterError('BAD_REQUEST', 'from must be before to');
      if ((toMs - fromMs) / STEP_MS[q.data.step] > MAX_BUCKETS)
        throw new RaterError(
          'BAD_REQUEST',
          `the range holds more than ${MAX_BUCKETS} buckets of ${q.data.step}; use a larger step`,
        );

      const series = await store.usageSeries({
        deviceId,
        fromMs,
        toMs,
        step: q.data.step,
        timeZone: q.data.tz,
      });
      if (req.headers.accept?.includes('text/csv')) {
        reply.type('text/csv; charset=utf-8');
        return usageCsv(series);
      }
      return {
        deviceId,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        step: q.data.step,
        timeZone: q.data.tz,
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

  app.get<{ Querystring: { device?: string; limit?: string } }>('/v1/conflicts', async (req) => {
    const device = req.query.device;
    if (device !== undefined && !DEVICE_ID_RE.test(device))
      throw new RaterError('BAD_REQUEST', 'device must be a valid device id');
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RaterError('BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    const rows = await store.listConflicts(device, limit);
    return {
      conflicts: rows.map((c) => ({ ...c, detectedAt: new Date(c.detectedAtMs).toISOString() })),
    };
  });
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
