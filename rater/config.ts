// The rater's options: the single source for validation, defaults, EDGEMETER_* variables,
// flags and docs (see common/config.ts).
import { z } from 'zod';
import { parseApiKeys } from './api/keys.ts';
import {
  boolean,
  hostPort,
  integer,
  loadConfig,
  logLevel,
  option,
  type ConfigOf,
  type LoadInput,
} from '../common/config.ts';

/** A billing month plus time to issue it: the raw records of an unissued period must stay. */
export const MIN_RETENTION_DAYS = 35;

export const raterOptions = {
  db: option(
    z
      .string()
      .regex(
        /^(postgres(ql)?:\/\/.+|embedded:.+)$/,
        'must be postgres://… (a PostgreSQL/TimescaleDB server) or embedded:<dir>',
      )
      .default('embedded:./data/rater'),
    {
      doc: 'Database: a postgres:// URL (TimescaleDB or PostgreSQL 14+), or embedded:<dir> for the embedded TimescaleDB (PGlite) inside the rater process. One process per embedded directory: while a rater has it open (its lock is <dir>.lock, beside it), another refuses to start.',
      arg: '<url>',
    },
  ),
  dbPoolSize: option(integer(10, 1, 200), {
    doc: 'Connections in the PostgreSQL pool (pg driver only).',
    arg: '<n>',
  }),
  embeddedThread: option(z.enum(['worker', 'main']).default('worker'), {
    doc: "Where the embedded database (embedded:<dir>) runs: worker, a thread of its own, so that ingest decoding, gRPC and HTTP go on beside its queries (on a second core where there is one); or main, the rater's own thread (each query then holds up everything else until it finishes).",
    arg: '<worker|main>',
  }),
  ratingReaders: option(integer(2, 1, 16), {
    doc: 'Connections one invoice rating reads with at once, all on one snapshot: each sums a share of the account devices, or, for an account that is a large share of the usage table, one range of its pages (pg driver only; only connections the pool has spare).',
    arg: '<n>',
  }),
  grpcListen: option(hostPort('0.0.0.0:50051'), {
    doc: 'Address of the gRPC ingest service collectors forward to. Without grpcTlsCert the rater binds 127.0.0.1 on this port instead of another host (and says so), unless grpcAllowInsecure is set.',
    arg: '<host:port>',
  }),
  grpcTlsCert: option(z.string().min(1).optional(), {
    doc: 'PEM certificate (chain) of the gRPC ingest service. Set with grpcTlsKey: collectors connect over TLS.',
    arg: '<file>',
  }),
  grpcTlsKey: option(z.string().min(1).optional(), {
    doc: 'PEM private key of grpcTlsCert.',
    arg: '<file>',
  }),
  grpcTlsClientCa: option(z.string().min(1).optional(), {
    doc: 'PEM CA certificate(s) of collector client certificates: mutual TLS. Only collectors presenting a certificate that chains to it can connect, and each batch’s collector_id must equal that certificate’s CN (else PERMISSION_DENIED, COLLECTOR_MISMATCH).',
    arg: '<file>',
  }),
  grpcAllowInsecure: option(boolean(false), {
    doc: 'Serve plaintext gRPC on a non-loopback grpcListen address anyway (a private network you trust). Anyone who reaches the port can then submit usage.',
    arg: '<bool>',
  }),
  httpListen: option(hostPort('0.0.0.0:8080'), {
    doc: 'Address of the HTTP API: /v1 routes, /healthz, /readyz and /metrics.',
    arg: '<host:port>',
  }),
  apiKeys: option(
    z
      .union([z.string(), z.array(z.string())])
      .default('')
      .transform((v, ctx) => {
        const { keys, problems } = parseApiKeys(v);
        for (const message of problems) ctx.addIssue({ code: 'custom', message });
        return keys;
      }),
    {
      doc: 'API keys of the HTTP API with their roles: key:role,key:role (roles admin, billing, readonly; keys of at least 16 characters, e.g. openssl rand -hex 32). In a config file also a list of key:role. Without keys the API serves loopback only (see httpAllowUnauthenticated). Secret: never printed or logged.',
      arg: '<key:role,…>',
      secret: true,
    },
  ),
  httpAllowUnauthenticated: option(boolean(false), {
    doc: 'Serve the HTTP API without API keys on a non-loopback httpListen address. Without it, a rater with no apiKeys binds 127.0.0.1 instead.',
    arg: '<bool>',
  }),
  httpBodyLimit: option(integer(1024 * 1024, 1024, 64 * 1024 * 1024, true), {
    doc: 'Largest HTTP request body in bytes (units KiB, MiB); larger requests get 413 PAYLOAD_TOO_LARGE.',
    arg: '<bytes>',
  }),
  httpRateLimit: option(integer(600, 0, 1_000_000), {
    doc: 'Requests per httpRateLimitWindowMs allowed per API key (without keys: per client address, loopback clients exempt); more get 429 RATE_LIMITED with Retry-After. /healthz and /readyz are never limited. 0 turns the limit off.',
    arg: '<n>',
  }),
  httpRateLimitWindowMs: option(integer(60_000, 1000, 24 * 3600_000), {
    doc: 'The window of httpRateLimit, in milliseconds.',
    arg: '<ms>',
  }),
  retentionDays: option(
    integer(0, 0, 36_500).refine((d) => d === 0 || d >= MIN_RETENTION_DAYS, {
      message: `must be 0 (keep raw records forever) or at least ${MIN_RETENTION_DAYS} days`,
    }),
    {
      doc: `Days raw usage records are kept (0: forever). Older ones are deleted hourly (TimescaleDB: whole chunks dropped). Rollups, dedupe keys and issued invoices are kept. At least ${MIN_RETENTION_DAYS}; see docs/security.md#retention.`,
      arg: '<days>',
    },
  ),
  maxBatchRecords: option(integer(20_000, 1, 1_000_000), {
    doc: 'Most records accepted in one gRPC batch; larger batches are refused with INVALID_ARGUMENT.',
    arg: '<n>',
  }),
  quotaPollMs: option(integer(100, 10, 60_000), {
    doc: 'How often an idle QuotaService.Watch stream reads the quota change log for changes made by other rater replicas, in ms. Changes made by this rater are sent at once.',
    arg: '<ms>',
  }),
  quotaEvalIntervalMs: option(integer(200, 10, 60_000), {
    doc: 'How often devices with new usage have their quotas evaluated (ms). Each tick decides from committed totals and appends changed statuses to the quota change log (docs/quotas.md).',
    arg: '<ms>',
  }),
  quotaSweepIntervalMs: option(integer(60_000, 1000, 3600_000), {
    doc: 'How often quotas that are not ok, or whose window ended, are re-evaluated without new usage (rolling windows decaying, a new month). Also run at start.',
    arg: '<ms>',
  }),
  quotaRulesTtlMs: option(integer(30_000, 0, 3600_000), {
    doc: "How long a device's quota rules (device → account → plan) are cached. Changes made through this rater drop the cache at once; other replicas' changes are seen within this time.",
    arg: '<ms>',
  }),
  billAlertIntervalMs: option(integer(15 * 60_000, 1000, 24 * 3600_000), {
    doc: "How often accounts with new usage have their open invoice's projected total compared with their plan's bill_alerts.",
    arg: '<ms>',
  }),
  webhookIntervalMs: option(integer(1000, 50, 60_000), {
    doc: 'How often the webhook dispatcher looks for due alert deliveries (new alerts wake it at once).',
    arg: '<ms>',
  }),
  webhookTimeoutMs: option(integer(10_000, 100, 120_000), {
    doc: 'How long a webhook receiver has to answer a POST before the attempt counts as failed.',
    arg: '<ms>',
  }),
  webhookRetryBaseMs: option(integer(5000, 10, 3600_000), {
    doc: 'Delay before the first retry of a failed webhook delivery; doubled per attempt, ±20 % jitter, up to webhookRetryMaxMs.',
    arg: '<ms>',
  }),
  webhookRetryMaxMs: option(integer(3600_000, 10, 24 * 3600_000), {
    doc: 'Longest delay between two attempts of a webhook delivery.',
    arg: '<ms>',
  }),
  webhookMaxAttempts: option(integer(12, 1, 100), {
    doc: 'Attempts per webhook delivery before it is marked failed (see GET /v1/webhooks/{id}/deliveries).',
    arg: '<n>',
  }),
  logLevel: option(logLevel(), {
    doc: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    arg: '<level>',
  }),
};

export type RaterConfig = ConfigOf<typeof raterOptions>;

export function loadRaterConfig(input?: LoadInput): RaterConfig {
  return loadConfig(raterOptions, input);
}
