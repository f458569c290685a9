// The collector's own small HTTP endpoint: /healthz (alive), /readyz (outbox open and below its
// cap), /metrics (Prometheus), and for operators /v1/dead-letters (input refused, and why) and
// /v1/quarantine (outbox entries found damaged on disk, and why). The LevelDB store is locked by
// the running collector, so this is the way to read them live (the CLI's `edgemeter dead-letters`
// and `edgemeter quarantine` call these routes). /v1/quota answers the gateway's quota lookups
// from the collector's own state (docs/quotas.md), without a round trip to the rater.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { DeviceQuotaStatus } from '../../common/quota.ts';
import { DEVICE_ID_RE } from '../../common/usage.ts';
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

/** What the quota routes read (collector/quota/keeper.ts). */
export interface QuotaLookup {
  view(deviceId: string): DeviceQuotaStatus | undefined;
  list(after: string | undefined, limit: number): string[];
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
  quota?: QuotaLookup,
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
  quotaRoutes(app, quota);
  return app;
}

const notFound = (reply: FastifyReply, message: string) =>
  reply.code(404).send({ error: { code: 'NOT_FOUND', message } });

/** GET /v1/quota/{deviceId} and GET /v1/quota (paged by device id): the state enforced here. */
function quotaRoutes(app: FastifyInstance, quota: QuotaLookup | undefined): void {
  const off = 'quota enforcement is off on this collector (quotaWatch=false)';
  app.get<{ Params: { deviceId: string } }>('/v1/quota/:deviceId', async (req, reply) => {
    if (!quota) return notFound(reply, off);
    const { deviceId } = req.params;
    if (!DEVICE_ID_RE.test(deviceId))
      return badRequest(reply, 'deviceId must be 1-128 characters of [A-Za-z0-9._:-]');
    const status = quota.view(deviceId);
    if (!status)
      return notFound(reply, `no quota status for device ${deviceId} has reached this collector`);
    return status;
  });
  app.get<ListQuery>('/v1/quota', async (req, reply) => {
    if (!quota) return notFound(reply, off);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return badRequest(reply, 'limit must be an integer from 1 to 1000');
    const { after } = req.query;
    if (after !== undefined && !DEVICE_ID_RE.test(after))
      return badRequest(reply, 'after must be a device id (the last one of the previous page)');
    const ids = quota.list(after, limit);
    const devices = ids.flatMap((id) => quota.view(id) ?? []);
    return ids.length === limit ? { devices, next: ids[ids.length - 1] } : { devices };
  });
}
