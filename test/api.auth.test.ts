// API keys and roles, body and rate limits on the rater's HTTP API (docs/security.md): every
// refusal has its code and status, and no key ever reaches a log line or an error message.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { ConfigError } from '../common/config.ts';
import { KeyRing, keyId, parseApiKeys } from '../rater/api/keys.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { samplePlanYaml, startApi, type TestApi } from './helpers/billing.ts';

const ADMIN = 'adm-0123456789abcdef0123456789abcdef';
const BILLING = 'bil-0123456789abcdef0123456789abcdef';
const READONLY = 'ro--0123456789abcdef0123456789abcdef';
const STRANGER = 'xyz-0123456789abcdef0123456789abcdef';
const ALL_KEYS = [ADMIN, BILLING, READONLY, STRANGER];

/** A pino logger whose lines are kept, to check what a refusal logs. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('debug', 'rater', stream), lines };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys and roles', () => {
  let api: TestApi;
  const log = capturingLogger();
  const ring = new KeyRing(
    parseApiKeys(`${ADMIN}:admin,${BILLING}:billing,${READONLY}:readonly`).keys,
  );

  beforeAll(async () => {
    api = await startApi('embedded:memory', undefined, {
      keys: ring,
      logger: log.logger,
      bodyLimit: 4096,
    });
  });
  afterAll(() => api.close());

  const request = (method: 'GET' | 'PUT' | 'POST', url: string, headers = {}, payload?: string) =>
    api.app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });

  it('refuses a request without a key: 401 UNAUTHENTICATED with a Bearer challenge', async () => {
    const res = await request('GET', '/v1/plans');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="edgemeter"');
    expect(res.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown key and a malformed Authorization header, naming neither', async () => {
    const unknown = await request('GET', '/v1/plans', bearer(STRANGER));
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe(
      'Bearer realm="edgemeter", error="invalid_token"',
    );
    expect(unknown.json().error).toEqual({ code: 'UNAUTHENTICATED', message: 'unknown API key' });

    const basic = await request('GET', '/v1/plans', { authorization: `Basic ${ADMIN}` });
    expect(basic.statusCode).toBe(401);
    expect(basic.body).not.toContain(ADMIN);
    // A known key with a near miss is as unknown as any other.
    const near = await request('GET', '/v1/plans', bearer(`${ADMIN.slice(0, -1)}0`));
    expect(near.statusCode).toBe(401);
  });

  it('refuses an unknown route without a key (401, not 404): routes are not probed for free', async () => {
    expect((await request('GET', '/v1/nothing')).statusCode).toBe(401);
    expect((await request('GET', '/v1/nothing', bearer(READONLY))).statusCode).toBe(404);
  });

  it('lets each role do what it may and answers 403 FORBIDDEN otherwise', async () => {
    const plan = samplePlanYaml('p-auth');
    const yaml = { 'content-type': 'application/yaml' };
    const account = JSON.stringify({ currency: 'EUR', time_zone: 'UTC', plan: 'p-auth' });
    const json = { 'content-type': 'application/json' };

    for (const key of [READONLY, BILLING]) {
      const res = await request('PUT', '/v1/plans/p-auth', { ...bearer(key), ...yaml }, plan);
      expect(res.statusCode, key.slice(0, 3)).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
      expect(res.json().error.message).toContain(`API key ${keyId(key)} has role`);
      expect(res.json().error.message).toContain('needs role admin');
    }
    expect(
      (await request('PUT', '/v1/plans/p-auth', { ...bearer(ADMIN), ...yaml }, plan)).statusCode,
    ).toBe(201);
    // X-API-Key works as well as Authorization.
    expect(
      (await request('PUT', '/v1/accounts/acme', { 'x-api-key': ADMIN, ...json }, account))
        .statusCode,
    ).toBe(200);
    expect(
      (await request('PUT', '/v1/accounts/acme', { ...bearer(BILLING), ...json }, account))
        .statusCode,
    ).toBe(403);

    // Reading: every role.
    for (const key of [ADMIN, BILLING, READONLY])
      expect((await request('GET', '/v1/accounts/acme', bearer(key))).statusCode).toBe(200);

    // Issuing: admin and billing, not readonly (CONFLICT: March has not ended, but allowed in).
    const issue = '/v1/accounts/acme/invoices/2026-03/issue';
    expect((await request('POST', issue, bearer(READONLY))).statusCode).toBe(403);
    expect((await request('POST', issue, bearer(BILLING))).json().error.code).toBe('CONFLICT');

    // The audit log: admin only.
    expect((await request('GET', '/v1/audit', bearer(BILLING))).statusCode).toBe(403);
    expect((await request('GET', '/v1/audit', bearer(ADMIN))).statusCode).toBe(200);
  });

  it('serves health, readiness and the OpenAPI description without a key; metrics need one', async () => {
    expect((await request('GET', '/healthz')).statusCode).toBe(200);
    expect((await request('GET', '/readyz')).statusCode).toBe(200);
    const spec = await request('GET', '/openapi.json');
    expect(spec.statusCode).toBe(200);
    expect(spec.json().components.securitySchemes.bearer).toMatchObject({ scheme: 'bearer' });
    expect((await request('GET', '/metrics')).statusCode).toBe(401);
    expect((await request('GET', '/metrics', bearer(READONLY))).statusCode).toBe(200);
  });

  it('refuses an oversized body with 413 PAYLOAD_TOO_LARGE, and an unauthenticated one with 401 before reading it', async () => {
    const big = JSON.stringify({
      currency: 'EUR',
      time_zone: 'UTC',
      plan: 'p-auth',
      name: 'x'.repeat(8000),
    });
    const json = { 'content-type': 'application/json' };
    const res = await request('PUT', '/v1/accounts/big', { ...bearer(ADMIN), ...json }, big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the request body is larger than the limit of 4096 bytes',
    });
    const plan = `${samplePlanYaml('p-big')}\n# ${'y'.repeat(8000)}\n`;
    const yaml = { 'content-type': 'application/yaml' };
    const planRes = await request('PUT', '/v1/plans/p-big', { ...bearer(ADMIN), ...yaml }, plan);
    expect(planRes.statusCode).toBe(413);
    expect((await request('PUT', '/v1/accounts/big', json, big)).statusCode).toBe(401);
  });

  it('counts refusals by code in the metrics, with no key or key id in any label', async () => {
    const text = (await request('GET', '/metrics', bearer(ADMIN))).body;
    expect(text).toMatch(/edgemeter_rater_http_refused_total\{code="UNAUTHENTICATED"\} [1-9]/);
    expect(text).toMatch(/edgemeter_rater_http_refused_total\{code="FORBIDDEN"\} [1-9]/);
    for (const key of ALL_KEYS) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(keyId(key));
    }
  });

  it('never writes a key into the log, and names the key id of a refused known key', () => {
    const text = log.lines.join('');
    expect(log.lines.length).toBeGreaterThan(5);
    for (const key of ALL_KEYS) expect(text).not.toContain(key);
    expect(text).toContain(keyId(READONLY));
    expect(text).toContain('"code":"FORBIDDEN"');
    expect(text).toContain('"code":"UNAUTHENTICATED"');
    // Route patterns, not URLs with ids.
    expect(text).toContain('"route":"/v1/plans/:id"');
  });
});

describe('rate limit per key', () => {
  let api: TestApi;
  const ring = new KeyRing(parseApiKeys(`${ADMIN}:admin,${READONLY}:readonly`).keys);

  beforeAll(async () => {
    api = await startApi('embedded:memory', undefined, {
      keys: ring,
      rateLimit: { max: 3, windowMs: 3_600_000 },
    });
  });
  afterAll(() => api.close());

  it('answers 429 RATE_LIMITED with Retry-After past the limit, for that key only', async () => {
    const get = (key?: string, url = '/v1/plans') =>
      api.app.inject({ method: 'GET', url, headers: key ? bearer(key) : {} });
    for (let i = 0; i < 3; i++) expect((await get(READONLY)).statusCode).toBe(200);
    const limited = await get(READONLY);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).not.toContain(READONLY);
    const metrics = await get(ADMIN, '/metrics');
    expect(metrics.body).toMatch(/edgemeter_rater_http_refused_total\{code="RATE_LIMITED"\} 1/);
    // Another key has its own budget; health checks have none.
    expect((await get(ADMIN)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await get(undefined, '/healthz')).statusCode).toBe(200);
  });
});

describe('rate limit without keys', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi('embedded:memory', undefined, {
      rateLimit: { max: 2, windowMs: 3_600_000 },
    });
  });
  afterAll(() => api.close());

  it('leaves loopback clients alone and limits others per address', async () => {
    const get = (remoteAddress: string) =>
      api.app.inject({ method: 'GET', url: '/v1/plans', remoteAddress });
    for (let i = 0; i < 5; i++) expect((await get('127.0.0.1')).statusCode).toBe(200);
    expect((await get('10.1.2.3')).statusCode).toBe(200);
    expect((await get('10.1.2.3')).statusCode).toBe(200);
    expect((await get('10.1.2.3')).statusCode).toBe(429);
    expect((await get('10.1.2.4')).statusCode).toBe(200);
  });
});

describe('API key configuration', () => {
  it('parses key:role lists from the environment and from a config file list', () => {
    const env = loadRaterConfig({
      env: { EDGEMETER_API_KEYS: `${ADMIN}:admin, ${BILLING}:billing` },
    });
    expect(env.apiKeys).toEqual([
      { key: ADMIN, role: 'admin' },
      { key: BILLING, role: 'billing' },
    ]);
    const ring = new KeyRing(env.apiKeys);
    expect(ring.lookup(BILLING)).toEqual({ keyId: keyId(BILLING), role: 'billing' });
    expect(ring.lookup(ADMIN)?.role).toBe('admin');
    expect(ring.lookup(STRANGER)).toBeUndefined();
    expect(keyId(ADMIN)).toMatch(/^[0-9a-f]{12}$/);
    expect(parseApiKeys([`${READONLY}:readonly`]).keys).toEqual([
      { key: READONLY, role: 'readonly' },
    ]);
  });

  it('reports bad entries by position without quoting a key', () => {
    let err: unknown;
    try {
      loadRaterConfig({
        env: {
          EDGEMETER_API_KEYS: `${ADMIN}:root,short:admin,${BILLING},${ADMIN}:admin,${ADMIN}:admin`,
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect((err as ConfigError).problems).toEqual([
      'EDGEMETER_API_KEYS: entry 1: unknown role "root" (roles: admin, billing, readonly; write key:role)',
      'EDGEMETER_API_KEYS: entry 2: the key must be at least 16 characters of [A-Za-z0-9._~+/=-] (generate one with: openssl rand -hex 32)',
      'EDGEMETER_API_KEYS: entry 3: must be key:role',
      'EDGEMETER_API_KEYS: entry 5: the same key is listed twice',
    ]);
    for (const key of [ADMIN, BILLING, 'short']) expect(message).not.toContain(key);

    // Written the wrong way round, the key is where the role belongs: still not quoted.
    const reversed = parseApiKeys(`admin:${READONLY}`).problems;
    expect(reversed).toEqual([
      'entry 1: unknown role (roles: admin, billing, readonly; write key:role)',
    ]);
  });
});
