// Who may call which route (docs/security.md#api-keys-and-roles). Every route declares its
// access (route.ts); one onRequest hook, run before the body is read, finds the caller's key and
// refuses with UNAUTHENTICATED (401) or FORBIDDEN (403). Without configured keys the caller is
// `local` with every right: the rater then serves loopback only (rater.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import { RaterError } from '../errors.ts';
import {
  LOCAL_PRINCIPAL,
  allows,
  rolesFor,
  type Access,
  type KeyRing,
  type Principal,
} from './keys.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs (route.ts sets it for every route). Unset: any valid key. */
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

const REALM = 'Bearer realm="edgemeter"';

/** The key of a request: `Authorization: Bearer KEY`, or `X-API-Key: KEY`. */
function presentedKey(req: FastifyRequest): { key?: string; problem?: string } {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(auth);
    // The scheme is named, never the value: it may be a key sent the wrong way.
    if (!m?.[1]) return { problem: 'the Authorization header must be "Bearer <key>"' };
    return { key: m[1] };
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return { key: header.trim() };
  return {};
}

export interface AuthOptions {
  /** The configured keys; undefined or empty: no authentication (`local` is admin). */
  keys: KeyRing | undefined;
  logger: Logger;
  /** Counts each refusal by code. */
  refused: { inc(labels: { code: string }): void };
}

export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  const keys = opts.keys && opts.keys.size > 0 ? opts.keys : undefined;
  app.decorateRequest('principal', undefined);

  /** Sets the challenge header and logs the refusal; the caller throws the error. */
  const refusal = (
    req: FastifyRequest,
    reply: FastifyReply,
    err: RaterError,
    keyId?: string,
  ): RaterError => {
    if (err.code === 'UNAUTHENTICATED')
      reply.header(
        'www-authenticate',
        keyId === undefined && !req.headers.authorization && !req.headers['x-api-key']
          ? REALM
          : `${REALM}, error="invalid_token"`,
      );
    opts.logger.warn(
      { method: req.method, route: routeOf(req), ip: req.ip, code: err.code, keyId },
      'HTTP request refused',
    );
    opts.refused.inc({ code: err.code });
    return err;
  };

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access ?? 'read';
    if (access === 'public') return;
    if (!keys) {
      req.principal = LOCAL_PRINCIPAL;
      return;
    }
    const { key, problem } = presentedKey(req);
    if (problem) throw refusal(req, reply, new RaterError('UNAUTHENTICATED', problem));
    if (key === undefined)
      throw refusal(
        req,
        reply,
        new RaterError(
          'UNAUTHENTICATED',
          'this route needs an API key: send "Authorization: Bearer <key>"',
        ),
      );
    const p = keys.lookup(key);
    if (!p) throw refusal(req, reply, new RaterError('UNAUTHENTICATED', 'unknown API key'));
    if (!allows(p.role, access))
      throw refusal(
        req,
        reply,
        new RaterError(
          'FORBIDDEN',
          `API key ${p.keyId} has role ${p.role}; ${req.method} ${routeOf(req)} needs role ${rolesFor(access).join(' or ')}`,
        ),
        p.keyId,
      );
    req.principal = p;
  });
}

/** The route's pattern (`/v1/plans/:id`), not the URL: ids in paths stay out of logs. */
function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? '(no route)';
}

/** Who the audit log names for a request: the key's id, or `local` without keys. */
export function actorOf(req: FastifyRequest): string {
  return req.principal?.keyId ?? LOCAL_PRINCIPAL.keyId;
}
