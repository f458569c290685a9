// One way to declare a /v1 route: its parameters, query and body as zod schemas, parsed before
// the handler runs (every problem reported together as BAD_REQUEST), and the same schemas,
// with the documented responses, turned into the route's OpenAPI description.
//
// Fastify's own schema machinery (ajv validation, fast-json-stringify) is switched off in
// server.ts: ajv would coerce and strip input before zod sees it, and a response schema
// would silently drop fields it does not list. Route schemas are description only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { RaterError } from '../errors.ts';
import { rolesFor, type Access } from './keys.ts';
import { errorResponse, jsonSchema } from './schemas.ts';

export interface ResponseDoc {
  description: string;
  /** JSON body: a zod schema, or a JSON Schema object. */
  json?: z.ZodType | object;
  /** The route also answers `text/csv` with `Accept: text/csv`. */
  csv?: string;
  /** A plain-text body of this media type (metrics). */
  text?: string;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P, Q, B> {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  /** Who may call it (keys.ts): every route says so; auth.ts enforces it before anything else. */
  access: Access;
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  querystring?: Q;
  /** A JSON body validated with zod. */
  body?: B;
  /** A body the handler reads itself (plans: YAML or JSON), described per media type. */
  rawBody?: { description: string; content: Record<string, object> };
  responses: Record<number, ResponseDoc | string>;
}

export interface Parsed<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

function isZod(s: unknown): s is z.ZodType {
  return typeof s === 'object' && s !== null && '_zod' in s;
}

/** "field: message", unless our own message already names the field. */
function issueText(issue: z.core.$ZodIssue, where: string): string {
  const last = issue.path[issue.path.length - 1];
  if (last !== undefined) {
    const name = String(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`(^|\\W)${name}(\\W|$)`).test(issue.message)) return issue.message;
  }
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : `${where}: ${issue.message}`;
}

function parsePart<S>(schema: S | undefined, value: unknown, where: string): Out<S> {
  if (!isZod(schema)) return undefined as Out<S>;
  const r = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (r.success) return r.data as Out<S>;
  throw new RaterError('BAD_REQUEST', r.error.issues.map((i) => issueText(i, where)).join('; '));
}

function responseSchema(doc: ResponseDoc | string): object {
  const d: ResponseDoc = typeof doc === 'string' ? { description: doc, json: errorResponse } : doc;
  const content: Record<string, { schema: object }> = {};
  if (d.json)
    content['application/json'] = {
      schema: isZod(d.json) ? jsonSchema(d.json, 'output') : d.json,
    };
  if (d.csv) content['text/csv'] = { schema: { type: 'string', description: d.csv } };
  if (d.text) content[d.text] = { schema: { type: 'string' } };
  return { description: d.description, content };
}

export function route<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B>,
  handler: (input: Parsed<P, Q, B>, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
): void {
  const responses = { ...guardResponses(spec), ...spec.responses };
  const schema: Record<string, unknown> = {
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.access === 'public' ? [] : API_KEY_SECURITY,
    response: Object.fromEntries(
      Object.entries(responses).map(([status, doc]) => [status, responseSchema(doc)]),
    ),
  };
  if (spec.description) schema.description = spec.description;
  if (isZod(spec.params)) schema.params = jsonSchema(spec.params);
  if (isZod(spec.querystring)) schema.querystring = jsonSchema(spec.querystring);
  if (isZod(spec.body))
    schema.body = { content: { 'application/json': { schema: jsonSchema(spec.body) } } };
  if (spec.rawBody)
    schema.body = {
      description: spec.rawBody.description,
      content: Object.fromEntries(
        Object.entries(spec.rawBody.content).map(([type, s]) => [type, { schema: s }]),
      ),
    };

  app.route({
    method: spec.method,
    url: spec.url,
    config: { access: spec.access },
    schema,
    handler: (req, reply) =>
      handler(
        {
          params: parsePart(spec.params, req.params, 'params'),
          query: parsePart(spec.querystring, req.query, 'query'),
          body: parsePart(spec.body, req.body, 'body'),
        },
        req,
        reply,
      ),
  });
}

/** Either header carries the key (auth.ts); server.ts declares both schemes. */
export const API_KEY_SECURITY = [{ bearer: [] }, { apiKeyHeader: [] }];

/** The answers every guarded route may give before its handler runs (auth.ts, server.ts). */
function guardResponses(spec: { access: Access; method: string }): Record<number, string> {
  if (spec.access === 'public') return {};
  const out: Record<number, string> = {
    401: 'UNAUTHENTICATED: no API key, or an unknown one',
    403: `FORBIDDEN: the key's role may not use this route (roles: ${rolesFor(spec.access).join(', ')})`,
    429: 'RATE_LIMITED: too many requests for this key; see Retry-After',
  };
  if (spec.method !== 'GET') out[413] = 'PAYLOAD_TOO_LARGE: the body exceeds httpBodyLimit';
  return out;
}

/** True when the client asked for CSV (`Accept: text/csv`). */
export function wantsCsv(req: FastifyRequest): boolean {
  return req.headers.accept?.includes('text/csv') ?? false;
}
