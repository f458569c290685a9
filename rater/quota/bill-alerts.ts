// Projected-bill alerts: every `intervalMs`, for the accounts that had usage since the last run,
// the open invoice's projected total (the existing projection: the bill if usage continues at
// its pace) is compared with the plan's `bill_alerts`. Each amount fires once per billing period:
// a crossing row (rule key `bill:AMOUNT`, subject `account:ID`, window = the period start) with
// its deliveries in the same transaction, as for quota thresholds.
import { Decimal } from 'decimal.js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import type { BillingPeriod } from '../rating/types.ts';
import { enqueueAlert } from '../storage/alert-store.ts';
import type { SqlClient } from '../storage/sql.ts';
import type { QuotaRules } from './rules.ts';

export interface Projection {
  period: BillingPeriod;
  currency: string;
  total: string;
  projected: string;
}

export interface BillAlertDeps {
  sql: SqlClient;
  rules: QuotaRules;
  logger: Logger;
  /** The open invoice of the account now (InvoiceService in rater.ts). */
  project: (accountId: string, nowMs: number) => Promise<Projection>;
  /** Accounts that had usage since the last call (QuotaTracker.takeUsageAccounts). */
  accounts: () => string[];
  now?: () => number;
  onAlerts?: () => void;
}

export class BillAlerts {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: BillAlertDeps,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running)
        this.running = this.runOnce()
          .catch((err: unknown) =>
            this.deps.logger.warn({ err: errorMessage(err) }, 'projected-bill alerts failed'),
          )
          .finally(() => (this.running = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Checks the accounts with usage since the last run; returns how many alerts fired. */
  async runOnce(): Promise<number> {
    let fired = 0;
    const now = (this.deps.now ?? Date.now)();
    for (const accountId of this.deps.accounts()) {
      try {
        fired += await this.check(accountId, now);
      } catch (err) {
        this.deps.logger.warn({ accountId, err: errorMessage(err) }, 'projected-bill check failed');
      }
    }
    if (fired > 0) this.deps.onAlerts?.();
    return fired;
  }

  private async check(accountId: string, now: number): Promise<number> {
    const a = await this.deps.rules.forAccount(accountId, now);
    const alerts = a?.plan?.plan.bill_alerts ?? [];
    if (alerts.length === 0) return 0;
    const p = await this.deps.project(accountId, now);
    const over = alerts.filter((x) => new Decimal(p.projected).greaterThan(x.projected_total_over));
    if (over.length === 0) return 0;
    return this.deps.sql.transaction(async (tx) => {
      let n = 0;
      for (const x of over) {
        const key = `bill:${x.projected_total_over}`;
        const subject = `account:${accountId}`;
        const event = {
          type: 'projected_total_over',
          threshold: x.projected_total_over,
          projected_total: p.projected,
          total: p.total,
          currency: p.currency,
          period: p.period.label,
          at: new Date(now).toISOString(),
        };
        const ins = await tx.query(
          `INSERT INTO quota_crossings (rule_key, subject, window_start, level, event)
           VALUES ($1, $2, $3::timestamptz, 0, $4::json) ON CONFLICT DO NOTHING RETURNING level`,
          [key, subject, new Date(p.period.startMs).toISOString(), JSON.stringify(event)],
        );
        if (ins.rows.length === 0) continue;
        n++;
        await enqueueAlert(tx, 'bill.projected_total_over', accountId, (id) => ({
          id,
          type: 'bill.projected_total_over',
          created_at: event.at,
          account: accountId,
          bill: event,
        }));
      }
      return n;
    });
  }
}
