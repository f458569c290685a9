// The rater's options: the single source for validation, defaults, EDGEMETER_* variables,
// flags and docs (see common/config.ts).
import { z } from 'zod';
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
      doc: 'Database: a postgres:// URL (TimescaleDB or PostgreSQL 14+), or embedded:<dir> for the in-process TimescaleDB (PGlite).',
      arg: '<url>',
    },
  ),
  dbPoolSize: option(integer(10, 1, 200), {
    doc: 'Connections in the PostgreSQL pool (pg driver only).',
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
  maxBatchRecords: option(integer(20_000, 1, 1_000_000), {
    doc: 'Most records accepted in one gRPC batch; larger batches are refused with INVALID_ARGUMENT.',
    arg: '<n>',
  }),
  quotaPollMs: option(integer(100, 10, 60_000), {
    doc: 'How often an idle QuotaService.Watch stream reads the quota change log for changes made by other rater replicas, in ms. Changes made by this rater are sent at once.',
    arg: '<ms>',
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
