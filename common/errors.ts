// Safe narrowing of thrown values (anything can be thrown in JavaScript).

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Whether a LevelDB open failed on its lock: another process (or this one) has the directory
 * open. classic-level reports it as the `cause` of LEVEL_DATABASE_NOT_OPEN.
 */
export function isLevelLocked(err: unknown): boolean {
  return errorCode((err as { cause?: unknown } | undefined)?.cause) === 'LEVEL_LOCKED';
}
