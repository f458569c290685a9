// Late data: usage that arrives for a month whose invoice was issued is stored, the issued
// invoice never changes (byte for byte), and the difference is billed once, as adjustment
// lines, on the next invoice — on each real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../common/logger.ts';
import { buildApi } from '../rater/api/server.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import type { Invoice } from '../rater/rating/types.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { SqlAuditLog } from '../rater/storage/audit.ts';
import { SqlInvoiceStore } from '../rater/storage/invoice-store.ts';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { ingestEvery5m } from './helpers/billing.ts';
import { dbTargets } from './helpers/db.ts';

const GB = 1_000_000_000;

// 2.00 per GB, nothing else: every delta is easy to check by hand.
const PLAN = {
  plan: 'flat',
  currency: 'EUR',
  effective_from: '2026-01-01',
  charges: [
    {
      id: 'data',
      type: 'usage',
      meter: 'total',
      unit: 'GB',
      pricing: { model: 'per_unit', price: '2.00' },
    },
  ],
};

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`late data on ${target.name}`, () => {
    let store: SqlUsageStore;
    let cleanup: () => Promise<void> = async () => {};
    const apps: FastifyInstance[] = [];

    /** The API as it answers at `iso` (one app per "now"). */
    const at = async (iso: string) => {
      const app = buildApi({
        store,
        catalog: new SqlCatalogStore(store.sql),
        invoices: new SqlInvoiceStore(store.sql),
        audit: new SqlAuditLog(store.sql),
        metrics: new RaterMetrics({ processMetrics: false }),
        logger: silentLogger(),
        now: () => Date.parse(iso),
      });
      apps.push(app);
      await app.ready();
      return app;
    };
    const call = async (
      app: FastifyInstance,
      method: 'GET' | 'PUT' | 'POST',
      url: string,
      payload?: object,
    ) => {
      const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.body, json: () => res.json() as Invoice };
    };

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = (await openStore(db.url, { poolSize: 4 })) as SqlUsageStore;
      await store.migrate();
      const jan = await at('2026-01-05T00:00:00Z');
      expect((await call(jan, 'PUT', '/v1/plans/flat', PLAN)).status).toBe(201);
      await call(jan, 'PUT', '/v1/accounts/acme', {
        currency: 'EUR',
        time_zone: 'UTC',
        plan: 'flat',
        plan_from: '2026-01-01',
      });
      await call(jan, 'PUT', '/v1/devices/d1', { account: 'acme', from: '2026-01-01' });
      // March: 2 records of 0.5 GB → 1 GB → 2.00.
      await ingestEvery5m(store, 'd1', '2026-03-10T10:00:00Z', 2, GB / 2, 0, 1);
    });
    afterAll(async () => {
      for (const a of apps) await a.close();
      await store?.close();
      await cleanup();
    });

    let issuedMarch = '';

    it('Given March has ended, When it is issued, Then the snapshot is stored and issuing again returns it unchanged', async () => {
      const april2 = await at('2026-04-02T00:00:00Z');
      const open = await call(april2, 'POST', '/v1/accounts/acme/invoices/2026-04/issue');
      expect(open.status).toBe(409); // April has not ended
      const first = await call(april2, 'POST', '/v1/accounts/acme/invoices/2026-03/issue');
      expect(first.status).toBe(201);
      const inv = first.json();
      expect(inv.status).toBe('issued');
      expect(inv.issued_at).toBe('2026-04-02T00:00:00.000Z');
      expect(inv.total).toBe('2.00');
      const again = await call(april2, 'POST', '/v1/accounts/acme/invoices/2026-03/issue');
      expect(again.status).toBe(200);
      expect(again.body).toBe(first.body);
      issuedMarch = first.body;
    });

    it('Given late March usage, Then the issued March invoice is byte-identical and April carries the adjustment once', async () => {
      // 0.25 GB for March arrives in April (a gateway that was offline): +0.50.
      await ingestEvery5m(store, 'd1', '2026-03-31T23:50:00Z', 1, GB / 4, 0, 3);
      const april3 = await at('2026-04-03T00:00:00Z');
      const march = await call(april3, 'GET', '/v1/accounts/acme/invoices/2026-03');
      expect(march.body).toBe(issuedMarch);

      const april = (await call(april3, 'GET', '/v1/accounts/acme/invoices/2026-04')).json();
      const adj = april.lines.filter((l) => l.kind === 'adjustment');
      expect(adj).toMatchObject([
        { charge: 'data', device: 'd1', adjusts: '2026-03', amount: '0.50', unit_price: '0.50' },
      ]);
      expect(adj[0]?.description).toBe('Late usage for 2026-03: Data (data)');
      expect(april.total).toBe('0.50'); // no April usage yet
      // The device's charges show it too.
      const charges = await april3.inject({
        method: 'GET',
        url: '/v1/devices/d1/charges?period=2026-04',
      });
      expect(charges.json().charges[0].total).toBe('0.50');
    });

    it('Given April issued with the adjustment, Then May does not bill it again, and only newer late usage is adjusted', async () => {
      const may2 = await at('2026-05-02T00:00:00Z');
      const april = await call(may2, 'POST', '/v1/accounts/acme/invoices/2026-04/issue');
      expect(april.status).toBe(201);
      expect(april.json().lines.map((l) => [l.kind, l.adjusts ?? '-', l.amount])).toEqual([
        ['adjustment', '2026-03', '0.50'],
      ]);
      let may = (await call(may2, 'GET', '/v1/accounts/acme/invoices/2026-05')).json();
      expect(may.lines).toEqual([]);
      expect(may.total).toBe('0.00');

      // More March usage still: 1 GB → +2.00, billed on May (the next unissued invoice).
      await ingestEvery5m(store, 'd1', '2026-03-20T08:00:00Z', 1, GB, 0, 4);
      const may3 = await at('2026-05-03T00:00:00Z');
      may = (await call(may3, 'GET', '/v1/accounts/acme/invoices/2026-05')).json();
      expect(may.lines.map((l) => [l.kind, l.adjusts ?? '-', l.amount])).toEqual([
        ['adjustment', '2026-03', '2.00'],
      ]);
      expect(may.total).toBe('2.00');
      // Both issued invoices are untouched.
      expect((await call(may3, 'GET', '/v1/accounts/acme/invoices/2026-03')).body).toBe(
        issuedMarch,
      );
      expect((await call(may3, 'GET', '/v1/accounts/acme/invoices/2026-04')).body).toBe(april.body);
    });
  });
}
