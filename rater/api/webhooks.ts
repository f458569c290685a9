// PUT|GET|DELETE /v1/webhooks/{id}, GET /v1/webhooks and GET /v1/webhooks/{id}/deliveries: alert
// receivers (admin only). The signing secret is returned once, when generated or given; it is
// never shown again (docs/quotas.md#webhooks).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RaterError } from '../errors.ts';
import { ALERT_EVENTS, type SqlAlertStore, type WebhookEndpoint } from '../storage/alert-store.ts';
import { route } from './route.ts';
import { accountId } from './schemas.ts';

const webhookParams = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'webhook id must be 1-64 characters of [A-Za-z0-9._:-]'),
});

const webhookBody = z
  .object({
    url: z
      .string()
      .max(2000)
      .refine((u) => {
        try {
          const p = new URL(u).protocol;
          return p === 'https:' || p === 'http:';
        } catch {
          return false;
        }
      }, 'url must be an absolute http:// or https:// URL'),
    events: z
      .array(z.enum(ALERT_EVENTS, { error: `events are ${ALERT_EVENTS.join(', ')}` }))
      .min(1)
      .default([...ALERT_EVENTS]),
    account: accountId.optional().meta({ description: 'Only alerts about this account' }),
    secret: z
      .string()
      .min(16, 'a given secret must be 16-200 characters')
      .max(200, 'a given secret must be 16-200 characters')
      .optional()
      .meta({
        description: 'Signing secret; omitted: generated for a new endpoint, kept otherwise',
      }),
  })
  .strict();

const webhookResponse = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(ALERT_EVENTS)),
    account: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    secret: z.string().optional().meta({ description: 'Only in the answer that set it' }),
    created: z.boolean().optional(),
  })
  .strict();

const deliveriesQuery = z
  .object({
    limit: z
      .string()
      .regex(/^\d{1,4}$/, 'limit must be an integer from 1 to 1000')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'limit must be an integer from 1 to 1000')
      .default(100),
  })
  .strict();

const deliveriesResponse = z
  .object({
    deliveries: z.array(
      z
        .object({
          id: z.string().meta({ description: 'The Edgemeter-Delivery header value' }),
          event: z.string(),
          status: z.enum(['pending', 'delivered', 'failed']),
          attempts: z.array(
            z
              .object({
                attempt: z.number().int(),
                at: z.string(),
                code: z.number().int().nullable(),
                error: z.string().nullable(),
              })
              .strict(),
          ),
          last_code: z.number().int().nullable(),
          last_error: z.string().nullable(),
          created_at: z.string(),
          next_attempt_at: z.string().nullable(),
          finished_at: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict();

const iso = (ms: number) => new Date(ms).toISOString();

const bodyOf = (w: WebhookEndpoint) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  account: w.accountId ?? null,
  created_at: iso(w.createdAtMs),
  updated_at: iso(w.updatedAtMs),
});

export async function webhookRoutes(
  app: FastifyInstance,
  deps: { alerts: SqlAlertStore },
): Promise<void> {
  const { alerts } = deps;
  const notFound = (id: string) => new RaterError('NOT_FOUND', `unknown webhook ${id}`);

  route(
    app,
    {
      method: 'PUT',
      url: '/v1/webhooks/:id',
      access: 'admin',
      tag: 'webhooks',
      summary: 'Create or change a webhook endpoint',
      description:
        'The answer carries `secret` when it was generated (a new endpoint without one) or given; keep it to verify Edgemeter-Signature. It is not shown again.',
      params: webhookParams,
      body: webhookBody,
      responses: {
        200: { description: 'The endpoint', json: webhookResponse },
        400: 'BAD_REQUEST',
      },
    },
    async ({ params, body }) => {
      const r = await alerts.putEndpoint({
        id: params.id,
        url: body.url,
        events: body.events,
        ...(body.account ? { accountId: body.account } : {}),
        ...(body.secret ? { secret: body.secret } : {}),
      });
      return {
        ...bodyOf(r.endpoint),
        ...(r.secret ? { secret: r.secret } : {}),
        created: r.created,
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/webhooks',
      access: 'admin',
      tag: 'webhooks',
      summary: 'Every webhook endpoint (secrets are never shown)',
      responses: {
        200: {
          description: 'Endpoints by id',
          json: z.object({ webhooks: z.array(webhookResponse) }),
        },
      },
    },
    async () => ({ webhooks: (await alerts.listEndpoints()).map(bodyOf) }),
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/webhooks/:id',
      access: 'admin',
      tag: 'webhooks',
      summary: 'A webhook endpoint (the secret is never shown)',
      params: webhookParams,
      responses: {
        200: { description: 'The endpoint', json: webhookResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND',
      },
    },
    async ({ params }) => {
      const w = await alerts.getEndpoint(params.id);
      if (!w) throw notFound(params.id);
      return bodyOf(w);
    },
  );

  route(
    app,
    {
      method: 'DELETE',
      url: '/v1/webhooks/:id',
      access: 'admin',
      tag: 'webhooks',
      summary: 'Delete a webhook endpoint, its pending deliveries and its delivery log',
      params: webhookParams,
      responses: {
        200: { description: '{"deleted":true}', json: z.object({ deleted: z.literal(true) }) },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND',
      },
    },
    async ({ params }) => {
      if (!(await alerts.deleteEndpoint(params.id))) throw notFound(params.id);
      return { deleted: true };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/webhooks/:id/deliveries',
      access: 'admin',
      tag: 'webhooks',
      summary: "The endpoint's delivery log, newest first, with every attempt",
      params: webhookParams,
      querystring: deliveriesQuery,
      responses: {
        200: { description: 'Deliveries', json: deliveriesResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND',
      },
    },
    async ({ params, query }) => {
      if (!(await alerts.getEndpoint(params.id))) throw notFound(params.id);
      const ds = await alerts.listDeliveries(params.id, query.limit);
      return {
        deliveries: ds.map((d) => ({
          id: d.id,
          event: d.event,
          status: d.status,
          attempts: d.attempts.map((a) => ({
            attempt: a.attempt,
            at: iso(a.atMs),
            code: a.code ?? null,
            error: a.error ?? null,
          })),
          last_code: d.lastCode ?? null,
          last_error: d.lastError ?? null,
          created_at: iso(d.createdAtMs),
          next_attempt_at: d.nextAtMs !== undefined ? iso(d.nextAtMs) : null,
          finished_at: d.finishedAtMs !== undefined ? iso(d.finishedAtMs) : null,
        })),
      };
    },
  );
}
