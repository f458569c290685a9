// Invoices and charges through the real HTTP stack on each real database: usage ingested through
// the store, a closed period rated as JSON and CSV (reproducible to the byte), a device that
// moved between accounts mid-period, the whole-period export, and the open period's projection.
// "Now" is fixed (2026-03-10T12:00Z): February is closed, March is open.
import { Decimal } from 'decimal.js';
import type { FastifyInstance } from 'fastify';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { buildApi } from '../rater/api/server.ts';
import {
  deviceChargesResponse,
  errorResponse,
  invoiceSchema,
  invoicesResponse,
} from '../rater/api/schemas.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { invoicesCsv } from '../rater/rating/csv.ts';
import type { Invoice } from '../rater/rating/types.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { SqlAuditLog } from '../rater/storage/audit.ts';
import { SqlInvoiceStore } from '../rater/storage/invoice-store.ts';
import { dbTargets } from './helpers/db.ts';
import { ingestEvery5m, samplePlanYaml, startApi, type TestApi } from './helpers/billing.ts';

const CSV = { accept: 'text/csv' };
const sum = (xs: string[]) => xs.reduce((a, x) => a.plus(x), new Decimal(0));

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`invoices API on ${target.name}`, () => {
    let api: TestApi;
    let cleanup: () => Promise<void> = async () => {};
    const extraApps: FastifyInstance[] = [];

    /** Another API over the same database, with its own clock. */
    const appAt = async (iso: string) => {
      const app = buildApi({
        store: api.store,
        catalog: new SqlCatalogStore(api.store.sql),
        invoices: new SqlInvoiceStore(api.store.sql),
        audit: new SqlAuditLog(api.store.sql),
        metrics: new RaterMetrics({ processMetrics: false }),
        logger: silentLogger(),
        now: () => Date.parse(iso),
      });
      extraApps.push(app);
      await app.ready();
      return app;
    };
    const get = (url: string, headers: Record<string, string> = {}, app?: FastifyInstance) =>
      (app ?? api.app).inject({ method: 'GET', url, headers });
    const put = async (app: FastifyInstance, url: string, payload: object | string) => {
      const res = await app.inject({
        method: 'PUT',
        url,
        payload,
        headers: typeof payload === 'string' ? { 'content-type': 'application/yaml' } : {},
      });
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
    };

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      api = await startApi(db.url);

      // The catalog as it was set up during February (then the open period).
      const feb = await appAt('2026-02-05T00:00:00Z');
      await put(feb, '/v1/plans/iot-basic', samplePlanYaml());
      await put(feb, '/v1/accounts/acme', {
        name: 'Acme',
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        plan: 'iot-basic',
      });
      await put(feb, '/v1/accounts/beta', { currency: 'EUR', time_zone: 'UTC', plan: 'iot-basic' });
      await put(feb, '/v1/devices/d1', { account: 'acme', from: '2026-01-01' });
      await put(feb, '/v1/devices/d2', { account: 'acme', from: '2026-01-01' });
      // d3 joins acme on Feb 1 and moves to beta on Feb 15 (decided while February was open).
      await put(feb, '/v1/devices/d3', { account: 'acme', from: '2026-02-01' });
      await put(feb, '/v1/devices/d3', { account: 'beta', from: '2026-02-15' });
      // d4 arrives in March only.
      await put(api.app, '/v1/devices/d4', { account: 'beta', from: '2026-03-01' });

      // d1: 300 × 5 MB = 1.5 GB; d2: 100 × 2 MB; d3 on both sides of its move; d1 in March.
      await ingestEvery5m(api.store, 'd1', '2026-02-10T00:00:00Z', 300, 1_000_000, 4_000_000);
      await ingestEvery5m(api.store, 'd2', '2026-02-11T00:00:00Z', 100, 500_000, 1_500_000);
      await ingestEvery5m(api.store, 'd3', '2026-02-05T00:00:00Z', 50, 100_000, 900_000);
      await ingestEvery5m(api.store, 'd3', '2026-02-20T00:00:00Z', 80, 100_000, 900_000, 100);
      await ingestEvery5m(api.store, 'd1', '2026-03-05T00:00:00Z', 10, 1_000_000, 4_000_000, 1000);
    });
    afterAll(async () => {
      for (const app of extraApps) await app.close();
      await api?.close();
      await cleanup();
    });

    it('rates a closed period: the total is the sum of the line amounts', async () => {
      const res = await get('/v1/accounts/acme/invoices/2026-02');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const inv = invoiceSchema.parse(res.json());
      expect(inv).toMatchObject({
        account: 'acme',
        period: '2026-02',
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        period_start: '2026-01-31T23:00:00.000Z',
        period_end: '2026-02-28T23:00:00.000Z',
        status: 'closed',
      });
      expect(inv.as_of).toBeUndefined();
      expect(inv.projected_total).toBeUndefined();
      expect(sum(inv.lines.map((l) => l.amount)).toFixed(2)).toBe(inv.total);
      for (const l of inv.lines) expect(l.amount).toMatch(/^\d+\.\d{2}$/);

      // d1's 1.5 GB on graduated tiers: the first GB at 2.00, the other half at 1.00.
      const d1Data = inv.lines.filter((l) => l.device === 'd1' && l.charge === 'data');
      expect(d1Data.map((l) => [l.rated_quantity, l.amount])).toEqual([
        ['1', '2.00'],
        ['0.5', '0.50'],
      ]);
      expect(inv.lines.filter((l) => l.kind === 'peak').map((l) => l.device)).toEqual(
        expect.arrayContaining(['d1', 'd2', 'd3']),
      );
      // Byte counts are integers, per device; d3 only for the days it was in acme.
      const d1 = inv.devices.find((d) => d.device === 'd1');
      expect(d1).toMatchObject({ up: 300_000_000, down: 1_200_000_000, records: 300 });
      expect(inv.devices.find((d) => d.device === 'd3')).toMatchObject({
        up: 5_000_000,
        down: 45_000_000,
        records: 50,
        assigned_days: 14,
      });
      expect(sum(inv.devices.map((d) => d.amount)).toFixed(2)).toBe(inv.total);
    });

    it('gives the same bytes on a second request, JSON and CSV', async () => {
      const a = await get('/v1/accounts/acme/invoices/2026-02');
      const b = await get('/v1/accounts/acme/invoices/2026-02');
      expect(b.body).toBe(a.body);
      const c = await get('/v1/accounts/acme/invoices/2026-02', CSV);
      const d = await get('/v1/accounts/acme/invoices/2026-02', CSV);
      expect(d.body).toBe(c.body);
    });

    it('answers CSV with one row per line and a total row', async () => {
      const inv = invoiceSchema.parse((await get('/v1/accounts/acme/invoices/2026-02')).json());
      const res = await get('/v1/accounts/acme/invoices/2026-02', CSV);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const rows = res.body.trimEnd().split('\n');
      const header = (rows[0] ?? '').split(',');
      expect(header.slice(0, 4)).toEqual(['account', 'period', 'currency', 'line']);
      expect(rows).toHaveLength(inv.lines.length + 2);
      const amount = header.indexOf('amount');
      // The last column holding the amount does not contain commas, so the tail is reliable.
      const amountOf = (row: string) => row.split(',').slice(amount - header.length)[0];
      expect(rows.slice(1, -1).map(amountOf)).toEqual(inv.lines.map((l) => l.amount));
      expect(rows.at(-1)).toMatch(/^acme,2026-02,EUR,,total,/);
      expect(amountOf(rows.at(-1) ?? '')).toBe(inv.total);
    });

    it("splits a device's charges over the accounts it belonged to in the period", async () => {
      const acme = invoiceSchema.parse((await get('/v1/accounts/acme/invoices/2026-02')).json());
      const beta = invoiceSchema.parse((await get('/v1/accounts/beta/invoices/2026-02')).json());

      const res = await get('/v1/devices/d3/charges?period=2026-02');
      expect(res.statusCode).toBe(200);
      const body = deviceChargesResponse.parse(res.json());
      expect(body.device).toBe('d3');
      expect(body.period).toBe('2026-02');
      expect(body.charges.map((c) => [c.account, c.status])).toEqual([
        ['acme', 'closed'],
        ['beta', 'closed'],
      ]);
      for (const [c, inv] of [
        [body.charges[0], acme],
        [body.charges[1], beta],
      ] as const) {
        expect(c?.total).toBe(inv.devices.find((d) => d.device === 'd3')?.amount);
        expect(c?.lines.every((l) => l.device === 'd3')).toBe(true);
      }
      // Every device's charges together are the invoice.
      const perDevice = await Promise.all(
        ['d1', 'd2', 'd3'].map(async (d) =>
          deviceChargesResponse.parse(
            (await get(`/v1/devices/${d}/charges?period=2026-02`)).json(),
          ),
        ),
      );
      const acmeShare = perDevice.flatMap((r) => r.charges.filter((c) => c.account === 'acme'));
      expect(sum(acmeShare.map((c) => c.total)).toFixed(2)).toBe(acme.total);

      const csv = await get('/v1/devices/d3/charges?period=2026-02', CSV);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      const totals = csv.body
        .trimEnd()
        .split('\n')
        .filter((r) => r.split(',')[4] === 'total');
      expect(totals.map((r) => [r.split(',')[1], r.split(',').at(-1)])).toEqual([
        ['acme', body.charges[0]?.total],
        ['beta', body.charges[1]?.total],
      ]);
    });

    it('exports every invoice of a period, JSON and CSV', async () => {
      const res = await get('/v1/invoices?period=2026-02');
      expect(res.statusCode).toBe(200);
      const body = invoicesResponse.parse(res.json());
      expect(body.period).toBe('2026-02');
      expect(body.invoices.map((i) => i.account)).toEqual(['acme', 'beta']);
      const single = (await get('/v1/accounts/acme/invoices/2026-02')).json() as Invoice;
      expect(body.invoices[0]).toEqual(single);

      const csv = await get('/v1/invoices?period=2026-02', CSV);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.body).toBe(invoicesCsv(body.invoices as Invoice[]));
      expect(csv.body.split('\n').filter((r) => r.startsWith('account,'))).toHaveLength(1);
      expect(csv.body.split('\n').filter((r) => /^\w+,2026-02,EUR,,total,/.test(r))).toHaveLength(
        2,
      );
    });

    it('leaves out accounts whose period has not started in their time zone', async () => {
      // 2026-03-31T12:00Z is already April 1 in Kiritimati (UTC+14), still March elsewhere.
      const lateMarch = await appAt('2026-03-31T12:00:00Z');
      await put(lateMarch, '/v1/accounts/kiwi', {
        currency: 'EUR',
        time_zone: 'Pacific/Kiritimati',
        plan: 'iot-basic',
      });
      const april = invoicesResponse.parse(
        (await get('/v1/invoices?period=2026-04', {}, lateMarch)).json(),
      );
      expect(april.invoices.map((i) => [i.account, i.status])).toEqual([['kiwi', 'open']]);
      const notYet = await get('/v1/accounts/acme/invoices/2026-04', {}, lateMarch);
      expect(notYet.statusCode).toBe(404);
    });

    it('rates the open period up to now, with as_of and a projected total', async () => {
      const res = await get('/v1/accounts/acme/invoices/current');
      expect(res.statusCode).toBe(200);
      const inv = invoiceSchema.parse(res.json());
      expect(inv).toMatchObject({
        period: '2026-03',
        status: 'open',
        as_of: '2026-03-10T12:00:00.000Z',
      });
      expect(inv.projected_total).toMatch(/^\d+\.\d{2}$/);
      expect(new Decimal(inv.projected_total ?? '0').gte(inv.total)).toBe(true);
      expect(sum(inv.lines.map((l) => l.amount)).toFixed(2)).toBe(inv.total);
      expect(inv.devices.find((d) => d.device === 'd1')).toMatchObject({ records: 10 });
      // `current` is the month of now in the account's zone.
      expect((await get('/v1/accounts/acme/invoices/2026-03')).body).toBe(res.body);

      const d4 = deviceChargesResponse.parse((await get('/v1/devices/d4/charges')).json());
      expect(d4.period).toBe('2026-03');
      expect(d4.charges.map((c) => [c.account, c.status])).toEqual([['beta', 'open']]);
    });

    it('answers 404 with the reason, and 400 for bad periods', async () => {
      const cases: Array<[string, number, string, RegExp]> = [
        [
          '/v1/accounts/acme/invoices/2026-04',
          404,
          'NOT_FOUND',
          /^period 2026-04 has not started \(it starts 2026-03-31T22:00:00.000Z in Europe\/Paris\)$/,
        ],
        ['/v1/accounts/nobody/invoices/2026-02', 404, 'NOT_FOUND', /^unknown account nobody$/],
        ['/v1/devices/ghost/charges?period=2026-02', 404, 'NOT_FOUND', /^unknown device ghost$/],
        [
          '/v1/devices/d4/charges?period=2026-02',
          404,
          'NOT_FOUND',
          /^device d4 belonged to no account in period 2026-02$/,
        ],
        [
          '/v1/devices/d4/charges?period=2026-05',
          404,
          'NOT_FOUND',
          /^period 2026-05 has not started/,
        ],
        [
          '/v1/accounts/acme/invoices/2026-13',
          400,
          'BAD_REQUEST',
          /^period must be YYYY-MM or current$/,
        ],
        [
          '/v1/devices/d1/charges?period=feb',
          400,
          'BAD_REQUEST',
          /^period must be YYYY-MM or current$/,
        ],
        ['/v1/invoices', 400, 'BAD_REQUEST', /^period: /],
        ['/v1/invoices?period=current', 400, 'BAD_REQUEST', /^period must be YYYY-MM$/],
      ];
      for (const [url, status, code, message] of cases) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(status);
        const err = errorResponse.parse(res.json()).error;
        expect(err.code, url).toBe(code);
        expect(err.message, url).toMatch(message);
      }
    });
  });
}
