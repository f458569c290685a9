// GET /v1/audit — the audit log (admin only): every change to plans, accounts, devices and every
// issued invoice, with who, when, and the entity before and after. Oldest first; page with
// `after` = the `next` of the previous answer.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AUDIT_ENTITIES, type AuditEntry, type AuditQuery } from '../storage/audit.ts';
import { route } from './route.ts';
import { timeParam } from './usage.ts';

export interface AuditLog {
  list(q: AuditQuery): Promise<AuditEntry[]>;
}

const auditQuery = z
  .object({
    entity: z
      .enum(AUDIT_ENTITIES, { error: `entity must be ${AUDIT_ENTITIES.join(', ')}` })
      .optional()
      .meta({ description: 'Only this kind of entity' }),
    id: z
      .string()
      .regex(/^[A-Za-z0-9._:/-]{1,200}$/, 'id must be 1-200 characters of [A-Za-z0-9._:/-]')
      .optional()
      .meta({ description: 'Only this entity id (an invoice is ACCOUNT/YYYY-MM)' }),
    since: timeParam('since'),
    after: z
      .string()
      .regex(/^\d{1,15}$/, 'after must be the next cursor of a previous page (an integer)')
      .transform(Number)
      .optional()
      .meta({ description: 'Cursor: the `next` of the previous page' }),
    limit: z
      .string()
      .regex(/^\d{1,4}$/, 'limit must be an integer from 1 to 1000')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'limit must be an integer from 1 to 1000')
      .default(100)
      .meta({ description: 'Most entries returned (1-1000)' }),
  })
  .strict();

const entryResponse = z
  .object({
    id: z.number().int(),
    at: z.string().meta({ description: 'When the change committed (ISO 8601, UTC)' }),
    actor: z.string().meta({ description: 'API key id (12 hex digits), or local' }),
    action: z.string().meta({
      description: 'plan.version, account.create, account.update, device.assign, invoice.issue',
    }),
    entity: z.enum(AUDIT_ENTITIES),
    entity_id: z.string(),
    before: z.unknown().meta({ description: 'The entity before the change; null if new' }),
    after: z.unknown().meta({ description: 'The entity after the change' }),
  })
  .strict();

const auditResponse = z
  .object({
    entries: z.array(entryResponse),
    next: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'Pass as `after` for the next page; null on the last page' }),
  })
  .strict();

export async function auditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): Promise<void> {
  route(
    app,
    {
      method: 'GET',
      url: '/v1/audit',
      access: 'admin',
      tag: 'audit',
      summary: 'The audit log: who changed which plan, account, device or invoice, and how',
      querystring: auditQuery,
      responses: {
        200: { description: 'Entries, oldest first', json: auditResponse },
        400: 'BAD_REQUEST',
      },
    },
    async ({ query }) => {
      const entries = await deps.audit.list({
        limit: query.limit,
        ...(query.entity ? { entity: query.entity } : {}),
        ...(query.id ? { entityId: query.id } : {}),
        ...(query.since !== undefined ? { sinceMs: query.since } : {}),
        ...(query.after !== undefined ? { afterId: query.after } : {}),
      });
      const last = entries[entries.length - 1];
      return {
        entries: entries.map((e) => ({
          id: e.id,
          at: new Date(e.atMs).toISOString(),
          actor: e.actor,
          action: e.action,
          entity: e.entity,
          entity_id: e.entityId,
          before: e.before ?? null,
          after: e.after ?? null,
        })),
        next: last && entries.length === query.limit ? last.id : null,
      };
    },
  );
}
