// The quota side as rater.ts wires it: a rater on the embedded database, a plan with a quota put
// over HTTP, usage over real gRPC, and a webhook receiver on loopback. The batch's commit reaches
// the tracker, the crossing is decided, its delivery POSTed, the change log and the API agree.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceQuotaStatus } from '../common/quota.ts';
import { encodeBatch, RaterClient } from '../collector/forward/client.ts';
import { UsageRecord } from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import { verifyWebhookSignature } from '../rater/quota/signature.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import { startRater, waitFor } from './helpers/stack.ts';

const PLAN = `
plan: capped
currency: EUR
effective_from: '2020-01-01'
charges:
  - { id: fee, type: fixed, per: account, amount: '1.00' }
quotas:
  - id: month
    meter: total
    limit: 10 KB
    window: period
    thresholds:
      - { at: 80%, action: throttle, rate: 128 kbps }
      - { at: 100%, action: block }
`;

describe('quotas in a running rater', () => {
  let rater: Rater;
  let client: RaterClient;
  let base: string;
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const rx = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.end('ok');
    });
  });

  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': type },
      body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    rater = await startRater('embedded:memory');
    client = new RaterClient(`127.0.0.1:${rater.grpcPort}`);
    base = `http://127.0.0.1:${rater.httpPort}`;
  });
  afterAll(async () => {
    client?.close();
    await rater?.close();
    await new Promise<void>((r) => rx.close(() => r()));
  });

  it('ingest → crossing → webhook, change log and API readout', async () => {
    expect((await call('PUT', '/v1/plans/capped', PLAN, 'application/yaml')).status).toBe(201);
    const acct = { currency: 'EUR', time_zone: 'UTC', plan: 'capped' };
    expect((await call('PUT', '/v1/accounts/acme', acct)).status).toBe(200);
    expect((await call('PUT', '/v1/devices/meter-1', { account: 'acme' })).status).toBe(200);
    const hook = await call('PUT', '/v1/webhooks/ops', {
      url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/in`,
    });
    const secret = hook.json.secret as string;

    const now = Date.now();
    const rec = UsageRecord.encode({
      deviceId: 'meter-1',
      seq: 1,
      endMs: now - 1000,
      receivedMs: now - 1000,
      up: 4000,
      down: 4500,
    }).finish();
    expect(await client.send(encodeBatch('gw-1', 'b-1', [rec]), 10_000)).toMatchObject({
      accepted: 1,
    });

    await waitFor(() => (got.length > 0 ? true : undefined), 'the webhook POST');
    const post = got[0]!;
    expect(post.headers['edgemeter-event']).toBe('quota.threshold_crossed');
    expect(
      verifyWebhookSignature(secret, post.headers['edgemeter-signature'] as string, post.body),
    ).toBe(true);
    expect(JSON.parse(post.body)).toMatchObject({
      device: 'meter-1',
      quota: { key: 'capped/month', level: 0, action: 'throttle', used: '8500' },
    });

    const { rows } = await (
      rater.usageStore as unknown as { sql: { query: <T>(q: string) => Promise<{ rows: T[] }> } }
    ).sql.query<{ status: DeviceQuotaStatus }>(`SELECT status FROM quota_changes`);
    expect(rows.map((r) => [r.status.state, r.status.throttleBps])).toEqual([
      ['throttled', 128000],
    ]);

    const q = await call('GET', '/v1/devices/meter-1/quotas');
    expect(q.json).toMatchObject({ state: 'throttled', quotas: [{ used: '8500', pct: '85.00' }] });
  });
});

describe.skipIf(!hasPostgres)('two raters on one PostgreSQL database', () => {
  it('usage for one device through both: one crossing, one delivery, one POST', async () => {
    const db = await freshPostgresDatabase();
    const got: string[] = [];
    const rx = http.createServer((req, res) => {
      got.push(String(req.headers['edgemeter-delivery']));
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    const a = await startRater(db.url);
    const b = await startRater(db.url);
    const ca = new RaterClient(`127.0.0.1:${a.grpcPort}`);
    const cb = new RaterClient(`127.0.0.1:${b.grpcPort}`);
    try {
      const put = (path: string, body: string, type = 'application/json') =>
        fetch(`http://127.0.0.1:${a.httpPort}${path}`, {
          method: 'PUT',
          headers: { 'content-type': type },
          body,
        });
      await put('/v1/plans/capped', PLAN, 'application/yaml');
      await put(
        '/v1/accounts/acme',
        JSON.stringify({ currency: 'EUR', time_zone: 'UTC', plan: 'capped' }),
      );
      await put('/v1/devices/m', JSON.stringify({ account: 'acme' }));
      const url = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/in`;
      await put('/v1/webhooks/ops', JSON.stringify({ url }));

      // 4.5 KB through each rater: 45 % alone, 90 % together (throttle at 80 %).
      const now = Date.now();
      const rec = (seq: number) =>
        UsageRecord.encode({
          deviceId: 'm',
          seq,
          endMs: now - 1000,
          receivedMs: now - 1000,
          up: 4500,
          down: 0,
        }).finish();
      await Promise.all([
        ca.send(encodeBatch('gw-a', 'a-1', [rec(1)]), 10_000),
        cb.send(encodeBatch('gw-b', 'b-1', [rec(2)]), 10_000),
      ]);
      await Promise.all([a.quotaTracker!.flush(), b.quotaTracker!.flush()]);
      const sql = (
        a.usageStore as unknown as {
          sql: { query: <T>(q: string) => Promise<{ rows: T[] }> };
        }
      ).sql;
      const count = async (table: string) =>
        (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
      expect(await count('quota_crossings')).toBe(1);
      expect(await count('alert_deliveries')).toBe(1);
      await waitFor(async () => {
        const { rows } = await sql.query<{ status: string }>(`SELECT status FROM alert_deliveries`);
        return rows[0]?.status === 'delivered' ? true : undefined;
      }, 'the delivery');
      expect(got).toHaveLength(1);
    } finally {
      ca.close();
      cb.close();
      await a.close();
      await b.close();
      await new Promise<void>((r) => rx.close(() => r()));
      await db.drop();
    }
  });
});
