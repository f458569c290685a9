// The rater's options: the single source for validation, defaults, EDGEMETER_* variables,
// flags and docs (see common/config.ts).
import { z } from 'zod';
import {
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
  ratingReaders: option(integer(2, 1, 16), {
    doc: 'Connections one invoice rating reads with at once, each summing a share of the account devices, all on one snapshot (pg driver only; only connections the pool has spare).',
    arg: '<n>',
  }),
  grpcListen: option(hostPort('0.0.0.0:50051'), {
    doc: 'Address of the gRPC ingest service collectors forward to.',
    arg: '<host:port>',
  }),
  httpListen: option(hostPort('0.0.0.0:8080'), {
    doc: 'Address of the HTTP API: /v1 routes, /healthz, /readyz and /metrics.',
    arg: '<host:port>',
  }),
  maxBatchRecords: option(integer(20_000, 1, 1_000_000), {
    doc: 'Most records accepted in one gRPC batch; larger batches are refused with INVALID_ARGUMENT.',
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
