// The billing catalog: plan versions, accounts (with their plan history) and device
// assignments (with theirs), plus the one query that gathers what the rating engine needs for
// an account and a period. Interface only; SqlCatalogStore (catalog-store.ts) implements it
// over the same SqlClient as the usage store.
//
// History rules (docs/rating.md, "Versions and assignments"):
// - every change appends a row with an effective time; nothing is updated in place;
// - a change may not take effect inside a closed billing period of an account it touches
//   (CONFLICT), so closed invoices are never rewritten by a plan or assignment change;
//   first assignments (a new account's first plan, a device's first account) may be backdated
//   to bill usage that arrived before onboarding. A device's first assignment is backdated
//   only when asked to (an explicit `fromMs`); by default it starts with the account's current
//   period;
// - currency and time zone of an account are fixed once set (CONFLICT): periods and money of
//   past invoices depend on them.
import type { Plan, PlanVersion } from '../rating/plan.ts';
import type { BillingPeriod, RatingInput } from '../rating/types.ts';
import type { Actor } from './audit.ts';
import type { SummaryPlan } from './rating-summary.ts';

export interface PlanAssignment {
  planId: string;
  /** Effective from, epoch ms. */
  fromMs: number;
}

export interface AccountView {
  id: string;
  name?: string;
  currency: string;
  timeZone: string;
  /** Plan history, oldest first; the last one with fromMs <= now is current. */
  plans: PlanAssignment[];
  /** Devices currently assigned (at `nowMs` of the call). */
  devices: string[];
}

export interface DeviceAssignment {
  /** null: the device left every account from this time. */
  accountId: string | null;
  /** A device-level plan overriding the account's plan; null: the account's plan. */
  planId: string | null;
  fromMs: number;
}

export interface DeviceView {
  id: string;
  /** Assignment history, oldest first. */
  assignments: DeviceAssignment[];
}

export interface PutAccountInput {
  id: string;
  name?: string;
  currency: string;
  timeZone: string;
  /** The plan from `planFromMs` on (appended to the history when it differs from the current). */
  planId: string;
  /**
   * Default: for a new account epoch 0, or when the plan first takes effect if later; `nowMs`
   * for a change.
   */
  planFromMs?: number;
}

export interface PutDeviceInput {
  id: string;
  accountId: string | null;
  planId?: string | null;
  /**
   * Default: for a device's first assignment, the start of the account's current billing period
   * (`periodAt(nowMs, timeZone).startMs`; with a plan override, when that plan first takes
   * effect if later); `nowMs` for a change. An explicit time may backdate a first assignment
   * into closed periods (onboarding a device that reported before it was assigned); a change
   * may not (CONFLICT).
   */
  fromMs?: number;
}

export interface PutResult<T> {
  /** false when the request changed nothing (same document / same assignment): idempotent PUT. */
  changed: boolean;
  value: T;
}

/**
 * Every change (a new plan version, account or device assignment) is recorded in the audit log
 * (storage/audit.ts) in the same transaction, naming `actor` (default `local`); a request that
 * changes nothing records nothing.
 */
export interface CatalogStore {
  /**
   * Stores a new version of `plan.plan` unless its document equals the latest version
   * (then `changed: false`). CONFLICT when the version would take effect inside a closed
   * period of an account that uses the plan.
   */
  putPlan(plan: Plan, nowMs: number, actor?: Actor): Promise<PutResult<PlanVersion>>;
  /** Latest version, or the given one. */
  getPlan(id: string, version?: number): Promise<PlanVersion | undefined>;
  listPlanVersions(id: string): Promise<PlanVersion[]>;
  listPlans(): Promise<PlanVersion[]>;

  /** INVALID_ARGUMENT for an unknown plan or a plan in another currency; CONFLICT as above. */
  putAccount(input: PutAccountInput, nowMs: number, actor?: Actor): Promise<PutResult<AccountView>>;
  getAccount(id: string, nowMs: number): Promise<AccountView | undefined>;
  listAccounts(nowMs: number): Promise<AccountView[]>;

  /** INVALID_ARGUMENT for an unknown account or plan; CONFLICT as above. */
  putDevice(input: PutDeviceInput, nowMs: number, actor?: Actor): Promise<PutResult<DeviceView>>;
  getDevice(id: string): Promise<DeviceView | undefined>;
  /** getDevice of several devices in one read; unknown ones are absent from the map. */
  getDevices?(ids: readonly string[]): Promise<Map<string, DeviceView>>;

  /**
   * Everything `rateAccount` needs over the span [period.startMs, min(period.endMs, asOfMs)):
   * the account and its own plan timeline (`accountSegments`: its plan history and the plan
   * versions cut the span; always set, empty when no plan of the account is in force), every
   * device assigned to it at some time in the span with its segments (rating/segments.ts) and
   * its rollups in the span, raw records of the devices that have a segment under a version
   * rounding per record (inside those segments only), and every plan version any of these
   * segments name. NOT_FOUND when the account does not exist.
   *
   * The rollups come summed per device, segment and dims key, with the peak charges' series
   * reduced in the database (RatingInput.peaks), whenever the plan versions allow it
   * (`summarizable`); otherwise, or with `rows: true`, as the stored rows themselves. The engine
   * rates both forms to the same invoice; the row form is the reference and costs far more.
   * `plan` forces how the sums are read (rating-summary.ts: by index or by one scan).
   */
  loadRatingInput(
    accountId: string,
    period: BillingPeriod,
    asOfMs?: number,
    opts?: { rows?: boolean; plan?: SummaryPlan },
  ): Promise<RatingInput>;
  /**
   * Accounts the device belonged to at some time in [fromMs, toMs), in order of assignment
   * (for /v1/devices/{id}/charges: a device that moved mid-period has charges in both).
   */
  accountsOfDevice(deviceId: string, fromMs: number, toMs: number): Promise<string[]>;
}
