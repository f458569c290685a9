// PUT|GET /v1/accounts/{id}, GET /v1/accounts, PUT|GET /v1/devices/{id}: who pays, under which
// plan, for which devices. Every change is appended to a history with its effective time; the
// catalog refuses (CONFLICT) a change that would rewrite a closed billing period.
import type { FastifyInstance } from 'fastify';
import { RaterError } from '../errors.ts';
import { effectiveInstant } from '../rating/period.ts';
import type { AccountView, CatalogStore, DeviceView } from '../storage/catalog.ts';
import { actorOf } from './auth.ts';
import { route } from './route.ts';
import {
  accountBody,
  accountListResponse,
  accountParams,
  accountResponse,
  deviceBody,
  deviceParams,
  deviceResponse,
} from './schemas.ts';

export interface AccountRoutesDeps {
  catalog: CatalogStore;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The entry of a history (oldest first) in force at `t`. */
function inForce<T extends { fromMs: number }>(history: T[], t: number): T | undefined {
  let found: T | undefined;
  for (const e of history) if (e.fromMs <= t) found = e;
  return found;
}

function accountBodyOf(a: AccountView, nowMs: number) {
  return {
    account: a.id,
    ...(a.name !== undefined ? { name: a.name } : {}),
    currency: a.currency,
    time_zone: a.timeZone,
    plan: inForce(a.plans, nowMs)?.planId ?? null,
    plans: a.plans.map((p) => ({ plan: p.planId, from: iso(p.fromMs) })),
    devices: a.devices,
  };
}

function deviceBodyOf(d: DeviceView, nowMs: number) {
  const current = inForce(d.assignments, nowMs);
  return {
    device: d.id,
    account: current?.accountId ?? null,
    plan: current?.planId ?? null,
    assignments: d.assignments.map((a) => ({
      account: a.accountId,
      plan: a.planId,
      from: iso(a.fromMs),
    })),
  };
}

export async function accountRoutes(app: FastifyInstance, deps: AccountRoutesDeps): Promise<void> {
  const { catalog, now } = deps;

  route(
    app,
    {
      method: 'PUT',
      url: '/v1/accounts/:id',
      access: 'admin',
      tag: 'accounts',
      summary: 'Create or change an account',
      description:
        'Currency and time zone are fixed once set (CONFLICT). A plan different from the current one is appended to the plan history from `plan_from`.',
      params: accountParams,
      body: accountBody,
      responses: {
        200: { description: 'The account after the change', json: accountResponse },
        400: 'BAD_REQUEST: invalid body, unknown plan, or a plan in another currency',
        409: 'CONFLICT: a changed currency or time zone, or a plan change inside a closed period',
      },
    },
    async ({ params, body }, req) => {
      const nowMs = now();
      const r = await catalog.putAccount(
        {
          id: params.id,
          ...(body.name !== undefined ? { name: body.name } : {}),
          currency: body.currency,
          timeZone: body.time_zone,
          planId: body.plan,
          ...(body.plan_from !== undefined
            ? { planFromMs: effectiveInstant(body.plan_from, body.time_zone) }
            : {}),
        },
        nowMs,
        actorOf(req),
      );
      return { ...accountBodyOf(r.value, nowMs), changed: r.changed };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/accounts/:id',
      access: 'read',
      tag: 'accounts',
      summary: 'An account, its plan history and its devices',
      params: accountParams,
      responses: {
        200: { description: 'The account', json: accountResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: unknown account',
      },
    },
    async ({ params }) => {
      const nowMs = now();
      const a = await catalog.getAccount(params.id, nowMs);
      if (!a) throw new RaterError('NOT_FOUND', `unknown account ${params.id}`);
      return accountBodyOf(a, nowMs);
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/accounts',
      access: 'read',
      tag: 'accounts',
      summary: 'Every account',
      responses: { 200: { description: 'The accounts', json: accountListResponse } },
    },
    async () => {
      const nowMs = now();
      return {
        accounts: (await catalog.listAccounts(nowMs)).map((a) => accountBodyOf(a, nowMs)),
      };
    },
  );

  route(
    app,
    {
      method: 'PUT',
      url: '/v1/devices/:id',
      access: 'admin',
      tag: 'devices',
      summary: 'Assign a device to an account (or take it out of its account)',
      description:
        'Appends an assignment to the device history from `from`. A date in `from` is midnight in the time zone of the account the device joins (or leaves, for `account: null`).',
      params: deviceParams,
      body: deviceBody,
      responses: {
        200: { description: 'The device after the change', json: deviceResponse },
        400: 'BAD_REQUEST: invalid body, unknown account or plan',
        409: 'CONFLICT: the change would take effect inside a closed period',
      },
    },
    async ({ params, body }, req) => {
      const nowMs = now();
      let fromMs: number | undefined;
      if (body.from !== undefined)
        fromMs = effectiveInstant(body.from, await zoneForDeviceChange(params.id, body.account));
      const r = await catalog.putDevice(
        {
          id: params.id,
          accountId: body.account,
          // A PUT states the whole assignment: no plan given means the account's plan.
          planId: body.plan ?? null,
          ...(fromMs !== undefined ? { fromMs } : {}),
        },
        nowMs,
        actorOf(req),
      );
      return { ...deviceBodyOf(r.value, nowMs), changed: r.changed };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/devices/:id',
      access: 'read',
      tag: 'devices',
      summary: "A device's account, plan override and assignment history",
      params: deviceParams,
      responses: {
        200: { description: 'The device', json: deviceResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: the device was never assigned',
      },
    },
    async ({ params }) => {
      const d = await catalog.getDevice(params.id);
      if (!d) throw new RaterError('NOT_FOUND', `unknown device ${params.id}`);
      return deviceBodyOf(d, now());
    },
  );

  /** The zone a calendar date in a device change is read in: the account joined, or left. */
  async function zoneForDeviceChange(deviceId: string, accountId: string | null): Promise<string> {
    if (accountId !== null) {
      const a = await catalog.getAccount(accountId, now());
      if (!a) throw new RaterError('BAD_REQUEST', `unknown account ${accountId}`);
      return a.timeZone;
    }
    const current = inForce((await catalog.getDevice(deviceId))?.assignments ?? [], now());
    const left = current?.accountId
      ? await catalog.getAccount(current.accountId, now())
      : undefined;
    return left?.timeZone ?? 'UTC';
  }
}
