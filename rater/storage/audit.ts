// The audit log (migration 005): the catalog's writes (catalog-plans.ts, catalog-accounts.ts,
// catalog-devices.ts, each in a catalog-tx.ts writeTx) and invoice-store.ts append a row inside
// the transaction of each change, so a change and its audit row commit or roll back together.
// Reading pages forward by id (oldest first), so a page never shifts under new rows.
import { StorageError, toStorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

export const AUDIT_ENTITIES = ['plan', 'account', 'device', 'invoice'] as const;
export type AuditEntity = (typeof AUDIT_ENTITIES)[number];

/** Who made a change: an API key's id, `local` (no keys configured) or an in-process caller. */
export type Actor = string;

export interface AuditChange {
  actor: Actor;
  /** `plan.version`, `account.create`, `account.update`, `device.assign`, `invoice.issue`. */
  action: string;
  entity: AuditEntity;
  entityId: string;
  /** The entity before the change; null when it did not exist. */
  before: unknown;
  after: unknown;
}

export interface AuditEntry extends AuditChange {
  id: number;
  atMs: number;
}

export interface AuditQuery {
  entity?: AuditEntity;
  entityId?: string;
  /** Only entries at or after this time. */
  sinceMs?: number;
  /** Only entries with a larger id: the `next` cursor of the previous page. */
  afterId?: number;
  limit: number;
}

/** Appends one entry; `tx` must be the transaction of the change it describes. */
export async function appendAudit(tx: SqlClient, c: AuditChange): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (actor, action, entity, entity_id, before, after)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)`,
    [
      c.actor,
      c.action,
      c.entity,
      c.entityId,
      c.before === null || c.before === undefined ? null : JSON.stringify(c.before),
      c.after === null || c.after === undefined ? null : JSON.stringify(c.after),
    ],
  );
}

interface Row {
  id: string;
  at_ms: string;
  actor: string;
  action: string;
  entity: AuditEntity;
  entity_id: string;
  before: unknown;
  after: unknown;
}

export class SqlAuditLog {
  constructor(private readonly sql: SqlClient) {}

  async list(q: AuditQuery): Promise<AuditEntry[]> {
    if (!Number.isInteger(q.limit) || q.limit < 1)
      throw new StorageError('INVALID_ARGUMENT', 'limit must be a positive integer');
    try {
      const { rows } = await this.sql.query<Row>(
        `SELECT id::text, (extract(epoch FROM at) * 1000)::int8::text AS at_ms,
                actor, action, entity, entity_id, before, after
         FROM audit_log
         WHERE ($1::text IS NULL OR entity = $1)
           AND ($2::text IS NULL OR entity_id = $2)
           AND ($3::timestamptz IS NULL OR at >= $3)
           AND ($4::int8 IS NULL OR id > $4)
         ORDER BY id
         LIMIT $5`,
        [
          q.entity ?? null,
          q.entityId ?? null,
          q.sinceMs === undefined ? null : new Date(q.sinceMs).toISOString(),
          q.afterId ?? null,
          q.limit,
        ],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        atMs: Number(r.at_ms),
        actor: r.actor,
        action: r.action,
        entity: r.entity,
        entityId: r.entity_id,
        before: r.before,
        after: r.after,
      }));
    } catch (e) {
      throw toStorageError(e, 'reading the audit log');
    }
  }
}
