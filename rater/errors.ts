// The rater's one table of error codes, and the one place that maps them to gRPC and HTTP
// answers. Anything not in the table (a bug, an unexpected driver error) becomes INTERNAL/500
// with a generic message; the details go to the log, not to the caller.
import { status } from '@grpc/grpc-js';
import { errorCode, errorMessage } from '../common/errors.ts';
import { RatingError } from './rating/engine.ts';
import { PeriodError } from './rating/period.ts';
import { PlanValidationError, type PlanProblem } from './rating/plan.ts';

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
  PLAN_INVALID: {
    grpc: status.INVALID_ARGUMENT,
    http: 400,
    doc: 'A plan document does not validate; `problems` lists every problem with its path. The version in force stays.',
  },
  COLLECTOR_MISMATCH: {
    grpc: status.PERMISSION_DENIED,
    http: 403,
    doc: 'Mutual TLS: the batch’s collector_id is not the CN of the client certificate it came with. Nothing in it is stored.',
  },
  UNAUTHENTICATED: {
    grpc: status.UNAUTHENTICATED,
    http: 401,
    doc: 'The HTTP request has no API key, or one the rater does not know (with a WWW-Authenticate header).',
  },
  FORBIDDEN: {
    grpc: status.PERMISSION_DENIED,
    http: 403,
    doc: 'The API key is valid but its role may not use this route; the message names the roles that may.',
  },
  NOT_FOUND: { grpc: status.NOT_FOUND, http: 404, doc: 'The route or resource does not exist.' },
  CONFLICT: {
    grpc: status.FAILED_PRECONDITION,
    http: 409,
    doc: 'The change contradicts what is already billed or fixed: it would take effect inside a closed billing period, or it changes the currency or time zone of an account. Also: the stored catalog cannot be rated as it stands (the message says why).',
  },
  PAYLOAD_TOO_LARGE: {
    grpc: status.RESOURCE_EXHAUSTED,
    http: 413,
    doc: 'The request body is larger than httpBodyLimit.',
  },
  RATE_LIMITED: {
    grpc: status.RESOURCE_EXHAUSTED,
    http: 429,
    doc: 'The API key (or client address, without keys) made more than httpRateLimit requests in the window; retry after Retry-After seconds.',
  },
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
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
};

interface Classified {
  code: RaterErrorCode;
  message: string;
  problems?: PlanProblem[];
}

function classify(err: unknown): Classified {
  if (err instanceof RaterError) return { code: err.code, message: err.message };
  // The rating engine's own errors: a plan that does not validate, a bad period or zone.
  if (err instanceof PlanValidationError)
    return {
      code: 'PLAN_INVALID',
      message: `the plan does not validate (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'})`,
      problems: err.problems,
    };
  if (err instanceof PeriodError) return { code: 'BAD_REQUEST', message: err.message };
  // The stored catalog cannot be rated as it stands (a plan in another currency than its
  // account, a sum beyond exact range): the caller learns why; nothing was changed.
  if (err instanceof RatingError) return { code: 'CONFLICT', message: err.message };
  const code = errorCode(err);
  const mapped = code ? STORAGE_CODES[code] : undefined;
  if (mapped) return { code: mapped, message: errorMessage(err) };
  return { code: 'INTERNAL', message: 'internal error' };
}

export function toGrpcError(err: unknown): { code: number; details: string } {
  const { code, message } = classify(err);
  return { code: RATER_ERRORS[code].grpc, details: `${code}: ${message}` };
}

export interface HttpErrorBody {
  error: { code: string; message: string; problems?: PlanProblem[] };
}

export function toHttpError(err: unknown): { statusCode: number; body: HttpErrorBody } {
  const { code, message, problems } = classify(err);
  return {
    statusCode: RATER_ERRORS[code].http,
    body: { error: problems ? { code, message, problems } : { code, message } },
  };
}

export function isInternal(err: unknown): boolean {
  return classify(err).code === 'INTERNAL';
}
