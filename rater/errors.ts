// The rater's one table of error codes, and the one place that maps them to gRPC and HTTP
// answers. Anything not in the table (a bug, an unexpected driver error) becomes INTERNAL/500
// with a generic message; the details go to the log, not to the caller.
import { status } from '@grpc/grpc-js';
import { errorCode, errorMessage } from '../common/errors.ts';

export const RATER_ERRORS = {
  INVALID_RECORD: {
    grpc: status.INVALID_ARGUMENT,
    http: 400,
    doc: 'A record in a batch breaks the record rules; it is rejected alone, the rest are stored.',
  },
  INVALID_BATCH: {
    grpc: status.INVALID_ARGUMENT,
    http: 400,
    doc: 'The batch itself is malformed (not an IngestBatchRequest, bad collector id, too many records).',
  },
  BAD_REQUEST: {
    grpc: status.INVALID_ARGUMENT,
    http: 400,
    doc: 'An HTTP request has a missing or invalid parameter; the message names it.',
  },
  NOT_FOUND: { grpc: status.NOT_FOUND, http: 404, doc: 'The route or resource does not exist.' },
  DB_UNAVAILABLE: {
    grpc: status.UNAVAILABLE,
    http: 503,
    doc: 'The database is unreachable or refused the connection; retry later.',
  },
  NOT_READY: {
    grpc: status.UNAVAILABLE,
    http: 503,
    doc: 'The rater is starting or its database is not migrated.',
  },
  INTERNAL: {
    grpc: status.INTERNAL,
    http: 500,
    doc: 'An unexpected failure; details are in the rater log.',
  },
} as const;

export type RaterErrorCode = keyof typeof RATER_ERRORS;

export class RaterError extends Error {
  constructor(
    readonly code: RaterErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RaterError';
  }
}

/** Storage errors (rater/storage/errors.ts) in terms of this table. */
const STORAGE_CODES: Record<string, RaterErrorCode> = {
  DB_UNAVAILABLE: 'DB_UNAVAILABLE',
  NOT_MIGRATED: 'NOT_READY',
  INVALID_ARGUMENT: 'BAD_REQUEST',
};

function classify(err: unknown): { code: RaterErrorCode; message: string } {
  const code = errorCode(err);
  if (err instanceof RaterError) return { code: err.code, message: err.message };
  const mapped = code ? STORAGE_CODES[code] : undefined;
  if (mapped) return { code: mapped, message: errorMessage(err) };
  return { code: 'INTERNAL', message: 'internal error' };
}

export function toGrpcError(err: unknown): { code: number; details: string } {
  const { code, message } = classify(err);
  return { code: RATER_ERRORS[code].grpc, details: `${code}: ${message}` };
}

export function toHttpError(err: unknown): {
  statusCode: number;
  body: { error: { code: string; message: string } };
} {
  const { code, message } = classify(err);
  return { statusCode: RATER_ERRORS[code].http, body: { error: { code, message } } };
}

export function isInternal(err: unknown): boolean {
  return classify(err).code === 'INTERNAL';
}
