// The rater's HTTP API (fastify): health, readiness, metrics, the /v1 usage, catalog, billing and
// audit routes, and their OpenAPI description at /openapi.json. Errors go through rater/errors.ts:
// `{ "error": { "code", "message" [, "problems"] } }` with the mapped status. In front of every
// route: API key and role (auth.ts), then the per-key rate limit; fastify's bodyLimit caps bodies.
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { isLoopback } from '../../common/net.ts';
import { RaterError, isInternal, toHttpError } from '../errors.ts';
import type { RaterMetrics } from '../metrics.ts';
import type { CatalogStore } from '../storage/catalog.ts';
import type { InvoiceStore } from '../storage/invoice-store.ts';
import type { UsageStore } from '../storage/store.ts';
import { accountRoutes } from './accounts.ts';
import { auditRoutes, type AuditLog } from './audit.ts';
import { registerAuth } from './auth.ts';
import { billingRoutes } from './billing.ts';
import { InvoiceService } from './invoice-service.ts';
import { LOCAL_PRINCIPAL, type KeyRing } from './keys.ts';
import { planRoutes } from './plans.ts';
import { quotaRoutes } from './quotas.ts';
import { webhookRoutes } from './webhooks.ts';
import type { QuotaTracker } from '../quota/tracker.ts';
import type { SqlAlertStore } from '../storage/alert-store.ts';
import { route } from './route.ts';
import { registerUsageRoutes } from './usage.ts';

export interface ApiDeps {
  store: UsageStore;
  catalog: CatalogStore;
  invoices: InvoiceStore;
  audit: AuditLog;
  metrics: RaterMetrics;
  logger: Logger;
  /** The clock: "now" decides open periods and default effective times. Default Date.now. */
  now?: () => number;
  /** API keys; none: every caller is `local` with the admin role (rater.ts binds loopback). */
  keys?: KeyRing;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Requests per window per key (per address without keys); max 0 turns it off. */
  rateLimit?: { max: number; windowMs: number };
  /** Quota readouts and alert webhooks (rater/quota); absent: those routes are not served. */
  quotas?: { tracker: QuotaTracker; alerts: SqlAlertStore };
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  // Device ids are up to 128 characters; fastify's default maxParamLength (100) would answer 414.
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
  });
  // Route schemas describe; zod validates (route.ts). Without these two, ajv would coerce and
  // strip request data before zod sees it, and fast-json-stringify would drop response fields
  // that a description does not list.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((thrown, req, reply) => {
    const status = (thrown as { statusCode?: number }).statusCode;
    // fastify's bodyLimit refusal gets its own code from the table.
    const err =
      status === 413 && !(thrown instanceof RaterError)
        ? new RaterError(
            'PAYLOAD_TOO_LARGE',
            `the request body is larger than the limit of ${app.initialConfig.bodyLimit} bytes`,
          )
        : thrown;
    // fastify's other 4xx (bad JSON body, unsupported media type) keep their status.
    if (status && status >= 400 && status < 500 && !(err instanceof RaterError)) {
      const message =
        status === 415
          ? `unsupported Content-Type ${req.headers['content-type'] ?? '(none)'}: send application/json (plan documents: also application/yaml)`
          : errorMessage(err);
      return reply.code(status).send({ error: { code: 'BAD_REQUEST', message } });
    }
    const { statusCode, body } = toHttpError(err);
    if (isInternal(err)) deps.logger.error({ err: errorMessage(err) }, 'request failed');
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` },
    });
  });

  // Registered before the routes: it collects them as they are added.
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'edgemeter rater API',
        version: '1',
        description:
          'Usage, price plans, accounts, devices, invoices and charges. Money is an exact decimal string; byte counts are integers. Reference: docs/api.md.',
      },
      tags: [
        { name: 'usage', description: 'Metered usage' },
        { name: 'plans', description: 'Versioned price plans' },
        { name: 'accounts', description: 'Accounts and their plans' },
        { name: 'devices', description: 'Device assignments' },
        { name: 'billing', description: 'Invoices and charges' },
        { name: 'audit', description: 'Who changed what (admin only)' },
        { name: 'quotas', description: 'Usage against quota limits, now' },
        { name: 'webhooks', description: 'Alert receivers and their delivery log (admin only)' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer KEY' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });

  // Hooks in this order for every route: the key and its role first (onRequest, before the body
  // is read), then the rate limit, counted per key so one client cannot starve the others.
  registerAuth(app, {
    keys: deps.keys,
    logger: deps.logger,
    refused: deps.metrics.httpRefused,
  });
  const limit = deps.rateLimit ?? { max: 600, windowMs: 60_000 };
  if (limit.max > 0)
    app.register(rateLimit, {
      max: limit.max,
      timeWindow: limit.windowMs,
      // Exempt: health checks, and local clients when there are no keys (the demo, tests and
      // scripts on the rater's own host poll freely; remote ones are limited per address).
      allowList: (req) =>
        req.routeOptions.config?.access === 'public' ||
        (req.principal === LOCAL_PRINCIPAL && isLoopback(req.ip)),
      keyGenerator: (req) =>
        req.principal && req.principal !== LOCAL_PRINCIPAL
          ? `key:${req.principal.keyId}`
          : `ip:${req.ip}`,
      onExceeded: (req) => {
        deps.metrics.httpRefused.inc({ code: 'RATE_LIMITED' });
        deps.logger.warn(
          { method: req.method, route: req.routeOptions.url, keyId: req.principal?.keyId },
          'HTTP request rate-limited',
        );
      },
      errorResponseBuilder: (_req, ctx) =>
        new RaterError(
          'RATE_LIMITED',
          `more than ${ctx.max} requests in the window for this key; retry in ${ctx.after}`,
        ),
    });

  app.register(async (api) => {
    registerOperationsRoutes(api, deps);
    registerUsageRoutes(api, deps.store, now);
    await api.register(accountRoutes, { catalog: deps.catalog, now });
    await api.register(billingRoutes, {
      catalog: deps.catalog,
      invoices: new InvoiceService(deps.catalog, deps.invoices),
      now,
    });
    // Its own context: it reads JSON bodies as text (see plans.ts).
    await api.register(planRoutes, { catalog: deps.catalog, now });
    await api.register(auditRoutes, { audit: deps.audit });
    if (deps.quotas) {
      await api.register(quotaRoutes, { tracker: deps.quotas.tracker });
      await api.register(webhookRoutes, { alerts: deps.quotas.alerts });
    }
    // A description, no data: tools fetch it without a key.
    api.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () =>
      app.swagger(),
    );
  });
  return app;
}

function registerOperationsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const statusBody = { type: 'object', additionalProperties: true };
  route(
    app,
    {
      method: 'GET',
      url: '/healthz',
      access: 'public',
      tag: 'operations',
      summary: 'Liveness: the process serves HTTP',
      responses: { 200: { description: '{"status":"ok"}', json: statusBody } },
    },
    async () => ({ status: 'ok' }),
  );
  route(
    app,
    {
      method: 'GET',
      url: '/readyz',
      access: 'public',
      tag: 'operations',
      summary: 'Readiness: the database is reachable and migrated',
      responses: {
        200: { description: '{"status":"ready","database":{…}}', json: statusBody },
        503: { description: '{"status":"not ready","reason":"…"}', json: statusBody },
      },
    },
    async (_input, _req, reply) => {
      try {
        await deps.store.ready();
        return { status: 'ready', database: deps.store.capabilities };
      } catch (err) {
        return reply.code(503).send({ status: 'not ready', reason: errorMessage(err) });
      }
    },
  );
  route(
    app,
    {
      method: 'GET',
      url: '/metrics',
      access: 'read',
      tag: 'operations',
      summary: 'Prometheus metrics (names prefixed edgemeter_)',
      responses: { 200: { description: 'Prometheus text format', text: 'text/plain' } },
    },
    async (_input, _req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
