// The OpenAPI description the rater serves at /openapi.json: every route the API registers is
// in it, with its parameters, body and responses, so clients can be generated from it.
import type { FastifyInstance } from 'fastify';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { buildApi } from '../rater/api/server.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { SqlAuditLog } from '../rater/storage/audit.ts';
import { SqlInvoiceStore } from '../rater/storage/invoice-store.ts';
import { startApi, type TestApi } from './helpers/billing.ts';

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: Array<{ in: string; name: string; required?: boolean; schema: object }>;
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** The routes the brief and docs/api.md promise, as METHOD path. */
const PROMISED = [
  'GET /v1/devices/{id}/usage',
  'GET /v1/conflicts',
  'GET /v1/devices/{id}/skewed',
  'GET /v1/devices/{id}/charges',
  'GET /v1/accounts/{id}/invoices/{period}',
  'GET /v1/invoices',
  'PUT /v1/plans/{id}',
  'GET /v1/plans/{id}',
  'GET /v1/plans/{id}/versions',
  'GET /v1/plans',
  'PUT /v1/accounts/{id}',
  'GET /v1/accounts/{id}',
  'GET /v1/accounts',
  'PUT /v1/devices/{id}',
  'GET /v1/devices/{id}',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /v1/audit',
];

describe('OpenAPI description', () => {
  let api: TestApi;
  let spec: OpenApi;
  const registered: string[] = [];

  beforeAll(async () => {
    api = await startApi('embedded:memory');
    const res = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    spec = res.json() as OpenApi;
  });
  afterAll(() => api?.close());

  const operations = () =>
    Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );

  it('is OpenAPI 3.1 and lists every promised route', () => {
    expect(spec.openapi).toBe('3.1.0');
    const keys = operations().map((o) => o.key);
    for (const r of PROMISED) expect(keys, r).toContain(r);
  });

  it('lists every route the API registers (a new route cannot go undescribed)', async () => {
    // A second app, watched while its routes are added.
    const app: FastifyInstance = buildApi({
      store: api.store,
      catalog: new SqlCatalogStore(api.store.sql),
      invoices: new SqlInvoiceStore(api.store.sql),
      audit: new SqlAuditLog(api.store.sql),
      metrics: new RaterMetrics({ processMetrics: false }),
      logger: silentLogger(),
    });
    const unguarded: string[] = [];
    app.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      // Every route states who may call it (route.ts); auth.ts enforces it.
      if (!r.config?.access) unguarded.push(r.url);
      for (const m of methods)
        if (m !== 'HEAD' && r.url !== '/openapi.json')
          registered.push(`${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    });
    await app.ready();
    await app.close();
    expect(unguarded).toEqual([]);
    expect(registered.length).toBeGreaterThanOrEqual(PROMISED.length);
    expect(
      operations()
        .map((o) => o.key)
        .sort(),
    ).toEqual([...new Set(registered)].sort());
  });

  it('describes every operation: summary, tag, path parameters, responses with content', () => {
    for (const { key, op } of operations()) {
      expect(op.summary, key).toBeTruthy();
      expect(op.tags?.length, key).toBe(1);
      const pathParams = [...key.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), key).toEqual(pathParams.sort());
      for (const p of declared) expect(p.required, `${key} ${p.name}`).toBe(true);
      expect(Object.keys(op.responses).length, key).toBeGreaterThan(0);
      for (const [status, r] of Object.entries(op.responses)) {
        expect(r.description, `${key} ${status}`).toBeTruthy();
        expect(Object.keys(r.content ?? {}).length, `${key} ${status}`).toBeGreaterThan(0);
      }
      if (key.startsWith('GET /v1/') || key.startsWith('PUT /v1/')) {
        const errors = Object.keys(op.responses).filter((s) => s.startsWith('4'));
        for (const s of errors)
          expect(op.responses[s]?.content?.['application/json'], `${key} ${s}`).toBeDefined();
      }
    }
  });

  it('describes query parameters, JSON bodies and CSV answers', () => {
    const op = (key: string) => operations().find((o) => o.key === key)?.op;
    const query = (key: string) =>
      (op(key)?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(query('GET /v1/devices/{id}/usage').sort()).toEqual(['from', 'step', 'to', 'tz']);
    expect(query('GET /v1/devices/{id}/charges')).toEqual(['period']);
    expect(query('GET /v1/invoices')).toEqual(['period']);
    expect(query('GET /v1/plans/{id}')).toEqual(['version']);
    expect(query('GET /v1/conflicts').sort()).toEqual(['device', 'limit']);

    const account = op('PUT /v1/accounts/{id}')?.requestBody?.content['application/json'];
    expect(Object.keys(account?.schema.properties ?? {}).sort()).toEqual(
      ['currency', 'name', 'plan', 'plan_from', 'time_zone'].sort(),
    );
    const device = op('PUT /v1/devices/{id}')?.requestBody?.content['application/json'];
    expect(Object.keys(device?.schema.properties ?? {}).sort()).toEqual([
      'account',
      'from',
      'plan',
    ]);

    for (const key of [
      'GET /v1/accounts/{id}/invoices/{period}',
      'GET /v1/devices/{id}/charges',
      'GET /v1/invoices',
      'GET /v1/devices/{id}/usage',
    ])
      expect(Object.keys(op(key)?.responses['200']?.content ?? {}).sort(), key).toEqual([
        'application/json',
        'text/csv',
      ]);
  });

  it('gives the plan body as the plan JSON Schema, in JSON and YAML', () => {
    const body = operations().find((o) => o.key === 'PUT /v1/plans/{id}')?.op.requestBody;
    expect(Object.keys(body?.content ?? {}).sort()).toEqual(
      ['application/json', 'application/x-yaml', 'application/yaml', 'text/yaml'].sort(),
    );
    const schema = body?.content['application/yaml']?.schema;
    expect(Object.keys(schema?.properties ?? {})).toEqual(
      expect.arrayContaining(['plan', 'currency', 'effective_from', 'charges', 'minimum', 'cap']),
    );
    const responses = operations().find((o) => o.key === 'PUT /v1/plans/{id}')?.op.responses;
    expect(Object.keys(responses ?? {}).sort()).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '429',
    ]);
  });
});
