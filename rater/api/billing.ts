// GET /v1/accounts/{id}/invoices/{period}, POST …/{period}/issue, GET /v1/devices/{id}/charges,
// GET /v1/invoices. Invoices come from InvoiceService: rated on request from the catalog and the
// exact 5-minute rollups until a closed month is issued, then the stored snapshot. Rating is
// pure and reproducible: the same usage, plans and period give the same bytes.
import type { FastifyInstance } from 'fastify';
import { RaterError } from '../errors.ts';
import {
  billingPeriod,
  deviceCharges,
  deviceChargesCsv,
  invoiceCsv,
  invoicesCsv,
  periodAt,
  type BillingPeriod,
  type DeviceCharges,
  type Invoice,
} from '../rating/index.ts';
import type { AccountView, CatalogStore } from '../storage/catalog.ts';
import type { InvoiceService } from './invoice-service.ts';
import { actorOf } from './auth.ts';
import { route, wantsCsv } from './route.ts';
import {
  chargesQuery,
  deviceChargesResponse,
  deviceParams,
  invoiceParams,
  invoiceSchema,
  invoicesQuery,
  invoicesResponse,
} from './schemas.ts';

export interface BillingRoutesDeps {
  catalog: CatalogStore;
  invoices: InvoiceService;
  now: () => number;
}

const CSV = 'text/csv; charset=utf-8';

/** The period `label` (YYYY-MM or `current`) in the account's zone. */
function periodOf(account: AccountView, label: string, nowMs: number): BillingPeriod {
  return label === 'current'
    ? periodAt(nowMs, account.timeZone)
    : billingPeriod(label, account.timeZone);
}

function notStarted(period: BillingPeriod, timeZone: string): RaterError {
  return new RaterError(
    'NOT_FOUND',
    `period ${period.label} has not started (it starts ${new Date(period.startMs).toISOString()} in ${timeZone})`,
  );
}

export async function billingRoutes(app: FastifyInstance, deps: BillingRoutesDeps): Promise<void> {
  const { catalog, invoices: service, now } = deps;

  route(
    app,
    {
      method: 'GET',
      url: '/v1/accounts/:id/invoices/:period',
      access: 'read',
      tag: 'billing',
      summary: "An account's invoice for a calendar month in its time zone",
      description:
        'The current period is rated up to now and carries `as_of`, `projected_total` and `allowances`. A closed period is rated whole (`status: closed`) until it is issued; an issued period is returned exactly as issued (`status: issued`). Late usage for issued periods appears on the next unissued invoice as `adjustment` lines. CSV (one row per line item) with `Accept: text/csv`.',
      params: invoiceParams,
      responses: {
        200: {
          description: 'The invoice',
          json: invoiceSchema,
          csv: 'One row per invoice line (invoiceCsv)',
        },
        400: 'BAD_REQUEST: bad account id or period',
        404: 'NOT_FOUND: unknown account, or a period that has not started',
      },
    },
    async ({ params }, req, reply) => {
      const nowMs = now();
      const account = await catalog.getAccount(params.id, nowMs);
      if (!account) throw new RaterError('NOT_FOUND', `unknown account ${params.id}`);
      const period = periodOf(account, params.period, nowMs);
      if (period.startMs > nowMs) throw notStarted(period, account.timeZone);
      const invoice = await service.invoice(account, period, nowMs);
      if (!wantsCsv(req)) return invoice;
      reply.type(CSV);
      return invoiceCsv(invoice);
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/v1/accounts/:id/invoices/:period/issue',
      access: 'issue',
      tag: 'billing',
      summary: "Issues a closed month's invoice: stores it, never to be rewritten",
      description:
        'Idempotent: issuing an issued invoice returns it unchanged (200); the first time answers 201. Usage that arrives later for the month is billed as `adjustment` lines on the next invoice.',
      params: invoiceParams,
      responses: {
        200: { description: 'Already issued: the stored invoice', json: invoiceSchema },
        201: { description: 'Issued now', json: invoiceSchema },
        400: 'BAD_REQUEST: bad account id or period',
        404: 'NOT_FOUND: unknown account',
        409: 'CONFLICT: the period has not ended',
      },
    },
    async ({ params }, req, reply) => {
      const nowMs = now();
      const account = await catalog.getAccount(params.id, nowMs);
      if (!account) throw new RaterError('NOT_FOUND', `unknown account ${params.id}`);
      const period = periodOf(account, params.period, nowMs);
      const { invoice, created } = await service.issue(account, period, nowMs, actorOf(req));
      reply.code(created ? 201 : 200);
      return invoice;
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/devices/:id/charges',
      access: 'read',
      tag: 'billing',
      summary: "A device's charges for a period, in every account it belonged to",
      description:
        "Each account's invoice for the period (in that account's time zone), seen from the device: its own lines plus its share of account-level lines. A device that moved during the period has charges in each account. CSV with `Accept: text/csv`.",
      params: deviceParams,
      querystring: chargesQuery,
      responses: {
        200: {
          description: 'The charges',
          json: deviceChargesResponse,
          csv: 'One row per line and share (deviceChargesCsv)',
        },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: unknown device, or no account in that period',
      },
    },
    async ({ params, query }, req, reply) => {
      const nowMs = now();
      const device = await catalog.getDevice(params.id);
      if (!device) throw new RaterError('NOT_FOUND', `unknown device ${params.id}`);
      // Candidates: every account in the device's history, in order of first assignment; each
      // is asked for the period in its own time zone.
      const candidates = [
        ...new Set(device.assignments.flatMap((a) => (a.accountId === null ? [] : [a.accountId]))),
      ];
      const charges: DeviceCharges[] = [];
      let unstarted: RaterError | undefined;
      for (const accountId of candidates) {
        const account = await catalog.getAccount(accountId, nowMs);
        if (!account) continue;
        const period = periodOf(account, query.period, nowMs);
        if (period.startMs > nowMs) {
          unstarted = notStarted(period, account.timeZone);
          continue;
        }
        const during = await catalog.accountsOfDevice(
          params.id,
          period.startMs,
          Math.min(period.endMs, nowMs),
        );
        if (!during.includes(accountId)) continue;
        charges.push(deviceCharges(await service.invoice(account, period, nowMs), params.id));
      }
      if (charges.length === 0) {
        if (unstarted) throw unstarted;
        throw new RaterError(
          'NOT_FOUND',
          `device ${params.id} belonged to no account in period ${query.period}`,
        );
      }
      if (wantsCsv(req)) {
        reply.type(CSV);
        return deviceChargesCsv(charges);
      }
      return { device: params.id, period: charges[0]?.period ?? query.period, charges };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/invoices',
      access: 'read',
      tag: 'billing',
      summary: 'Every account’s invoice for a period (whole-period export)',
      description:
        "Accounts are listed in id order; an account whose period has not started yet (in its time zone) is left out. CSV (every account's lines) with `Accept: text/csv`.",
      querystring: invoicesQuery,
      responses: {
        200: {
          description: 'The invoices',
          json: invoicesResponse,
          csv: 'One row per invoice line of every account (invoicesCsv)',
        },
        400: 'BAD_REQUEST: missing or bad period',
      },
    },
    async ({ query }, req, reply) => {
      const nowMs = now();
      const invoices: Invoice[] = [];
      // One account at a time: rating loads a month of rollups per device, and a burst of
      // parallel loads would take every pool connection away from ingest.
      const accounts = (await catalog.listAccounts(nowMs)).sort((a, b) =>
        a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
      );
      for (const account of accounts) {
        const period = billingPeriod(query.period, account.timeZone);
        if (period.startMs > nowMs) continue;
        invoices.push(await service.invoice(account, period, nowMs));
      }
      if (wantsCsv(req)) {
        reply.type(CSV);
        return invoicesCsv(invoices);
      }
      return { period: query.period, invoices };
    },
  );
}
