// Retention of raw usage records (retentionDays; docs/security.md#retention). Only
// `usage_records` is pruned: the 5-minute rollups that bills are rated from, the dedupe keys
// (so a replay older than the retention is still a duplicate, never billed twice), conflicts,
// issued invoices and the audit log are kept.
//
// On a hypertable whole chunks older than the cutoff are dropped (TimescaleDB `drop_chunks`,
// cheap; a chunk is one day, so up to a day more is kept). On plain tables rows are deleted in
// slices, so one run never holds a long lock against ingest. The job runs in the rater rather
// than as a TimescaleDB background policy because embedded PGlite has no background workers;
// on a TimescaleDB server with a least-privilege rater role, use `add_retention_policy` as the
// owner instead (docs/security.md) and leave retentionDays at 0.
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import type { SqlClient } from './sql.ts';

const DAY_MS = 86_400_000;
/** Rows per DELETE on plain tables. */
const SLICE = 10_000;

export interface RetentionOptions {
  days: number;
  logger: Logger;
  /** Time between runs. Default one hour. */
  intervalMs?: number;
  now?: () => number;
}

export interface RetentionRun {
  method: 'drop_chunks' | 'delete';
  cutoff: string;
  /** Chunks dropped (drop_chunks) or rows deleted (delete). */
  removed: number;
}

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly sql: SqlClient,
    private readonly opts: RetentionOptions,
  ) {}

  /** Runs now, then every intervalMs; failures are logged, never thrown. */
  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .then(
          (r) => {
            if (r.removed > 0) this.opts.logger.info(r, 'retention: old raw usage records removed');
          },
          (err: unknown) =>
            this.opts.logger.warn(
              { err: errorMessage(err), days: this.opts.days },
              'retention run failed (a least-privilege role needs DELETE on usage_records, or use add_retention_policy as the owner; docs/security.md#retention)',
            ),
        )
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async runOnce(): Promise<RetentionRun> {
    const cutoff = new Date((this.opts.now ?? Date.now)() - this.opts.days * DAY_MS).toISOString();
    if (await isHypertable(this.sql)) {
      const { rows } = await this.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM drop_chunks('usage_records', older_than => $1::timestamptz)`,
        [cutoff],
      );
      return { method: 'drop_chunks', cutoff, removed: rows[0]?.n ?? 0 };
    }
    let removed = 0;
    for (;;) {
      const { rows } = await this.sql.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM usage_records WHERE ctid IN
             (SELECT ctid FROM usage_records WHERE ts < $1::timestamptz LIMIT ${SLICE})
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [cutoff],
      );
      const n = rows[0]?.n ?? 0;
      removed += n;
      if (n < SLICE) return { method: 'delete', cutoff, removed };
    }
  }
}

async function isHypertable(sql: SqlClient): Promise<boolean> {
  const ext = await sql.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
  if (ext.rows.length === 0) return false;
  const { rows } = await sql.query(
    `SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'usage_records'`,
  );
  return rows.length > 0;
}
