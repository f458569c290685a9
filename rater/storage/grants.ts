// The least privilege a rater needs on a migrated database (docs/security.md#database-role): it
// reads and appends, updates only the rollups (upsert) and account names, and runs no DDL. The
// owner role migrates; the rater role below serves. test/db-role.test.ts proves this list on
// the PostgreSQL server: ingest, the API, retention and audit all work, DDL is refused.

/** Privileges per table; anything not listed is not granted (no DELETE, no TRUNCATE, no DDL). */
export const RATER_TABLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  schema_migrations: ['SELECT'],
  usage_records: ['SELECT', 'INSERT'],
  usage_record_keys: ['SELECT', 'INSERT'],
  usage_5m: ['SELECT', 'INSERT', 'UPDATE'],
  usage_conflicts: ['SELECT', 'INSERT'],
  plan_versions: ['SELECT', 'INSERT'],
  accounts: ['SELECT', 'INSERT', 'UPDATE'],
  account_plans: ['SELECT', 'INSERT'],
  device_assignments: ['SELECT', 'INSERT'],
  issued_invoices: ['SELECT', 'INSERT'],
  audit_log: ['SELECT', 'INSERT'],
  quota_changes: ['SELECT', 'INSERT'],
  quota_state: ['SELECT', 'INSERT', 'UPDATE'],
  quota_crossings: ['SELECT', 'INSERT'],
  webhook_endpoints: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  alert_deliveries: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  alert_attempts: ['SELECT', 'INSERT', 'DELETE'],
};

/** Sequences behind bigserial ids that the rater inserts into. */
export const RATER_SEQUENCES = [
  'usage_conflicts_id_seq',
  'audit_log_id_seq',
  'quota_changes_seq_seq',
] as const;

const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The GRANT statements for `role` on `database`, to run as the owner after the migrations.
 * With `retention` (retentionDays > 0 on plain PostgreSQL tables), DELETE on usage_records too.
 */
export function raterGrantsSql(
  role: string,
  database: string,
  opts: { retention?: boolean } = {},
): string {
  for (const name of [role, database])
    if (!IDENT_RE.test(name))
      throw new Error(`${JSON.stringify(name)} is not a plain lower-case SQL identifier`);
  const lines = [
    `GRANT CONNECT ON DATABASE ${database} TO ${role};`,
    `GRANT USAGE ON SCHEMA public TO ${role};`,
  ];
  for (const [table, privileges] of Object.entries(RATER_TABLE_PRIVILEGES)) {
    const p = opts.retention && table === 'usage_records' ? [...privileges, 'DELETE'] : privileges;
    lines.push(`GRANT ${p.join(', ')} ON ${table} TO ${role};`);
  }
  lines.push(`GRANT USAGE ON SEQUENCE ${RATER_SEQUENCES.join(', ')} TO ${role};`);
  return lines.join('\n');
}
