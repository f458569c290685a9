// Errors the storage layer reports with a stable `code`, so callers decide without parsing
// driver messages: the gRPC layer answers UNAVAILABLE for DB_UNAVAILABLE (the collector keeps
// the batch and retries), and /readyz reports NOT_MIGRATED with its message.

export type StorageErrorCode =
  /** The database cannot be reached, refuses connections, or went away mid-transaction. */
  | 'DB_UNAVAILABLE'
  /** The schema is missing or older than this code expects. */
  | 'NOT_MIGRATED'
  /** A value read back does not fit (e.g. a sum above Number.MAX_SAFE_INTEGER). */
  | 'OUT_OF_RANGE'
  /** A caller passed something the store cannot accept (unknown URL scheme, bad step, …). */
  | 'INVALID_ARGUMENT'
  /** The thing asked for does not exist (e.g. the account of an invoice). */
  | 'NOT_FOUND'
  /**
   * The request contradicts what is stored: a change inside a closed billing period, another
   * currency or time zone for an account.
   */
  | 'CONFLICT'
  /** Any other database error (a bug or a broken schema): not worth retrying blindly. */
  | 'DB_ERROR';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Node socket errors meaning "no connection" (also found inside an AggregateError when a host
// name resolves to several addresses and every attempt failed).
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

// SQLSTATEs meaning "this server will not serve us right now": class 08 (connection
// exception), admin/crash shutdown, cannot-connect-now (starting up / recovering), too many
// connections, and a database that does not exist (dropped or not yet created). Auth failures
// (28xxx) are included: the batch must not be acknowledged, and retrying after an operator
// fixed the credentials is the right behaviour.
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '3D000',
  '28000',
  '28P01',
]);

const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /client has encountered a connection error/i,
  /pglite is closed/i,
  /connection .*closed/i,
];

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : undefined;
}

/** True when `e` means the database is unreachable rather than that a statement failed. */
export function isUnavailable(e: unknown): boolean {
  if (e instanceof StorageError) return e.code === 'DB_UNAVAILABLE';
  const code = codeOf(e);
  if (code !== undefined) {
    if (NET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))
      return true;
  }
  if (e instanceof AggregateError && e.errors.some(isUnavailable)) return true;
  const msg = e instanceof Error ? e.message : '';
  return UNAVAILABLE_MESSAGES.some((re) => re.test(msg));
}

/** SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock. */
export function isRetryable(e: unknown): boolean {
  const code = codeOf(e);
  return code === '40001' || code === '40P01';
}

/** Wraps a driver error into a StorageError (leaves StorageErrors as they are). */
export function toStorageError(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  const detail = e instanceof Error ? e.message || e.name : String(e);
  if (isUnavailable(e)) {
    return new StorageError('DB_UNAVAILABLE', `${what}: database unavailable (${detail})`, {
      cause: e,
    });
  }
  const code = codeOf(e);
  return new StorageError('DB_ERROR', `${what}: ${detail}${code ? ` [${code}]` : ''}`, {
    cause: e,
  });
}
