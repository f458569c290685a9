// The collector's own small HTTP endpoint: /healthz (alive), /readyz (outbox open and below its
// cap), /metrics (Prometheus), and /v1/dead-letters for inspecting what was refused and why
// (the LevelDB store is locked by the running collector, so this is the way to read it live).
import Fastify, { type FastifyInstance } from 'fastify';
import type { DeadLetter } from '../buffer/dead-letters.ts';
import type { CollectorMetrics } from '../metrics.ts';

export interface HealthSource {
  readiness(): {
    ready: boolean;
    reason?: string;
    outbox: { records: number; bytes: number; maxBytes: number };
    mode: string;
  };
  listDeadLetters(limit: number, afterSeq?: bigint): Promise<DeadLetter[]>;
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
  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/v1/dead-letters',
    async (req, reply) => {
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return reply.code(400).send({
          error: { code: 'BAD_REQUEST', message: 'limit must be an integer from 1 to 1000' },
        });
      if (req.query.after !== undefined && !/^\d{1,16}$/.test(req.query.after))
        return reply.code(400).send({
          error: { code: 'BAD_REQUEST', message: 'after must be a dead-letter sequence number' },
        });
      const letters = await health.listDeadLetters(
        limit,
        req.query.after === undefined ? undefined : BigInt(req.query.after),
      );
      return {
        deadLetters: letters.map((l) => ({
          seq: String(l.seq),
          code: l.code,
          reason: l.reason,
          topic: l.topic,
          deviceId: l.deviceId,
          receivedAt: new Date(l.receivedMs).toISOString(),
          payloadBytes: l.payloadBytes ?? l.payload?.length ?? 0,
          payloadTruncated: l.payloadTruncated ?? false,
          payloadBase64: l.payload?.toString('base64'),
        })),
      };
    },
  );
  return app;
}
