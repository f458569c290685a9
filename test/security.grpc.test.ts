// Collector → rater: TLS and mutual TLS on the gRPC ingest port. Only collectors whose client
// certificate chains to the configured CA get in, the collector id in a batch must be the
// certificate's CN, and a rater without TLS listens on loopback only unless told otherwise.
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { encodeBatch, RaterClient } from '../collector/forward/client.ts';
import { UsageRecord } from '../proto/index.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { capturingLogger, labPki, startMutualTlsRater, type LabPki } from './helpers/security.ts';
import {
  device,
  report,
  settledTotals,
  startCollector,
  T0,
  tempDir,
  usageTotals,
} from './helpers/stack.ts';

function batch(collectorId: string, deviceId: string, seq: number): Buffer {
  const rec = UsageRecord.encode({
    deviceId,
    seq,
    endMs: T0 + seq * 60_000,
    up: 100,
    down: 200,
    receivedMs: T0 + seq * 60_000,
  }).finish();
  return encodeBatch(collectorId, `${collectorId}-${deviceId}-${seq}`, [rec]);
}

async function sendError(client: RaterClient, request: Buffer): Promise<grpc.ServiceError> {
  try {
    await client.send(request, 5000);
  } catch (err) {
    return err as grpc.ServiceError;
  } finally {
    client.close();
  }
  throw new Error('the rater accepted the batch');
}

function mtlsClient(port: number, pki: LabPki, cert: Buffer, key: Buffer): RaterClient {
  return new RaterClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(pki.pemSync('ca.crt'), key, cert),
  );
}

describe('gRPC ingest with mutual TLS', () => {
  let rater: Rater;
  let collector: Collector;
  let pki: LabPki;
  let stranger: LabPki;
  const log = capturingLogger();
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir();
    pki = await labPki(join(dir.path, 'pki'), { collectors: ['gw-1', 'gw-2'] });
    stranger = await labPki(join(dir.path, 'stranger'), { collectors: ['gw-1'] });
    rater = await startMutualTlsRater(pki, log.logger);
    collector = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: join(dir.path, 'buf'),
      collectorId: 'gw-1',
      config: {
        rater: `localhost:${rater.grpcPort}`,
        raterTlsCa: pki.file('ca.crt'),
        raterTlsCert: pki.file('collector-gw-1.crt'),
        raterTlsKey: pki.file('collector-gw-1.key'),
      },
    });
    cleanup = async () => {
      await collector.close();
      await rater.close();
      await dir.remove();
    };
  });
  afterAll(() => cleanup?.());

  it('delivers a trusted collector’s records end to end', async () => {
    const dev = await device(collector.mqttPort, 'm-1');
    await dev.publishAsync('usage/m-1', report(1, 1000, 2000), { qos: 1 });
    await dev.publishAsync('usage/m-1', report(2, 10, 20), { qos: 1 });
    dev.end(true);
    expect(await settledTotals(rater, 'm-1', 2)).toEqual({ up: 1010, down: 2020, records: 2 });
  });

  it('refuses a collector whose certificate comes from an untrusted CA', async () => {
    const client = mtlsClient(
      rater.grpcPort,
      pki,
      stranger.pemSync('collector-gw-1.crt'),
      stranger.pemSync('collector-gw-1.key'),
    );
    const err = await sendError(client, batch('gw-1', 'm-2', 1));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect((await usageTotals(rater, 'm-2')).records).toBe(0);
  });

  it('refuses a batch whose collector id is not the certificate’s CN, storing nothing', async () => {
    const client = mtlsClient(
      rater.grpcPort,
      pki,
      pki.pemSync('collector-gw-2.crt'),
      pki.pemSync('collector-gw-2.key'),
    );
    const err = await sendError(client, batch('gw-1', 'm-3', 1));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toMatch(/^COLLECTOR_MISMATCH: collector_id "gw-1" is not the CN .*"gw-2"/);
    expect((await usageTotals(rater, 'm-3')).records).toBe(0);
    expect(log.lines().some((l) => l.msg === 'batch refused')).toBe(true);
  });

  it('accepts the same batch from the collector the certificate names', async () => {
    const client = mtlsClient(
      rater.grpcPort,
      pki,
      pki.pemSync('collector-gw-2.crt'),
      pki.pemSync('collector-gw-2.key'),
    );
    const res = await client.send(batch('gw-2', 'm-3', 1), 5000);
    client.close();
    expect(res.accepted).toBe(1);
  });

  it('refuses a TLS client without a certificate, and a plaintext client', async () => {
    const noCert = new RaterClient(
      `127.0.0.1:${rater.grpcPort}`,
      grpc.credentials.createSsl(pki.pemSync('ca.crt')),
    );
    expect((await sendError(noCert, batch('gw-1', 'm-4', 1))).code).toBe(grpc.status.UNAVAILABLE);
    const plain = new RaterClient(`127.0.0.1:${rater.grpcPort}`);
    expect((await sendError(plain, batch('gw-1', 'm-4', 1))).code).toBe(grpc.status.UNAVAILABLE);
    expect((await usageTotals(rater, 'm-4')).records).toBe(0);
  });
});

/** A non-loopback IPv4 address of this machine, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

describe('a rater without TLS', () => {
  async function start(flags: Record<string, unknown>) {
    const log = capturingLogger('info');
    const rater = await new Rater(
      loadRaterConfig({
        env: {},
        flags: { db: 'embedded:memory', httpListen: '127.0.0.1:0', ...flags },
      }),
      { logger: log.logger },
    ).start();
    return { rater, log };
  }

  it('binds loopback only when asked for all interfaces, and says so', async () => {
    const { rater, log } = await start({ grpcListen: '0.0.0.0:0' });
    try {
      const warning = log.lines().find((l) => /listening on loopback only/.test(String(l.msg)));
      expect(warning?.address).toBe(`127.0.0.1:0`);
      expect(await reachable('127.0.0.1', rater.grpcPort)).toBe(true);
      const outside = outsideAddress();
      if (outside) expect(await reachable(outside, rater.grpcPort)).toBe(false);
    } finally {
      await rater.close();
    }
  });

  it('binds as configured with grpcAllowInsecure, with a warning', async () => {
    const { rater, log } = await start({ grpcListen: '0.0.0.0:0', grpcAllowInsecure: 'true' });
    try {
      expect(log.lines().some((l) => /plaintext and unauthenticated/.test(String(l.msg)))).toBe(
        true,
      );
      const outside = outsideAddress();
      if (outside) expect(await reachable(outside, rater.grpcPort)).toBe(true);
    } finally {
      await rater.close();
    }
  });

  it('refuses half a TLS configuration with a message naming the options', async () => {
    await expect(start({ grpcListen: '127.0.0.1:0', grpcTlsCert: '/x.crt' })).rejects.toThrow(
      /grpcTlsCert set without grpcTlsKey/,
    );
    await expect(
      start({ grpcListen: '127.0.0.1:0', grpcTlsCert: '/nope.crt', grpcTlsKey: '/nope.key' }),
    ).rejects.toThrow(/grpcTlsCert: cannot read \/nope\.crt/);
  });
});
