// The collector's own small HTTP endpoint: /healthz (alive), /readyz (outbox open and below its
// cap, forwarding), /metrics (Prometheus).
import Fastify, { type FastifyInstance } from 'fastify';
import type { CollectorMetrics } from '../metrics.ts';

export interface HealthSource {
  readiness(): {
    ready: boolean;
    reason?: string;
    outbox: { records: number; bytes: number; maxBytes: number };
    mode: string;
  };
}

export function buildCollectorHttp(
  health: HealthSource,
  metrics: CollectorMetrics,
): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = health.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', ...r });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  return app;
}
