// Structured JSON logs (pino). Programs create one logger at start-up and pass it down; nothing
// logs through a module global.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Secrets that must never reach a log line, wherever an object carrying them is logged: request
 * headers with API keys, and the key list of a config (docs/security.md).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKeys',
  'config.apiKeys',
];

export function createLogger(
  level: string,
  name: string,
  destination?: pino.DestinationStream,
): Logger {
  const options = { level, name, base: { program: name }, redact: REDACT_PATHS };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that discards everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
