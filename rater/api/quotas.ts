// GET /v1/devices/{id}/quotas and GET /v1/accounts/{id}/quotas: each quota's usage against its
// limit now, from committed usage (docs/quotas.md#api). Read access (every role).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { QuotaStatus } from '../../common/quota.ts';
import { RaterError } from '../errors.ts';
import type { QuotaTracker } from '../quota/tracker.ts';
import { route } from './route.ts';
import { accountParams, deviceParams } from './schemas.ts';

export const quotaResponse = z
  .object({
    quota: z.string().meta({ description: 'The quota id in the plan' }),
    key: z.string().meta({ description: '{plan}/{quota}: unique across plans' }),
    scope: z.enum(['device', 'account']),
    meter: z.string(),
    unit: z.string().meta({ description: 'B for byte meters; count for meters.NAME' }),
    used: z.string().meta({ description: 'Usage that counts, in base units (exact decimal)' }),
    limit: z.string(),
    remaining: z.string(),
    pct: z.string().meta({ description: 'used / limit in percent, 2 decimals, rounded down' }),
    state: z.enum(['ok', 'warning', 'throttled', 'blocked']),
    level: z.number().int().meta({ description: 'Highest threshold reached (index), -1: none' }),
    throttle_bps: z.number().int().nullable(),
    zero_rated: z
      .string()
      .meta({ description: 'Zero-rated usage so far (not counted up to its allowance)' }),
    window_start: z.string(),
    window_end: z.string(),
    exhausts_at: z.string().nullable().meta({
      description: 'When the limit is reached at the pace so far; null: not in this window',
    }),
  })
  .strict();

const deviceQuotasResponse = z
  .object({
    device: z.string(),
    account: z.string().nullable(),
    plan: z.string().nullable(),
    state: z.enum(['ok', 'warning', 'throttled', 'blocked']),
    quotas: z.array(quotaResponse),
  })
  .strict();

const accountQuotasResponse = z
  .object({ account: z.string(), plan: z.string().nullable(), quotas: z.array(quotaResponse) })
  .strict();

const ORDER = ['ok', 'warning', 'throttled', 'blocked'] as const;

export function quotaBody(q: QuotaStatus): z.output<typeof quotaResponse> {
  return {
    quota: q.id,
    key: q.key,
    scope: q.scope,
    meter: q.meter,
    unit: q.meter.startsWith('meters.') ? 'count' : 'B',
    used: q.used,
    limit: q.limit,
    remaining: q.remaining,
    pct: q.pct,
    state: q.state,
    level: q.level,
    throttle_bps: q.throttleBps ?? null,
    zero_rated: q.zeroRated,
    window_start: q.windowStart,
    window_end: q.windowEnd,
    exhausts_at: q.exhaustsAt ?? null,
  };
}

export async function quotaRoutes(
  app: FastifyInstance,
  deps: { tracker: QuotaTracker },
): Promise<void> {
  route(
    app,
    {
      method: 'GET',
      url: '/v1/devices/:id/quotas',
      access: 'read',
      tag: 'quotas',
      summary: "A device's quotas now: its own and its account's pooled ones",
      params: deviceParams,
      responses: {
        200: { description: 'Every quota of the plan in force', json: deviceQuotasResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: the device is in no account',
      },
    },
    async ({ params }) => {
      const { rules, quotas } = await deps.tracker.deviceQuotas(params.id);
      if (!rules.accountId)
        throw new RaterError('NOT_FOUND', `device ${params.id} is in no account`);
      return {
        device: params.id,
        account: rules.accountId,
        plan: rules.plan?.id ?? null,
        state: quotas.reduce<(typeof ORDER)[number]>(
          (w, q) => (ORDER.indexOf(q.state) > ORDER.indexOf(w) ? q.state : w),
          'ok',
        ),
        quotas: quotas.map(quotaBody),
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/accounts/:id/quotas',
      access: 'read',
      tag: 'quotas',
      summary: "An account's pooled quotas now (summed over its devices)",
      params: accountParams,
      responses: {
        200: { description: 'The pooled quotas of the account plan', json: accountQuotasResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: unknown account',
      },
    },
    async ({ params }) => {
      const a = await deps.tracker.accountQuotas(params.id);
      if (!a) throw new RaterError('NOT_FOUND', `unknown account ${params.id}`);
      return { account: params.id, plan: a.planId ?? null, quotas: a.quotas.map(quotaBody) };
    },
  );
}
