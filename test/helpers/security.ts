// Test support for the security controls: a logger whose lines can be read back, and a lab PKI
// made with the same code as `edgemeter certs init`.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { initPki } from '../../common/pki.ts';
import { loadRaterConfig } from '../../rater/config.ts';
import { Rater } from '../../rater/rater.ts';

export interface CapturedLog {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
}

export function capturingLogger(level = 'debug'): CapturedLog {
  const chunks: string[] = [];
  const logger = pino(
    { level },
    {
      write: (s: string) => {
        chunks.push(s);
      },
    },
  );
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface LabPki {
  dir: string;
  file: (name: string) => string;
  pem: (name: string) => Promise<Buffer>;
  pemSync: (name: string) => Buffer;
}

/** A CA with certificates for the rater, the given collectors and devices, in `dir`. */
export async function labPki(
  dir: string,
  o: { collectors?: string[]; devices?: string[] } = {},
): Promise<LabPki> {
  await initPki({
    dir,
    raterHosts: ['localhost', '127.0.0.1'],
    collectors: o.collectors ?? [],
    collectorHosts: ['localhost', '127.0.0.1'],
    devices: o.devices ?? [],
    days: 2,
  });
  const file = (name: string) => join(dir, name);
  return { dir, file, pem: (name) => readFile(file(name)), pemSync: (n) => readFileSync(file(n)) };
}

/** A rater on the embedded database whose gRPC port requires mutual TLS from `pki`'s CA. */
export function startMutualTlsRater(pki: LabPki, logger: Logger): Promise<Rater> {
  return new Rater(
    loadRaterConfig({
      env: {},
      flags: {
        db: 'embedded:memory',
        grpcListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        grpcTlsCert: pki.file('rater.crt'),
        grpcTlsKey: pki.file('rater.key'),
        grpcTlsClientCa: pki.file('ca.crt'),
      },
    }),
    { logger },
  ).start();
}
