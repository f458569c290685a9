import type { SqlClient } from '../sql.ts';

export interface MigrationCaps {
  /** The timescaledb extension is installed in this database. */
  timescale: boolean;
}

/**
 * One schema step. Migrations are append-only: never edit one that has shipped; add the next
 * version instead. `up` runs inside the migration transaction (see ../migrate.ts).
 */
export interface Migration {
  version: number;
  name: string;
  up(sql: SqlClient, caps: MigrationCaps): Promise<void>;
}
