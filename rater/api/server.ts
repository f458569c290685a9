// The rater's HTTP API (fastify): health, readiness, metrics and the /v1 query routes.
// Errors go through rater/errors.ts: `{ "error": { "code", "message" } }` with the mapped status.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { RaterError, isInternal, toHttpError } from '../errors.ts';
import type { RaterMetrics } from '../metrics.ts';
import type { UsageStore } from '../storage/store.ts';
import { registerUsageRoutes } from './usage.ts';

export interface ApiDeps {
  store: UsageStore;
  metrics: RaterMetrics;
  logger: Logger;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  // Device ids are up to 128 characters; fastify's default maxParamLength (100) would answer 414.
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
  });

  app.setErrorHandler((err, _req, reply) => {
    // fastify's own 4xx (bad JSON body, unsupported media type) keep their status.
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500 && !(err instanceof RaterError)) {
      return reply
        .code(status)
        .send({ error: { code: 'BAD_REQUEST', message: errorMessage(err) } });
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

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.store.ready();
      return { status: 'ready', database: deps.store.capabilities };
    } catch (err) {
      return reply.code(503).send({ status: 'not ready', reason: errorMessage(err) });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  registerUsageRoutes(app, deps.store);
  return app;
}
