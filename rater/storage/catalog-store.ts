// The CatalogStore over any SqlClient (PostgreSQL through `pg`, embedded PGlite): the same SQL
// on both. Writes take one transaction-scoped advisory lock, so catalog changes (rare, and each
// checked against the state of several tables) run one at a time and every check sees the
// state it guards; a failed check rolls the whole change back (catalog-tx.ts). By domain:
// catalog-plans.ts, catalog-accounts.ts, catalog-devices.ts, catalog-rating.ts.
import type { Plan, PlanVersion } from '../rating/plan.ts';
import type { BillingPeriod, RatingInput } from '../rating/types.ts';
import type {
  AccountView,
  CatalogStore,
  DeviceView,
  PutAccountInput,
  PutDeviceInput,
  PutResult,
} from './catalog.ts';
import { getAccount, listAccounts, putAccount } from './catalog-accounts.ts';
import { accountsOfDevice, getDevice, getDevices, putDevice } from './catalog-devices.ts';
import { getPlan, listPlans, listPlanVersions, putPlan } from './catalog-plans.ts';
import { ratingInput } from './catalog-rating.ts';
import type { Actor } from './audit.ts';
import type { SummaryPlan } from './rating-summary.ts';
import type { SqlClient } from './sql.ts';

export { CATALOG_LOCK_KEY } from './catalog-tx.ts';

export interface CatalogStoreOptions {
  /**
   * Connections one rating read may use at once (`loadRatingInput`): the account's devices are
   * shared out between them, all reading one snapshot. Only where the client has spare
   * connections (the pg pool); default 1.
   */
  readers?: number;
}

export class SqlCatalogStore implements CatalogStore {
  private readonly readers: number;

  constructor(
    private readonly sql: SqlClient,
    opts: CatalogStoreOptions = {},
  ) {
    this.readers = opts.readers ?? 1;
  }

  // ---- plans (catalog-plans.ts) -------------------------------------------------------------

  putPlan(plan: Plan, nowMs: number, actor: Actor = 'local'): Promise<PutResult<PlanVersion>> {
    return putPlan(this.sql, plan, nowMs, actor);
  }

  getPlan(id: string, version?: number): Promise<PlanVersion | undefined> {
    return getPlan(this.sql, id, version);
  }

  listPlanVersions(id: string): Promise<PlanVersion[]> {
    return listPlanVersions(this.sql, id);
  }

  listPlans(): Promise<PlanVersion[]> {
    return listPlans(this.sql);
  }

  // ---- accounts (catalog-accounts.ts) -------------------------------------------------------

  putAccount(
    input: PutAccountInput,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<PutResult<AccountView>> {
    return putAccount(this.sql, input, nowMs, actor);
  }

  getAccount(id: string, nowMs: number): Promise<AccountView | undefined> {
    return getAccount(this.sql, id, nowMs);
  }

  listAccounts(nowMs: number): Promise<AccountView[]> {
    return listAccounts(this.sql, nowMs);
  }

  // ---- devices (catalog-devices.ts) ---------------------------------------------------------

  putDevice(
    input: PutDeviceInput,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<PutResult<DeviceView>> {
    return putDevice(this.sql, input, nowMs, actor);
  }

  getDevice(id: string): Promise<DeviceView | undefined> {
    return getDevice(this.sql, id);
  }

  getDevices(ids: readonly string[]): Promise<Map<string, DeviceView>> {
    return getDevices(this.sql, ids);
  }

  accountsOfDevice(deviceId: string, fromMs: number, toMs: number): Promise<string[]> {
    return accountsOfDevice(this.sql, deviceId, fromMs, toMs);
  }

  // ---- rating (catalog-rating.ts) -----------------------------------------------------------

  loadRatingInput(
    accountId: string,
    period: BillingPeriod,
    asOfMs?: number,
    opts: { rows?: boolean; plan?: SummaryPlan } = {},
  ): Promise<RatingInput> {
    return ratingInput(this.sql, this.readers, accountId, period, asOfMs, opts);
  }
}
