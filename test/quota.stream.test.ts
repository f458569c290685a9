// QuotaService.Watch over a real gRPC server and the real change log (embedded PGlite): the
// snapshot for a new collector, resume after a seq, the tail (woken by this process's appends,
// polled for other replicas'), flow control, validation, shutdown, and mutual TLS.
import http2 from 'node:http2';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import type { DeviceQuotaStatus } from '../common/quota.ts';
import {
  QUOTA_WATCH_PATH,
  QuotaUpdate,
  WatchQuotaRequest,
  type QuotaUpdateMsg,
} from '../proto/index.ts';
import type { QuotaLog } from '../rater/quota/log.ts';
import { QuotaStream, quotaServiceDefinition } from '../rater/quota/stream.ts';
import { Rater } from '../rater/rater.ts';
import { openStore } from '../rater/storage/open.ts';
import { SqlQuotaLog } from '../rater/storage/quota-log.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { quota, rule, status } from './helpers/quota.ts';
import { labPki, startMutualTlsRater } from './helpers/security.ts';
import { startCollector, tempDir, waitFor } from './helpers/stack.ts';

interface Watching {
  updates: QuotaUpdateMsg[];
  call: grpc.ClientReadableStream<QuotaUpdateMsg>;
  /** Resolves with the final status (OK or the error). */
  ended: Promise<grpc.StatusObject | grpc.ServiceError>;
}

function watch(
  client: grpc.Client,
  req: { collectorId: string; afterSeq: string },
  paused = false,
): Watching {
  const call = client.makeServerStreamRequest(
    QUOTA_WATCH_PATH,
    (m: typeof req) => Buffer.from(WatchQuotaRequest.encode(m).finish()),
    (b: Buffer) => QuotaUpdate.decode(b),
    req,
  );
  const updates: QuotaUpdateMsg[] = [];
  if (paused) call.pause();
  call.on('data', (u: QuotaUpdateMsg) => updates.push(u));
  const ended = new Promise<grpc.StatusObject | grpc.ServiceError>((resolve) => {
    call.on('error', resolve);
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve(s);
    });
  });
  return { updates, call, ended };
}

const devices = (w: Watching) => w.updates.map((u) => u.deviceId);
const parsed = (u: QuotaUpdateMsg) => JSON.parse(u.statusJson ?? '') as DeviceQuotaStatus;

describe('QuotaService.Watch', () => {
  let store: SqlUsageStore;
  let log: SqlQuotaLog;
  let reads = 0;
  let stream: QuotaStream;
  let server: grpc.Server;
  let client: grpc.Client;
  let port: number;
  const r = rule();

  beforeAll(async () => {
    store = await openStore('embedded:memory');
    await store.migrate();
    log = new SqlQuotaLog(store.sql);
    // The real log, counting its reads (to see that a stalled collector stops the reading).
    const counted: QuotaLog = {
      append: (s) => log.append(s),
      after: (a, l) => (reads++, log.after(a, l)),
      latest: (a, l) => log.latest(a, l),
      head: () => log.head(),
    };
    stream = new QuotaStream(
      { log: counted, logger: silentLogger(), onAppend: (fn) => log.onAppend(fn) },
      { pollMs: 50, pageSize: 2 },
    );
    server = new grpc.Server();
    server.addService(quotaServiceDefinition, stream.handlers);
    port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    stream?.close();
    client?.close();
    server?.forceShutdown();
    await store?.close();
  });

  it('a new collector gets each device’s latest status (paged), then every new change', async () => {
    await log.append([status('s-1', [quota(r, 10)]), status('s-2', [quota(r, 20)])]);
    await log.append([status('s-1', [quota(r, 600)]), status('s-3', [quota(r, 30)])]);
    const w = watch(client, { collectorId: 'gw', afterSeq: '0' });
    await waitFor(() => (w.updates.length >= 3 ? true : undefined), 'the snapshot');
    expect(devices(w)).toEqual(['s-1', 's-2', 's-3']);
    expect(parsed(w.updates[0]!)).toMatchObject({ deviceId: 's-1', state: 'warning' });
    expect(parsed(w.updates[0]!).seq).toBe(w.updates[0]!.seq);

    // Appended through this process's log: the idle stream is woken.
    const [c] = await log.append([status('s-4', [quota(r, 900)])]);
    await waitFor(() => (w.updates.length >= 4 ? true : undefined), 'the new change');
    expect(w.updates[3]).toMatchObject({ seq: String(c!.seq), deviceId: 's-4' });

    // Appended by another replica (not through this object): found by polling.
    const replica = new SqlQuotaLog(store.sql);
    const [d] = await replica.append([status('s-5', [quota(r, 1)])]);
    await waitFor(() => (w.updates.length >= 5 ? true : undefined), 'the other replica’s change');
    expect(w.updates[4]).toMatchObject({ seq: String(d!.seq), deviceId: 's-5' });
    w.call.cancel();
  });

  it('resumes after a seq: exactly the changes after it, in order', async () => {
    const all = await log.after(0n, 1000);
    const from = all[1]!.seq;
    const w = watch(client, { collectorId: 'gw', afterSeq: String(from) });
    await waitFor(
      () => (w.updates.length >= all.length - 2 ? true : undefined),
      'the changes after the seq',
    );
    expect(w.updates.map((u) => u.seq)).toEqual(all.slice(2).map((c) => String(c.seq)));
    w.call.cancel();
  });

  it('refuses a bad request with INVALID_ARGUMENT and a reason', async () => {
    const bad = await watch(client, { collectorId: 'gw', afterSeq: '12abc' }).ended;
    expect(bad).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((bad as grpc.ServiceError).details).toMatch(/after_seq must be a decimal seq/);
    const anon = await watch(client, { collectorId: '', afterSeq: '0' }).ended;
    expect(anon).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((anon as grpc.ServiceError).details).toMatch(/collector_id is required/);
  });

  it('stops reading the log while a collector does not read, and delivers everything after', async () => {
    const start = await log.head();
    const big = 'x'.repeat(4000);
    const n = 300;
    for (let i = 0; i < n; i += 50)
      await log.append(
        Array.from({ length: 50 }, (_, k) =>
          status(`fc-${i + k}`, [quota(rule({ id: big }), i + k)]),
        ),
      );
    reads = 0;
    // A collector that reads nothing off its connection, as a stuck one: a bare HTTP/2 stream,
    // paused, so its flow-control window fills. (A paused grpc-js call keeps reading the socket
    // into its own buffers, so the server may never feel it.)
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const req = session.request({
      ':method': 'POST',
      ':path': QUOTA_WATCH_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const msg = WatchQuotaRequest.encode({ collectorId: 'gw', afterSeq: String(start) }).finish();
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    frame.set(msg, 5);
    req.end(frame);
    req.pause();
    try {
      // The server is stuck on flow control: it has not read all 150 pages of 2.
      const stalled = await waitFor(() => (stream.stalled > 0 ? reads : undefined), 'a stall');
      expect(stalled * 2).toBeLessThan(n);
      // Reading again, the collector gets every change, in order: gRPC frames are a flag byte
      // and a big-endian length before each message.
      const got: string[] = [];
      let pending = Buffer.alloc(0);
      req.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          const len = pending.readUInt32BE(1);
          got.push(QuotaUpdate.decode(pending.subarray(5, 5 + len)).deviceId ?? '');
          pending = pending.subarray(5 + len);
        }
      });
      req.resume();
      await waitFor(() => (got.length >= n ? true : undefined), 'every change', 60_000);
      expect(got).toEqual(Array.from({ length: n }, (_, i) => `fc-${i}`));
    } finally {
      req.close();
      session.close();
    }
  });

  it('ends open streams cleanly (status OK) on close', async () => {
    const w = watch(client, { collectorId: 'gw', afterSeq: String(await log.head()) });
    await waitFor(() => (stream.watching > 0 ? true : undefined), 'the stream to be served');
    stream.close();
    expect(await w.ended).toMatchObject({ code: grpc.status.OK });
  });
});

describe('QuotaService.Watch with mutual TLS', () => {
  let rater: Rater;
  let cleanup: () => Promise<void> = async () => {};
  let pki: Awaited<ReturnType<typeof labPki>>;
  let dir: string;

  beforeAll(async () => {
    const tmp = await tempDir();
    dir = tmp.path;
    pki = await labPki(join(dir, 'pki'), { collectors: ['gw-1'] });
    rater = await startMutualTlsRater(pki, silentLogger());
    cleanup = async () => {
      await rater.close();
      await tmp.remove();
    };
  });
  afterAll(() => cleanup());

  it('refuses a collector_id that is not the certificate’s CN; the collector’s own TLS works', async () => {
    const creds = grpc.credentials.createSsl(
      pki.pemSync('ca.crt'),
      pki.pemSync('collector-gw-1.key'),
      pki.pemSync('collector-gw-1.crt'),
    );
    const client = new grpc.Client(`localhost:${rater.grpcPort}`, creds);
    const w = watch(client, { collectorId: 'gw-2', afterSeq: '0' });
    expect(await w.ended).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    client.close();

    const collector = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: join(dir, 'buf'),
      collectorId: 'gw-1',
      config: {
        rater: `localhost:${rater.grpcPort}`,
        raterTlsCa: pki.file('ca.crt'),
        raterTlsCert: pki.file('collector-gw-1.crt'),
        raterTlsKey: pki.file('collector-gw-1.key'),
      },
    });
    try {
      await rater.quotaLog.append([status('tls-1', [quota(rule(), 1000)])]);
      const got = await waitFor(() => collector.quota?.view('tls-1'), 'the status over mTLS');
      expect(got).toMatchObject({ state: 'blocked', source: 'rater' });
    } finally {
      await collector.close();
    }
  });
});
