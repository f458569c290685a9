// PUT|GET /v1/plans/{id}, GET /v1/plans/{id}/versions, GET /v1/plans — versioned price plans.
// A PUT takes the plan document as JSON or YAML; both go through the rating engine's parsePlan,
// so an invalid document gets one PLAN_INVALID answer listing every problem, and the version in
// force stays as it was.
import type { FastifyInstance } from 'fastify';
import { RaterError } from '../errors.ts';
import { parsePlan, planSchema, type PlanVersion } from '../rating/plan.ts';
import { planDocument } from '../rating/plan-document.ts';
import type { CatalogStore } from '../storage/catalog.ts';
import { actorOf } from './auth.ts';
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
      access: 'admin',
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
      const r = await catalog.putPlan(plan, now(), actorOf(req));
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
      access: 'read',
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
      access: 'read',
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
      access: 'read',
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
