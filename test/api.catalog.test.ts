// The catalog routes (plans, accounts, devices) through the real HTTP stack (fastify inject) on
// each real database: versions, YAML and JSON bodies, PLAN_INVALID with every problem, 404s
// that say what is missing, and 409s for changes that would rewrite a closed period.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { parsePlan, validatePlan } from '../rater/rating/plan.ts';
import {
  accountListResponse,
  accountResponse,
  deviceResponse,
  errorResponse,
  planListResponse,
  planVersionResponse,
  planVersionsResponse,
} from '../rater/api/schemas.ts';
import { dbTargets } from './helpers/db.ts';
import { samplePlanYaml, startApi, type TestApi } from './helpers/billing.ts';

const YAML = { 'content-type': 'application/yaml' };

/** The error body, checked against the documented shape. */
function errorOf(res: LightMyRequestResponse) {
  return errorResponse.parse(res.json()).error;
}

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`catalog API on ${target.name}`, () => {
    let api: TestApi;
    let cleanup: () => Promise<void> = async () => {};
    const inject = (
      method: 'GET' | 'PUT',
      url: string,
      payload?: string | object,
      headers: Record<string, string> = {},
    ) =>
      api.app.inject({
        method,
        url,
        ...(payload !== undefined ? { payload } : {}),
        headers,
      });

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      api = await startApi(db.url);
    });
    afterAll(async () => {
      await api?.close();
      await cleanup();
    });

    it('stores a YAML plan as version 1 and answers 201 with the document', async () => {
      const res = await inject('PUT', '/v1/plans/iot-basic', samplePlanYaml(), YAML);
      expect(res.statusCode).toBe(201);
      expect(res.headers.location).toBe('/v1/plans/iot-basic?version=1');
      const body = planVersionResponse.parse(res.json());
      expect(body).toMatchObject({ plan: 'iot-basic', version: 1, changed: true });
      // The document is plan input again: parsing it gives the plan that was stored.
      expect(validatePlan(body.document)).toEqual(parsePlan(samplePlanYaml()));
      expect(body.document).toMatchObject({
        currency: 'EUR',
        units: 'decimal',
        charges: [
          { id: 'data', pricing: { tiers: [{ up_to: '1', price: '2.00' }, { price: '1.00' }] } },
          { id: 'peak95', unit: 'Mbps' },
          { id: 'device-fee', amount: '1.00' },
        ],
      });
    });

    it('takes the same plan as JSON (and as text/yaml) without a new version: 200, unchanged', async () => {
      const doc = (await inject('GET', '/v1/plans/iot-basic')).json().document;
      const asJson = await inject('PUT', '/v1/plans/iot-basic', JSON.stringify(doc), {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(asJson.statusCode).toBe(200);
      expect(asJson.json()).toMatchObject({ plan: 'iot-basic', version: 1, changed: false });
      const asTextYaml = await inject('PUT', '/v1/plans/iot-basic', samplePlanYaml(), {
        'content-type': 'text/yaml',
      });
      expect(asTextYaml.statusCode).toBe(200);
      expect(asTextYaml.json().changed).toBe(false);
    });

    it('refuses an invalid plan with every problem listed, and keeps the version in force', async () => {
      const put = async (doc: string) => {
        const res = await inject('PUT', '/v1/plans/iot-basic', doc, YAML);
        expect(res.statusCode).toBe(400);
        const err = errorOf(res);
        expect(err.code).toBe('PLAN_INVALID');
        expect(err.message).toBe(`the plan does not validate (${err.problems?.length} problems)`);
        for (const p of err.problems ?? []) expect(p.message.length).toBeGreaterThan(5);
        return [...new Set((err.problems ?? []).map((p) => p.path))].sort();
      };
      // Problems in single fields, all in one answer.
      const fields = await put(`plan: iot-basic
currency: EURO
effective_from: 2026-02-30
charges:
  - id: data
    type: usage
    meter: total
    unit: GB
    pricing:
      model: graduated
      tiers:
        - { up_to: 1, price: "2.00" }
        - { up_to: 2, price: "1.00" }
  - id: fee
    type: fixed
    per: account
    amount: "-1"
`);
      expect(fields).toEqual(
        [
          'charges.0.pricing.tiers.1.up_to',
          'charges.1.amount',
          'currency',
          'effective_from',
        ].sort(),
      );
      // Problems between fields (the plan-level checks), all in one answer.
      const across = await put(`plan: iot-basic
currency: EUR
effective_from: 2026-01-01
charges:
  - id: data
    type: usage
    meter: total
    unit: GB
    filter: { window: night }
    pricing:
      model: graduated
      tiers:
        - { up_to: 2, price: "2.00" }
        - { up_to: 1, price: "1.50" }
        - { price: "1.00" }
  - id: data
    type: fixed
    per: device
    amount: "1.00"
`);
      expect(across).toEqual(
        ['charges.0.filter.window', 'charges.0.pricing.tiers.1.up_to', 'charges.1.id'].sort(),
      );

      const still = planVersionResponse.parse((await inject('GET', '/v1/plans/iot-basic')).json());
      expect(still.version).toBe(1);
    });

    it('answers PLAN_INVALID for a body that is neither YAML nor JSON, or is empty', async () => {
      for (const [body, type] of [
        ['{"plan": "iot-basic", ', 'application/json'],
        ['plan: [unclosed', 'application/yaml'],
        ['', 'application/json'],
      ] as const) {
        const res = await inject('PUT', '/v1/plans/iot-basic', body, { 'content-type': type });
        expect(res.statusCode).toBe(400);
        const err = errorOf(res);
        expect(err.code).toBe('PLAN_INVALID');
        expect(err.problems?.length).toBeGreaterThan(0);
      }
    });

    it('refuses a document whose plan id differs from the URL, and other media types', async () => {
      const res = await inject('PUT', '/v1/plans/other', samplePlanYaml(), YAML);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res)).toEqual({
        code: 'BAD_REQUEST',
        message: 'the document is plan "iot-basic" but the URL names "other"',
      });
      const text = await inject('PUT', '/v1/plans/iot-basic', samplePlanYaml(), {
        'content-type': 'text/plain',
      });
      expect(text.statusCode).toBe(415);
      expect(errorOf(text).message).toMatch(/application\/yaml/);
    });

    it('stores a changed document as version 2 and lists both versions', async () => {
      const v2 = samplePlanYaml('iot-basic', { effectiveFrom: '2026-03-01', firstGb: '1.80' });
      const res = await inject('PUT', '/v1/plans/iot-basic', v2, YAML);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ version: 2, changed: true });

      const versions = planVersionsResponse.parse(
        (await inject('GET', '/v1/plans/iot-basic/versions')).json(),
      );
      expect(versions.versions.map((v) => [v.version, v.effective_from])).toEqual([
        [1, '2026-01-01'],
        [2, '2026-03-01'],
      ]);
      const latest = planVersionResponse.parse((await inject('GET', '/v1/plans/iot-basic')).json());
      expect(latest.version).toBe(2);
      const first = planVersionResponse.parse(
        (await inject('GET', '/v1/plans/iot-basic?version=1')).json(),
      );
      expect(first.document.effective_from).toBe('2026-01-01');

      await inject('PUT', '/v1/plans/flat', samplePlanYaml('flat'), YAML);
      const list = planListResponse.parse((await inject('GET', '/v1/plans')).json());
      expect(list.plans).toEqual([
        {
          plan: 'flat',
          version: 1,
          name: 'IoT basic',
          currency: 'EUR',
          effective_from: '2026-01-01',
        },
        {
          plan: 'iot-basic',
          version: 2,
          name: 'IoT basic',
          currency: 'EUR',
          effective_from: '2026-03-01',
        },
      ]);
    });

    it('answers 404 with the reason for unknown plans and versions, 400 for bad ids', async () => {
      const unknown = await inject('GET', '/v1/plans/nope');
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown)).toEqual({ code: 'NOT_FOUND', message: 'unknown plan nope' });
      const version = await inject('GET', '/v1/plans/iot-basic?version=9');
      expect(version.statusCode).toBe(404);
      expect(errorOf(version).message).toBe('plan iot-basic has no version 9 (latest: 2)');
      expect((await inject('GET', '/v1/plans/nope/versions')).statusCode).toBe(404);
      const badVersion = await inject('GET', '/v1/plans/iot-basic?version=x');
      expect(badVersion.statusCode).toBe(400);
      expect(errorOf(badVersion)).toEqual({
        code: 'BAD_REQUEST',
        message: 'version must be a positive integer',
      });
      expect((await inject('GET', `/v1/plans/${'p'.repeat(65)}`)).statusCode).toBe(400);
    });

    it('a new account without plan_from starts its plan with its current month', async () => {
      const res = await inject('PUT', '/v1/accounts/fresh', {
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        plan: 'iot-basic',
      });
      // Now is 2026-03-10: March in Paris starts 2026-02-28T23:00Z. No fees for earlier months.
      expect(accountResponse.parse(res.json()).plans).toEqual([
        { plan: 'iot-basic', from: '2026-02-28T23:00:00.000Z' },
      ]);
    });

    it('creates an account, answers the same PUT as unchanged, and lists it', async () => {
      const body = {
        name: 'Acme',
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        plan: 'iot-basic',
        plan_from: '2026-01-01',
      };
      const res = await inject('PUT', '/v1/accounts/acme', body);
      expect(res.statusCode).toBe(200);
      const a = accountResponse.parse(res.json());
      expect(a).toEqual({
        account: 'acme',
        name: 'Acme',
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        plan: 'iot-basic',
        // An explicit plan_from backdates a new account's plan (midnight in its zone).
        plans: [{ plan: 'iot-basic', from: '2025-12-31T23:00:00.000Z' }],
        devices: [],
        changed: true,
      });
      const again = accountResponse.parse((await inject('PUT', '/v1/accounts/acme', body)).json());
      expect(again.changed).toBe(false);

      const got = accountResponse.parse((await inject('GET', '/v1/accounts/acme')).json());
      expect(got.changed).toBeUndefined();
      expect(got.plan).toBe('iot-basic');
      const list = accountListResponse.parse((await inject('GET', '/v1/accounts')).json());
      expect(list.accounts.map((x) => x.account)).toEqual(['acme', 'fresh']);
    });

    it('changes the plan of an account from a date in its open period', async () => {
      const res = await inject('PUT', '/v1/accounts/acme', {
        name: 'Acme',
        currency: 'EUR',
        time_zone: 'Europe/Paris',
        plan: 'flat',
        plan_from: '2026-04-01',
      });
      expect(res.statusCode).toBe(200);
      const a = accountResponse.parse(res.json());
      expect(a.changed).toBe(true);
      expect(a.plan).toBe('iot-basic'); // in force now; flat from April
      expect(a.plans).toEqual([
        { plan: 'iot-basic', from: '2025-12-31T23:00:00.000Z' },
        { plan: 'flat', from: '2026-03-31T22:00:00.000Z' },
      ]);
    });

    it('refuses account changes with 400 or 409 and says why', async () => {
      const base = { currency: 'EUR', time_zone: 'Europe/Paris', plan: 'iot-basic' };
      const cases: Array<[object, number, string, RegExp]> = [
        [{ ...base, time_zone: 'Europe/Berlin' }, 409, 'CONFLICT', /time zone/],
        [{ ...base, currency: 'USD' }, 409, 'CONFLICT', /currency/],
        [
          { ...base, plan: 'flat', plan_from: '2026-02-01' },
          409,
          'CONFLICT',
          /closed billing period 2026-02/,
        ],
        [{ ...base, plan: 'nope' }, 400, 'BAD_REQUEST', /unknown plan nope/],
        [{ ...base, time_zone: 'Mars/Olympus' }, 400, 'BAD_REQUEST', /^time_zone must be an IANA/],
        [{ ...base, plan_from: 'yesterday' }, 400, 'BAD_REQUEST', /^plan_from must be a date/],
        // Impossible dates are bad requests, not server errors.
        [{ ...base, plan_from: '2026-13-01' }, 400, 'BAD_REQUEST', /^plan_from must be a date/],
        [{ ...base, plan_from: '2026-02-30' }, 400, 'BAD_REQUEST', /^plan_from must be a date/],
        [
          { currency: 'EUR', plan: 'iot-basic', tz: 'UTC' },
          400,
          'BAD_REQUEST',
          /time_zone: .*; body: Unrecognized key: "tz"/,
        ],
      ];
      for (const [body, status, code, message] of cases) {
        const res = await inject('PUT', '/v1/accounts/acme', body);
        expect(res.statusCode, JSON.stringify(body)).toBe(status);
        const err = errorOf(res);
        expect(err.code).toBe(code);
        expect(err.message).toMatch(message);
      }
      const after = accountResponse.parse((await inject('GET', '/v1/accounts/acme')).json());
      expect(after).toMatchObject({ currency: 'EUR', time_zone: 'Europe/Paris' });
      expect(after.plans).toHaveLength(2);
    });

    it('answers 404 for an unknown account', async () => {
      const res = await inject('GET', '/v1/accounts/nobody');
      expect(res.statusCode).toBe(404);
      expect(errorOf(res)).toEqual({ code: 'NOT_FOUND', message: 'unknown account nobody' });
    });

    it('assigns, moves and unassigns devices, keeping their history', async () => {
      await inject('PUT', '/v1/accounts/beta', {
        currency: 'EUR',
        time_zone: 'UTC',
        plan: 'flat',
      });
      // Without `from`, a first assignment starts with the account's current month.
      const fresh = await inject('PUT', '/v1/devices/meter-fresh', { account: 'fresh' });
      expect(deviceResponse.parse(fresh.json()).assignments).toEqual([
        { account: 'fresh', plan: null, from: '2026-02-28T23:00:00.000Z' },
      ]);
      // An explicit `from` onboards a device with its earlier usage (midnight, Paris).
      const first = await inject('PUT', '/v1/devices/router-1', {
        account: 'acme',
        from: '2026-01-01',
      });
      expect(first.statusCode).toBe(200);
      expect(deviceResponse.parse(first.json())).toEqual({
        device: 'router-1',
        account: 'acme',
        plan: null,
        assignments: [{ account: 'acme', plan: null, from: '2025-12-31T23:00:00.000Z' }],
        changed: true,
      });
      const same = deviceResponse.parse(
        (
          await inject('PUT', '/v1/devices/router-1', {
            account: 'acme',
            plan: null,
            from: '2026-01-01',
          })
        ).json(),
      );
      expect(same.changed).toBe(false);

      // A move from a date in the open period: midnight in the new account's zone (UTC).
      const moved = deviceResponse.parse(
        (
          await inject('PUT', '/v1/devices/router-1', {
            account: 'beta',
            plan: 'iot-basic',
            from: '2026-03-05',
          })
        ).json(),
      );
      expect(moved.account).toBe('beta'); // March 5 has passed
      expect(moved.assignments.at(-1)).toEqual({
        account: 'beta',
        plan: 'iot-basic',
        from: '2026-03-05T00:00:00.000Z',
      });
      const out = deviceResponse.parse(
        (
          await inject('PUT', '/v1/devices/router-1', {
            account: null,
            from: '2026-03-20T08:00:00+01:00',
          })
        ).json(),
      );
      expect(out.assignments.at(-1)).toEqual({
        account: null,
        plan: null,
        from: '2026-03-20T07:00:00.000Z',
      });

      const got = deviceResponse.parse((await inject('GET', '/v1/devices/router-1')).json());
      expect(got.assignments).toHaveLength(3);
      expect(got.account).toBe('beta'); // until March 20
      const beta = accountResponse.parse((await inject('GET', '/v1/accounts/beta')).json());
      expect(beta.devices).toEqual(['router-1']);
      const acme = accountResponse.parse((await inject('GET', '/v1/accounts/acme')).json());
      expect(acme.devices).toEqual([]);
    });

    it('refuses device changes with 400, 404 or 409 and says why', async () => {
      const cases: Array<[string, object, number, string, RegExp]> = [
        [
          'router-1',
          { account: 'beta', from: '2026-02-15' },
          409,
          'CONFLICT',
          /closed billing period 2026-02/,
        ],
        [
          'router-1',
          { account: null, from: '2026-01-31' },
          409,
          'CONFLICT',
          /closed billing period 2026-01/,
        ],
        ['router-2', { account: 'nobody' }, 400, 'BAD_REQUEST', /unknown account nobody/],
        ['router-2', { account: 'acme', from: '2026-99-99' }, 400, 'BAD_REQUEST', /^from must be/],
        [
          'router-2',
          { account: 'acme', from: '2026-03-01T00:00:00' },
          400,
          'BAD_REQUEST',
          /^from must be .*offset/,
        ],
        ['router-2', { plan: 'flat' }, 400, 'BAD_REQUEST', /^account: /],
        ['router-2', { account: 'acme', plan: 'nope' }, 400, 'BAD_REQUEST', /unknown plan nope/],
        ['bad/id', { account: 'acme' }, 404, 'NOT_FOUND', /no route/],
        ['bad id', { account: 'acme' }, 400, 'BAD_REQUEST', /^device id must be/],
      ];
      for (const [id, body, status, code, message] of cases) {
        const res = await inject(
          'PUT',
          `/v1/devices/${encodeURIComponent(id).replace('%2F', '/')}`,
          body,
        );
        expect(res.statusCode, `${id} ${JSON.stringify(body)}`).toBe(status);
        const err = errorOf(res);
        expect(err.code).toBe(code);
        expect(err.message).toMatch(message);
      }
      const unknown = await inject('GET', '/v1/devices/router-9');
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown)).toEqual({ code: 'NOT_FOUND', message: 'unknown device router-9' });
    });

    it('refuses a plan version that would take effect inside a closed period of an account (409)', async () => {
      const backdated = samplePlanYaml('iot-basic', {
        effectiveFrom: '2026-02-01',
        firstGb: '9.00',
      });
      const res = await inject('PUT', '/v1/plans/iot-basic', backdated, YAML);
      expect(res.statusCode).toBe(409);
      expect(errorOf(res)).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringMatching(/closed billing period 2026-02 of account acme/),
      });
      const latest = planVersionResponse.parse((await inject('GET', '/v1/plans/iot-basic')).json());
      expect(latest.version).toBe(2);
    });
  });
}
