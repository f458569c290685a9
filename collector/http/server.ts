// The collector's own small HTTP endpoint: /healthz (alive), /readyz (outbox open and below its
// cap), /metrics (Prometheus), and for operators /v1/dead-letters (input refused, and why) and
// /v1/quarantine (outbox entries found damaged on disk, and why). The LevelDB store is locked by
// the running collector, so this is the way to read them live (the CLI's `edgemeter dead-letters`
// and `edgemeter quarantine` call these routes).
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
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
  listQuarantine(limit: number, afterSeq?: bigint): Promise<DeadLetter[]>;
}

type ListQuery = { Querystring: { limit?: string; after?: string } };

const badRequest = (reply: FastifyReply, message: string) =>
  reply.code(400).send({ error: { code: 'BAD_REQUEST', message } });

/** One entry as the API shows it; the payload is base64 (it may be binary or damaged). */
function entryJson(l: DeadLetter, timeField: 'receivedAt' | 'detectedAt') {
  return {
    seq: String(l.seq),
    code: l.code,
    reason: l.reason,
    ...(l.outboxKey === undefined ? {} : { outboxKey: l.outboxKey }),
    topic: l.topic,
    deviceId: l.deviceId,
    [timeField]: new Date(l.receivedMs).toISOString(),
    payloadBytes: l.payloadBytes ?? l.payload?.length ?? 0,
    payloadTruncated: l.payloadTruncated ?? false,
    payloadBase64: l.payload?.toString('base64'),
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

  /** A paged listing: `limit` 1…1000 (100), `after` the last `seq` of the previous page. */
  const listing = (
    path: string,
    field: 'deadLetters' | 'quarantine',
    timeField: 'receivedAt' | 'detectedAt',
    list: (limit: number, after?: bigint) => Promise<DeadLetter[]>,
  ) =>
    app.get<ListQuery>(path, async (req, reply) => {
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return badRequest(reply, 'limit must be an integer from 1 to 1000');
      if (req.query.after !== undefined && !/^\d{1,16}$/.test(req.query.after))
        return badRequest(
          reply,
          'after must be a sequence number (the seq of the last entry seen)',
        );
      let entries: DeadLetter[];
      try {
        entries = await list(
          limit,
          req.query.after === undefined ? undefined : BigInt(req.query.after),
        );
      } catch (err) {
        // The store is closed or being reopened after a disk error: try again later.
        return reply.code(503).send({
          error: {
            code: 'UNAVAILABLE',
            message: `the buffer cannot be read right now: ${err instanceof Error ? err.message : String(err)}`,
          },
        });
      }
      return { [field]: entries.map((l) => entryJson(l, timeField)) };
    });

  listing('/v1/dead-letters', 'deadLetters', 'receivedAt', (limit, after) =>
    health.listDeadLetters(limit, after),
  );
  listing('/v1/quarantine', 'quarantine', 'detectedAt', (limit, after) =>
    health.listQuarantine(limit, after),
  );
  return app;
}
