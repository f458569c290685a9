// The audit log (docs/security.md#audit-log): who changed which plan, account, device or invoice,
// when, and what it was before and after. Rows are written in the same transaction as the change
// they describe. Append-only: triggers refuse UPDATE, DELETE and TRUNCATE for every role,
// the table owner included, and the least-privilege rater role is granted only INSERT, SELECT.
import type { Migration } from './types.ts';

export const auditLog: Migration = {
  version: 5,
  name: 'audit_log',
  async up(sql) {
    await sql.exec(`
      CREATE TABLE audit_log (
        id        bigserial   PRIMARY KEY,
        at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor     text        NOT NULL,
        action    text        NOT NULL,
        entity    text        NOT NULL,
        entity_id text        NOT NULL,
        before    jsonb,
        after     jsonb
      );
      CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
      CREATE INDEX audit_log_at ON audit_log (at);

      CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$;
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
    `);
  },
};
