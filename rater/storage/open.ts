// Opens the rater's store from EDGEMETER_DB: `postgres://…` / `postgresql://…` (a PostgreSQL or
// TimescaleDB server) or `embedded:<dir>` (PGlite with TimescaleDB in this process;
// `embedded:memory` keeps nothing on disk). Callers run `migrate()` before serving.
import path from 'node:path';
import { PgSqlClient } from './pg-client.ts';
import { PgliteSqlClient } from './pglite-client.ts';
import { PgliteThreadClient } from './pglite-thread.ts';
import { detectTimescale } from './migrate.ts';
import { silentLogger, type SqlClient, type StorageLogger } from './sql.ts';
import { StorageError, toStorageError } from './errors.ts';
import { SqlUsageStore } from './usage-store.ts';

export interface OpenStoreOptions {
  logger?: StorageLogger;
  /** Connections per rater for a server database (ignored for embedded). Default 10. */
  poolSize?: number;
  /**
   * Where embedded PGlite runs: its own worker thread (default), or this thread (`main`), where
   * each of its queries holds up everything else the process does until it finishes.
   */
  embeddedThread?: EmbeddedThread;
  /**
   * Called once if the embedded database's thread stops on its own (not by close()): every
   * query fails from then on, and only a new process can open the database again.
   */
  onDatabaseLost?: (err: Error) => void;
}

export type EmbeddedThread = 'worker' | 'main';

export type DbTarget = { driver: 'pg'; url: string } | { driver: 'pglite'; dataDir: string };

/** Parses EDGEMETER_DB; throws INVALID_ARGUMENT with the accepted forms for anything else. */
export function parseDbUrl(dbUrl: string): DbTarget {
  if (/^postgres(ql)?:\/\//i.test(dbUrl)) return { driver: 'pg', url: dbUrl };
  if (dbUrl.startsWith('embedded:')) {
    const dir = dbUrl.slice('embedded:'.length);
    if (dir === 'memory' || dir === 'memory://') return { driver: 'pglite', dataDir: 'memory://' };
    if (dir.trim() !== '') return { driver: 'pglite', dataDir: path.resolve(dir) };
  }
  throw new StorageError(
    'INVALID_ARGUMENT',
    `unsupported database ${JSON.stringify(redact(dbUrl))}: expected postgres://…, ` +
      `postgresql://…, embedded:<directory> or embedded:memory`,
  );
}

// Never echo a password from a mistyped URL into logs.
function redact(url: string): string {
  return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
}

/** Connects, enables TimescaleDB when possible, and returns the store (not yet migrated). */
export async function openStore(
  dbUrl: string,
  opts: OpenStoreOptions = {},
): Promise<SqlUsageStore> {
  const logger = opts.logger ?? silentLogger;
  const target = parseDbUrl(dbUrl);
  let sql: SqlClient;
  try {
    sql =
      target.driver === 'pg'
        ? new PgSqlClient(target.url, { poolSize: opts.poolSize ?? 10, logger })
        : opts.embeddedThread === 'main'
          ? await PgliteSqlClient.create(target.dataDir)
          : await PgliteThreadClient.create(
              target.dataDir,
              opts.onDatabaseLost ? { onStopped: opts.onDatabaseLost } : {},
            );
  } catch (e) {
    throw toStorageError(e, 'opening the database');
  }
  try {
    const timescale = await detectTimescale(sql, logger);
    logger.info({ driver: target.driver, timescale }, 'usage store opened');
    return new SqlUsageStore(sql, { driver: target.driver, timescale }, logger);
  } catch (e) {
    await sql.close().catch(() => {});
    throw toStorageError(e, 'opening the database');
  }
}
