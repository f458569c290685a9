// Errors the durable buffer reports to its callers. Each has a stable `code` so the MQTT intake
// can map it to a refusal (the device keeps its data and retries) without parsing messages.

export type BufferErrorCode =
  /** Appending would exceed the disk cap (`maxBytes`); nothing of the call was written. */
  | 'BUFFER_FULL'
  /** LevelDB failed the write (or read); nothing of the call was written. */
  | 'STORE_FAILED'
  /** The outbox is closed or was never opened. */
  | 'CLOSED';

export class BufferError extends Error {
  override readonly name = 'BufferError';

  constructor(
    readonly code: BufferErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isBufferError(err: unknown, code?: BufferErrorCode): err is BufferError {
  return err instanceof BufferError && (code === undefined || err.code === code);
}

/** The message with its causes (abstract-level wraps LevelDB's own error as the cause). */
export const errorMessage = (err: unknown): string =>
  err instanceof Error
    ? err.cause === undefined
      ? err.message
      : `${err.message} (${errorMessage(err.cause)})`
    : String(err);
