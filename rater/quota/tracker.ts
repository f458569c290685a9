// Quota state kept current as usage arrives. Ingest tells the tracker which devices a committed
// batch touched (`onCommitted`); they are evaluated on the next tick from committed totals, so
// the decision is right whichever replica ingested which usage. Each evaluation runs in one
// transaction under the quota log's advisory lock: usage sums, state upsert, crossings ON CONFLICT
// DO NOTHING (only the inserter alerts, with its deliveries in the same transaction) and the
// change-log append. A periodic sweep re-evaluates quotas not ok (rolling windows decay, months
// roll over); it also runs at start, which reconciles after a restart.
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import {
  crossingEvent,
  type DeviceQuotaStatus,
  type QuotaEvent,
  type QuotaStatus,
} from '../../common/quota.ts';
import type { CatalogStore } from '../storage/catalog.ts';
import { enqueueAlert } from '../storage/alert-store.ts';
import { QUOTA_LOG_LOCK_KEY, SqlQuotaLog } from '../storage/quota-log.ts';
import type { SqlClient } from '../storage/sql.ts';
import { deviceStatus, evaluateRules, statusChanged } from './evaluate.ts';
import { QuotaRules, type DeviceRules } from './rules.ts';
import { UsageSums } from './usage-sums.ts';

export interface QuotaTrackerOptions {
  evalIntervalMs: number;
  sweepIntervalMs: number;
  rulesTtlMs: number;
}

export interface QuotaTrackerDeps {
  sql: SqlClient;
  catalog: CatalogStore;
  logger: Logger;
  now?: () => number;
  /** Deliveries were enqueued (wake the dispatcher). */
  onAlerts?: () => void;
  /** Statuses were appended to the change log (wake Watch streams). */
  onAppended?: () => void;
}

interface StateRow {
  level: number;
  state: string;
  episode_start: Date;
  window_end: Date;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class QuotaTracker {
  readonly rules: QuotaRules;
  private readonly sums: UsageSums;
  private readonly now: () => number;
  private dirty = new Set<string>();
  /** Accounts whose devices had usage since the bill-alert job last asked. */
  private usageAccounts = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: QuotaTrackerDeps,
    private readonly opts: QuotaTrackerOptions,
  ) {
    this.rules = new QuotaRules(deps.catalog, opts.rulesTtlMs);
    this.sums = new UsageSums(deps.sql);
    this.now = deps.now ?? Date.now;
  }

  /** After an ingest transaction committed: usage of these devices at or after `fromMs`. */
  readonly onCommitted = (deviceIds: Iterable<string>, fromMs: number): void => {
    for (const id of deviceIds) {
      this.dirty.add(id);
      this.sums.touched(id, fromMs);
    }
  };

  start(): void {
    this.timers.push(setInterval(() => void this.tick(), this.opts.evalIntervalMs));
    this.timers.push(
      setInterval(() => void this.sweep().catch(this.warn('sweep')), this.opts.sweepIntervalMs),
    );
    void this.sweep().catch(this.warn('start-up reconcile'));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
    // One last round for devices marked since the last tick (not a loop: the database may be
    // gone; what fails stays for the start-up sweep of the next run).
    await this.tick();
  }

  /** Evaluates every device marked so far (tests, shutdown); resolves when done. */
  async flush(): Promise<void> {
    await this.running;
    while (this.dirty.size > 0) await this.tick();
  }

  /** Accounts that had usage since the last call (projected-bill alerts look at these). */
  takeUsageAccounts(): string[] {
    const out = [...this.usageAccounts];
    this.usageAccounts.clear();
    return out;
  }

  /** Marks every device with a quota not ok, or a window that has ended with usage in it. */
  async sweep(): Promise<void> {
    const now = this.now();
    const { rows } = await this.deps.sql.query<{ subject: string }>(
      `SELECT DISTINCT subject FROM quota_state
       WHERE level >= 0 OR (window_end <= $1::timestamptz AND used > 0)`,
      [iso(now)],
    );
    for (const { subject } of rows) {
      const at = subject.indexOf(':');
      const id = subject.slice(at + 1);
      if (subject.startsWith('device:')) this.dirty.add(id);
      else for (const d of (await this.rules.forAccount(id, now))?.devices ?? []) this.dirty.add(d);
    }
  }

  /** A device's quotas now, from committed usage (the API's readout). */
  async deviceQuotas(deviceId: string): Promise<{ rules: DeviceRules; quotas: QuotaStatus[] }> {
    const now = this.now();
    const rules = await this.rules.forDevice(deviceId, now);
    return { rules, quotas: await evaluateRules(this.sums, rules.rules, rules, now) };
  }

  /** An account's pooled quotas now; undefined for an unknown account. */
  async accountQuotas(
    accountId: string,
  ): Promise<{ planId?: string; quotas: QuotaStatus[] } | undefined> {
    const now = this.now();
    const a = await this.rules.forAccount(accountId, now);
    if (!a) return undefined;
    const rules = a.plan ? this.rules.forPlan(a.plan).filter((r) => r.scope === 'account') : [];
    const quotas = await evaluateRules(
      this.sums,
      rules,
      { deviceId: '', accountId, timeZone: a.timeZone, accountDevices: a.devices },
      now,
    );
    return { ...(a.plan ? { planId: a.plan.id } : {}), quotas };
  }

  private async tick(): Promise<void> {
    if (this.running) return this.running;
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty];
    this.dirty.clear();
    this.running = (async () => {
      let pending = batch;
      try {
        pending = await this.withQuotas(batch);
      } catch (err) {
        // Each device then takes its own look, as below.
        this.deps.logger.warn({ err: errorMessage(err) }, 'quota pre-check failed');
      }
      for (const id of pending) {
        try {
          await this.evaluate(id);
        } catch (err) {
          // Kept for the next tick: a database hiccup must not lose a device's decision.
          this.dirty.add(id);
          this.deps.logger.warn(
            { deviceId: id, err: errorMessage(err) },
            'quota evaluation failed',
          );
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /**
   * The devices of a tick that `evaluate` would not skip: those without quota rules and without
   * a status to clear are found with one catalog read and one log query for the whole tick,
   * instead of a read and a query per device (which, after a busy ingest, cost the rater as much
   * CPU as the ingest itself, and on PGlite took its one connection from the ingest).
   */
  private async withQuotas(ids: string[]): Promise<string[]> {
    if (ids.length < 2) return ids;
    const rules = await this.rules.forDevices(ids, this.now());
    const none: string[] = [];
    for (const id of ids) {
      const r = rules.get(id);
      if (r?.accountId) this.usageAccounts.add(r.accountId);
      if (r && r.rules.length === 0) none.push(id);
    }
    if (none.length === 0) return ids;
    const { rows } = await this.deps.sql.query<{ device_id: string }>(
      `SELECT DISTINCT device_id FROM quota_changes WHERE device_id = ANY($1::text[])`,
      [none],
    );
    const skip = new Set(none);
    for (const { device_id } of rows) skip.delete(device_id);
    return ids.filter((id) => !skip.has(id));
  }

  private async evaluate(deviceId: string): Promise<void> {
    const now = this.now();
    const rules = await this.rules.forDevice(deviceId, now);
    if (rules.accountId) this.usageAccounts.add(rules.accountId);
    // Most devices under load may have no quota at all: skip them without taking the log's lock
    // (which serializes evaluations on every replica), unless they once had a status that must
    // now be cleared.
    if (rules.rules.length === 0) {
      const had = await this.deps.sql.query(
        `SELECT 1 FROM quota_changes WHERE device_id = $1 LIMIT 1`,
        [deviceId],
      );
      if (had.rows.length === 0) return;
    }
    const out = await this.deps.sql.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${QUOTA_LOG_LOCK_KEY}::int8)`);
      // Summed after the lock: every usage commit an earlier holder saw is seen here too, so
      // statuses enter the change log in the order of the data they were decided from.
      const quotas = await evaluateRules(this.sums, rules.rules, rules, now, tx);
      const events: QuotaEvent[] = [];
      let alerts = 0;
      let poolMoved = false;
      for (const q of quotas) {
        const subject = q.scope === 'account' ? `account:${rules.accountId}` : `device:${deviceId}`;
        const prev = await readState(tx, q.key, subject);
        const episode = episodeStart(q, prev);
        await writeState(tx, q, subject, episode);
        if (q.scope === 'account' && (!prev || prev.level !== q.level || prev.state !== q.state))
          poolMoved = true;
        for (let level = 0; level <= q.level; level++) {
          const event = crossingEvent(q, level, iso(episode), iso(now));
          if (!event) continue;
          const ins = await tx.query(
            `INSERT INTO quota_crossings (rule_key, subject, window_start, level, event)
             VALUES ($1, $2, $3::timestamptz, $4, $5::json) ON CONFLICT DO NOTHING RETURNING level`,
            [q.key, subject, iso(episode), level, JSON.stringify(event)],
          );
          if (ins.rows.length === 0) continue;
          events.push(event);
          alerts += await enqueueAlert(tx, 'quota.threshold_crossed', rules.accountId, (id) => ({
            id,
            type: 'quota.threshold_crossed',
            created_at: iso(now),
            account: rules.accountId ?? null,
            device: deviceId,
            subject,
            scope: q.scope,
            quota: event,
          }));
        }
      }
      const status = deviceStatus(deviceId, quotas, events, now);
      const last = await tx.query<{ status: DeviceQuotaStatus }>(
        `SELECT status FROM quota_changes WHERE device_id = $1 ORDER BY seq DESC LIMIT 1`,
        [deviceId],
      );
      const append = events.length > 0 || statusChanged(last.rows[0]?.status, status);
      if (append) await new SqlQuotaLog(tx).append([status]);
      return { alerts, append, poolMoved };
    });
    if (out.alerts > 0) this.deps.onAlerts?.();
    if (out.append) this.deps.onAppended?.();
    // A pooled quota changed level: every device of the account carries it in its status.
    if (out.poolMoved) for (const d of rules.accountDevices) if (d !== deviceId) this.dirty.add(d);
  }

  private warn(what: string) {
    return (err: unknown) =>
      this.deps.logger.warn({ err: errorMessage(err) }, `quota ${what} failed`);
  }
}

async function readState(
  tx: SqlClient,
  key: string,
  subject: string,
): Promise<StateRow | undefined> {
  const { rows } = await tx.query<StateRow>(
    `SELECT level, state, episode_start, window_end FROM quota_state
     WHERE rule_key = $1 AND subject = $2`,
    [key, subject],
  );
  return rows[0];
}

/**
 * What a crossing is keyed on: the period's start; for a rolling window (which moves every
 * 5 minutes) the start of the stretch during which the quota has been above its first
 * threshold without a gap, so a threshold fires again only after the quota was ok in between.
 */
function episodeStart(q: QuotaStatus, prev: StateRow | undefined): number {
  const start = Date.parse(q.windowStart);
  if (q.rule.windowMs === 'period') return start;
  if (prev && prev.level >= 0 && q.level >= 0 && prev.window_end.getTime() >= start)
    return prev.episode_start.getTime();
  return start;
}

async function writeState(tx: SqlClient, q: QuotaStatus, subject: string, episode: number) {
  await tx.query(
    `INSERT INTO quota_state (rule_key, subject, window_start, window_end, episode_start, used,
                              level, state, updated_at)
     VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6::numeric, $7, $8, now())
     ON CONFLICT (rule_key, subject) DO UPDATE SET window_start = excluded.window_start,
       window_end = excluded.window_end, episode_start = excluded.episode_start,
       used = excluded.used, level = excluded.level, state = excluded.state, updated_at = now()`,
    [q.key, subject, q.windowStart, q.windowEnd, iso(episode), q.used, q.level, q.state],
  );
}
