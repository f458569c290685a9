// The quota and webhook routes over a real database: quota readouts of a device and an account,
// who may call what (readonly reads quotas; only admin manages webhooks), the signing secret
// shown once, bad input answered 400 with the field named, and the OpenAPI description.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { KeyRing, parseApiKeys } from '../rater/api/keys.ts';
import { buildApi } from '../rater/api/server.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { SqlAuditLog } from '../rater/storage/audit.ts';
import { SqlInvoiceStore } from '../rater/storage/invoice-store.ts';
import { dbTargets } from './helpers/db.ts';
import { quotaRig, type QuotaRig } from './helpers/quota-rater.ts';

const ADMIN = 'adm-0123456789abcdef0123456789abcdef';
const BILLING = 'bil-0123456789abcdef0123456789abcdef';
const READONLY = 'ro--0123456789abcdef0123456789abcdef';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('quota and webhook API (PGlite)', () => {
  let rig: QuotaRig;
  let app: FastifyInstance;
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const db = await dbTargets[0]!.create();
    cleanup = db.cleanup;
    rig = await quotaRig(db.url);
    app = buildApi({
      store: rig.store,
      catalog: rig.catalog,
      invoices: new SqlInvoiceStore(rig.store.sql),
      audit: new SqlAuditLog(rig.store.sql),
      metrics: new RaterMetrics({ processMetrics: false }),
      logger: silentLogger(),
      now: () => rig.clock.now,
      keys: new KeyRing(
        parseApiKeys(`${ADMIN}:admin,${BILLING}:billing,${READONLY}:readonly`).keys,
      ),
      quotas: { tracker: rig.tracker, alerts: rig.alerts },
    });
    await rig.send('a1', [
      { deviceId: 'd1', up: 700_000, down: 150_000 },
      { deviceId: 'd2', up: 1_000_000 },
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await rig?.close();
    await cleanup();
  });

  it("reads a device's quotas: used, limit, remaining, pct, state, throttle, window, exhaustion", async () => {
    const res = await app.inject({ url: '/v1/devices/d1/quotas', headers: as(READONLY) });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      state: string;
      plan: string;
      quotas: Array<Record<string, unknown>>;
    };
    expect(body).toMatchObject({ device: 'd1', account: 'acme', plan: 'q1', state: 'throttled' });
    expect(body.quotas.find((q) => q.quota === 'cap')).toEqual({
      quota: 'cap',
      key: 'q1/cap',
      scope: 'device',
      meter: 'total',
      unit: 'B',
      used: '850000',
      limit: '1000000',
      remaining: '150000',
      pct: '85.00',
      state: 'throttled',
      level: 1,
      throttle_bps: 64000,
      zero_rated: '0',
      window_start: '2026-11-01T00:00:00.000Z',
      window_end: '2026-12-01T00:00:00.000Z',
      // 850 KB in 19.5 days: 1 MB after ~22.9 days.
      exhausts_at: expect.stringMatching(/^2026-11-23T/) as unknown,
    });
    expect(body.quotas.map((q) => q.quota)).toEqual(['cap', 'pool', 'hourly']);
  });

  it("reads an account's pooled quotas", async () => {
    const res = await app.inject({ url: '/v1/accounts/acme/quotas', headers: as(BILLING) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      account: 'acme',
      plan: 'q1',
      quotas: [{ quota: 'pool', scope: 'account', used: '1700000', limit: '3000000', state: 'ok' }],
    });
  });

  it('answers 404 for an unknown account or a device in none, 401 without a key', async () => {
    const acct = await app.inject({ url: '/v1/accounts/nobody/quotas', headers: as(ADMIN) });
    expect([acct.statusCode, acct.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const dev = await app.inject({ url: '/v1/devices/stray/quotas', headers: as(ADMIN) });
    expect([dev.statusCode, dev.json().error.message]).toEqual([
      404,
      'device stray is in no account',
    ]);
    expect((await app.inject({ url: '/v1/devices/d1/quotas' })).statusCode).toBe(401);
  });

  it('manages webhooks as admin only; the secret is shown once', async () => {
    const body = { url: 'https://alerts.example.com/edgemeter', account: 'acme' };
    for (const key of [READONLY, BILLING]) {
      const r = await app.inject({
        method: 'PUT',
        url: '/v1/webhooks/ops',
        headers: as(key),
        payload: body,
      });
      expect([r.statusCode, r.json().error.code]).toEqual([403, 'FORBIDDEN']);
      const g = await app.inject({ url: '/v1/webhooks/ops/deliveries', headers: as(key) });
      expect(g.statusCode).toBe(403);
    }
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/webhooks/ops',
      headers: as(ADMIN),
      payload: body,
    });
    expect(put.statusCode).toBe(200);
    const created = put.json() as Record<string, unknown>;
    expect(created).toMatchObject({
      id: 'ops',
      url: body.url,
      account: 'acme',
      events: ['quota.threshold_crossed', 'bill.projected_total_over'],
      created: true,
    });
    expect(created.secret).toMatch(/^whsec_[0-9a-f]{64}$/);

    const get = await app.inject({ url: '/v1/webhooks/ops', headers: as(ADMIN) });
    expect(get.json()).not.toHaveProperty('secret');
    const again = await app.inject({
      method: 'PUT',
      url: '/v1/webhooks/ops',
      headers: as(ADMIN),
      payload: { ...body, events: ['bill.projected_total_over'] },
    });
    expect(again.json()).toMatchObject({ created: false, events: ['bill.projected_total_over'] });
    expect(again.json()).not.toHaveProperty('secret');
    const given = await app.inject({
      method: 'PUT',
      url: '/v1/webhooks/ops',
      headers: as(ADMIN),
      payload: { ...body, secret: 'my-own-secret-of-20-chars' },
    });
    expect(given.json().secret).toBe('my-own-secret-of-20-chars');

    const list = await app.inject({ url: '/v1/webhooks', headers: as(ADMIN) });
    expect((list.json() as { webhooks: unknown[] }).webhooks).toHaveLength(1);
    const log = await app.inject({ url: '/v1/webhooks/ops/deliveries', headers: as(ADMIN) });
    expect(log.json()).toEqual({ deliveries: [] });

    const del = await app.inject({ method: 'DELETE', url: '/v1/webhooks/ops', headers: as(ADMIN) });
    expect(del.json()).toEqual({ deleted: true });
    const gone = await app.inject({
      method: 'DELETE',
      url: '/v1/webhooks/ops',
      headers: as(ADMIN),
    });
    expect(gone.statusCode).toBe(404);
  });

  it('refuses bad webhook input with the field named', async () => {
    const put = (payload: object) =>
      app.inject({ method: 'PUT', url: '/v1/webhooks/x', headers: as(ADMIN), payload });
    const cases: Array<[object, RegExp]> = [
      [{ url: 'ftp://x' }, /url must be an absolute http/],
      [{ url: 'https://x', events: ['quota.lol'] }, /events are quota.threshold_crossed/],
      [{ url: 'https://x', secret: 'short' }, /secret must be 16-200 characters/],
      [{ url: 'https://x', colour: 'red' }, /colour/],
    ];
    for (const [payload, message] of cases) {
      const r = await put(payload);
      expect(r.statusCode).toBe(400);
      expect(r.json().error.message).toMatch(message);
    }
    const bad = await app.inject({ url: '/v1/webhooks/bad%20id', headers: as(ADMIN) });
    expect(bad.json().error.message).toMatch(/webhook id must be/);
  });

  it('describes the routes in the OpenAPI document', async () => {
    const spec = (await app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
    };
    const ops = Object.entries(spec.paths).flatMap(([p, o]) =>
      Object.entries(o).map(([m, op]) => [`${m.toUpperCase()} ${p}`, op] as const),
    );
    for (const key of [
      'GET /v1/devices/{id}/quotas',
      'GET /v1/accounts/{id}/quotas',
      'PUT /v1/webhooks/{id}',
      'GET /v1/webhooks/{id}',
      'DELETE /v1/webhooks/{id}',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{id}/deliveries',
    ]) {
      const op = ops.find(([k]) => k === key)?.[1];
      expect(op?.summary, key).toBeTruthy();
    }
  });
});
