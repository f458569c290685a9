// TLS material shared by both programs: PEM files, options that go in pairs, certificate names.
import { readFileSync } from 'node:fs';

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** Reads a PEM file named by option `key`; the error names the option and the file. */
export function readPem(file: string, key: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN '))
    throw new TlsConfigError(`${key}: ${file} is not a PEM file (no -----BEGIN line)`);
  return pem;
}

/** Options that only make sense together: all set, or all unset. */
export function requireTogether(values: Record<string, unknown>): void {
  const set = Object.keys(values).filter((k) => values[k] !== undefined);
  if (set.length > 0 && set.length < Object.keys(values).length) {
    const missing = Object.keys(values).filter((k) => values[k] === undefined);
    throw new TlsConfigError(`${set.join(', ')} set without ${missing.join(', ')}`);
  }
}

/** The subject CN of a verified peer certificate, or undefined. */
export function commonName(subject: unknown): string | undefined {
  const cn = (subject as { CN?: string | string[] } | undefined)?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
