// PUT|GET /v1/plans/{id}, GET /v1/plans/{id}/versions, GET /v1/plans — versioned price plans.
// A PUT takes the plan document as JSON or YAML; both go through the rating engine's parsePlan,
// so an invalid document gets one PLAN_INVALID answer listing every problem, and the version in
// force stays as it was.
import type { FastifyInstance } from 'fastify';
import { RaterError } from '../errors.ts';
import {
  parsePlan,
  planSchema,
  type Plan,
  type PlanVersion,
  type Pricing,
  type Quantity,
} from '../rating/plan.ts';
import type { CatalogStore } from '../storage/catalog.ts';
import { route } from './route.ts';
import {
  jsonSchema,
  planListResponse,
  planParams,
  planQuery,
  planVersionResponse,
  planVersionsResponse,
} from './schemas.ts';

/** Media types of a plan document. JSON is YAML too, so one parser reads them all. */
export const PLAN_MEDIA_TYPES = [
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
] as const;

export interface PlanRoutesDeps {
  catalog: CatalogStore;
  now: () => number;
}

export async function planRoutes(app: FastifyInstance, deps: PlanRoutesDeps): Promise<void> {
  const { catalog, now } = deps;
  // This plugin's own context: here a JSON body arrives as text like YAML does, so a document
  // that is not even JSON gets the same PLAN_INVALID answer as one that breaks the schema.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser([...PLAN_MEDIA_TYPES], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );

  const planBody = jsonSchema(planSchema);
  route(
    app,
    {
      method: 'PUT',
      url: '/v1/plans/:id',
      tag: 'plans',
      summary: 'Store a new version of a plan',
      description:
        'The document is validated whole; every problem is listed in one PLAN_INVALID answer and the version in force stays. A document equal to the latest version changes nothing (200, `changed: false`).',
      params: planParams,
      rawBody: {
        description: 'A plan document (docs/rating.md), as JSON or YAML',
        content: Object.fromEntries(PLAN_MEDIA_TYPES.map((t) => [t, planBody])),
      },
      responses: {
        200: {
          description: 'Unchanged: the latest version already has this document',
          json: planVersionResponse,
        },
        201: { description: 'A new version was stored', json: planVersionResponse },
        400: 'PLAN_INVALID with every problem, or BAD_REQUEST (the id differs from the document)',
        409: 'CONFLICT: the version would take effect inside a closed period of an account using the plan',
      },
    },
    async ({ params }, req, reply) => {
      const plan = parsePlan(typeof req.body === 'string' ? req.body : '');
      if (plan.plan !== params.id)
        throw new RaterError(
          'BAD_REQUEST',
          `the document is plan ${JSON.stringify(plan.plan)} but the URL names ${JSON.stringify(params.id)}`,
        );
      const r = await catalog.putPlan(plan, now());
      if (r.changed)
        reply.code(201).header('location', `/v1/plans/${r.value.id}?version=${r.value.version}`);
      return { ...versionBody(r.value), changed: r.changed };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/plans/:id',
      tag: 'plans',
      summary: 'A plan version (default: the latest)',
      params: planParams,
      querystring: planQuery,
      responses: {
        200: { description: 'The plan version', json: planVersionResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: unknown plan or version',
      },
    },
    async ({ params, query }) => {
      const v = await catalog.getPlan(params.id, query.version);
      if (v) return versionBody(v);
      if (query.version === undefined) throw unknownPlan(params.id);
      const latest = await catalog.getPlan(params.id);
      if (!latest) throw unknownPlan(params.id);
      throw new RaterError(
        'NOT_FOUND',
        `plan ${params.id} has no version ${query.version} (latest: ${latest.version})`,
      );
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/plans/:id/versions',
      tag: 'plans',
      summary: 'Every version of a plan, oldest first',
      params: planParams,
      responses: {
        200: { description: 'The versions', json: planVersionsResponse },
        400: 'BAD_REQUEST',
        404: 'NOT_FOUND: unknown plan',
      },
    },
    async ({ params }) => {
      const versions = await catalog.listPlanVersions(params.id);
      if (versions.length === 0) throw unknownPlan(params.id);
      return {
        plan: params.id,
        versions: versions.map((v) => ({
          version: v.version,
          effective_from: v.plan.effective_from,
          document: planDocument(v.plan),
        })),
      };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/v1/plans',
      tag: 'plans',
      summary: 'Every plan with its latest version',
      responses: { 200: { description: 'The plans', json: planListResponse } },
    },
    async () => ({
      plans: (await catalog.listPlans()).map((v) => ({
        plan: v.id,
        version: v.version,
        ...(v.plan.name !== undefined ? { name: v.plan.name } : {}),
        currency: v.plan.currency,
        effective_from: v.plan.effective_from,
      })),
    }),
  );
}

function unknownPlan(id: string): RaterError {
  return new RaterError('NOT_FOUND', `unknown plan ${id}`);
}

function versionBody(v: PlanVersion) {
  return { plan: v.id, version: v.version, document: planDocument(v.plan) };
}

/**
 * A validated plan written back as a plan document: the schema turns quantities such as
 * "500 MB" into `{ value, unit }`, which the schema would not take again, so they are written
 * back as text. Everything else already is valid input (with defaults filled in), so
 * `parsePlan` of the result gives the same plan: a GET can be edited and PUT back.
 */
export function planDocument(plan: Plan): Record<string, unknown> {
  const doc = { ...plan, charges: plan.charges.map(chargeDocument) };
  // Once more through the schema: keys come out in the schema's order (plan, name, currency,
  // effective_from, …) rather than the database's jsonb order, which reads better as YAML.
  // A stored document the schema no longer takes is shown as stored.
  const again = planSchema.safeParse(doc);
  return again.success ? { ...again.data, charges: again.data.charges.map(chargeDocument) } : doc;
}

function quantityText(q: Quantity): string {
  return q.unit === undefined ? q.value : `${q.value} ${q.unit}`;
}

function pricingDocument(p: Pricing): Record<string, unknown> {
  switch (p.model) {
    case 'graduated':
    case 'volume':
      return {
        ...p,
        tiers: p.tiers.map((t) => (t.up_to ? { ...t, up_to: quantityText(t.up_to) } : t)),
      };
    case 'package':
      return { ...p, size: quantityText(p.size) };
    case 'per_unit':
      return p;
  }
}

function chargeDocument(c: Plan['charges'][number]): Record<string, unknown> {
  switch (c.type) {
    case 'fixed':
      return c;
    case 'peak':
      return {
        ...c,
        pricing: pricingDocument(c.pricing),
        ...(c.committed ? { committed: quantityText(c.committed) } : {}),
      };
    case 'usage': {
      const out: Record<string, unknown> = { ...c, pricing: pricingDocument(c.pricing) };
      if (c.included) out.included = { ...c.included, quantity: quantityText(c.included.quantity) };
      if (c.rounding) {
        const r: Record<string, unknown> = {};
        for (const key of ['per_record', 'per_period'] as const) {
          const step = c.rounding[key];
          if (step) r[key] = { ...step, increment: quantityText(step.increment) };
        }
        out.rounding = r;
      }
      return out;
    }
  }
}
