// Applies the versioned migrations and detects TimescaleDB. Several raters may start at once
// against one database: everything that changes the schema runs in one transaction holding a
// transaction-scoped advisory lock, so the others wait, then find nothing left to do.
import { LATEST_VERSION, MIGRATIONS } from './migrations/index.ts';
import type { SqlClient, StorageLogger } from './sql.ts';

/** Advisory lock key for schema changes ('edgemeter' in spirit; any fixed int8 works). */
export const MIGRATION_LOCK_KEY = 7_246_165_237_019_001;

const LOCK_SQL = `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::int8)`;

/**
 * Returns whether TimescaleDB is usable, creating the extension when the server offers it.
 * Creation failures (no privilege, library not preloaded) are not fatal: the store then runs on
 * plain tables, and says so in a warning.
 */
export async function detectTimescale(sql: SqlClient, logger: StorageLogger): Promise<boolean> {
  const installed = await sql.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
  if (installed.rows.length > 0) return true;
  const available = await sql.query(
    `SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`,
  );
  if (available.rows.length === 0) {
    logger.info({}, 'TimescaleDB is not available on this server; using plain tables');
    return false;
  }
  try {
    await sql.transaction(async (tx) => {
      await tx.query(LOCK_SQL);
      await tx.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    });
    return true;
  } catch (e) {
    logger.warn(
      { err: e instanceof Error ? e.message : String(e) },
      'TimescaleDB is available but could not be enabled; using plain tables',
    );
    return false;
  }
}

/** Highest applied migration version, or null when the schema was never migrated. */
export async function appliedVersion(sql: SqlClient): Promise<number | null> {
  const t = await sql.query<{ t: string | null }>(
    `SELECT to_regclass('schema_migrations')::text AS t`,
  );
  if (!t.rows[0]?.t) return null;
  const r = await sql.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM schema_migrations`,
  );
  return r.rows[0]?.v ?? null;
}

/** Applies every pending migration in one transaction. Idempotent; returns the versions applied. */
export async function runMigrations(
  sql: SqlClient,
  caps: { timescale: boolean },
  logger: StorageLogger,
): Promise<number[]> {
  // A current schema needs no lock and no DDL: a least-privilege rater role (no CREATE on the
  // schema, docs/security.md#database-role) starts against a database its owner migrated.
  if (await upToDate(sql)) return [];
  const applied = await sql.transaction(async (tx) => {
    // Taken before anything else, so a second rater blocks here until the first commits and
    // then (READ COMMITTED: each statement sees the latest commits) finds the work done.
    await tx.query(LOCK_SQL);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    int         PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const done = await tx.query<{ version: number }>(`SELECT version FROM schema_migrations`);
    const have = new Set(done.rows.map((r) => r.version));
    const now: number[] = [];
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      await m.up(tx, caps);
      await tx.query(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      now.push(m.version);
    }
    return now;
  });
  if (applied.length > 0) {
    logger.info({ applied, latest: LATEST_VERSION }, 'database schema migrated');
  }
  return applied;
}

/** Whether every migration of this code is recorded as applied. */
async function upToDate(sql: SqlClient): Promise<boolean> {
  if ((await appliedVersion(sql)) === null) return false;
  const { rows } = await sql.query<{ version: number }>(`SELECT version FROM schema_migrations`);
  const have = new Set(rows.map((r) => r.version));
  return MIGRATIONS.every((m) => have.has(m.version));
}
