// The CatalogStore over any SqlClient (PostgreSQL through `pg`, embedded PGlite): the same SQL
// on both. Writes take one transaction-scoped advisory lock, so catalog changes (rare, and each
// checked against the state of several tables) run one at a time and every check sees the
// state it guards; a failed check rolls the whole change back.
import { ACCOUNT_ID_RE, DEVICE_ID_RE } from '../../common/ids.ts';
import {
  canonicalTimeZone,
  effectiveInstant,
  isValidTimeZone,
  periodAt,
} from '../rating/period.ts';
import { PLAN_ID_RE, isCurrency, type Plan, type PlanVersion } from '../rating/plan.ts';
import type { BillingPeriod, RatingInput } from '../rating/types.ts';
import type {
  AccountView,
  CatalogStore,
  DeviceAssignment,
  DeviceView,
  PlanAssignment,
  PutAccountInput,
  PutDeviceInput,
  PutResult,
} from './catalog.ts';
import {
  byCodeUnits,
  byTime,
  canonicalJson,
  checkOpenPeriod,
  checkPlanUsable,
  checkTime,
  firstEffective,
  inForceAt,
  iso,
  stretches,
  type AccountRef,
} from './catalog-rules.ts';
import {
  loadAccountPlans,
  loadDeviceHistories,
  loadPlanVersions,
  loadRatingInput,
  readAccount,
  type AccountRow,
  type AssignmentEntry,
  type PlanEntry,
} from './catalog-sql.ts';
import { appendAudit, type Actor } from './audit.ts';
import { StorageError, toStorageError } from './errors.ts';
import type { Reader, SummaryPlan } from './rating-summary.ts';
import type { SqlClient } from './sql.ts';

/** Advisory lock serialising catalog writes (the migration lock ends in 001). */
export const CATALOG_LOCK_KEY = 7_246_165_237_019_002;

function invalid(message: string): never {
  throw new StorageError('INVALID_ARGUMENT', message);
}

const ID_RULES = {
  plan: { re: PLAN_ID_RE, max: 64 },
  account: { re: ACCOUNT_ID_RE, max: 128 },
  device: { re: DEVICE_ID_RE, max: 128 },
} as const;

function checkId(id: unknown, kind: keyof typeof ID_RULES): string {
  const rule = ID_RULES[kind];
  if (typeof id !== 'string' || !rule.re.test(id))
    invalid(
      `${kind} id must be 1-${rule.max} characters of [A-Za-z0-9._:-], not ${JSON.stringify(id)}`,
    );
  return id;
}

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

  // ---- plans --------------------------------------------------------------------------------

  async putPlan(
    plan: Plan,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<PutResult<PlanVersion>> {
    const id = checkId(plan?.plan, 'plan');
    checkTime(nowMs, 'nowMs');
    return this.write(`storing plan ${id}`, async (tx) => {
      const versions = (await loadPlanVersions(tx, [id])).get(id) ?? [];
      const latest = versions[versions.length - 1];
      const doc = canonicalJson(plan);
      if (latest && canonicalJson(latest.plan) === doc) return { changed: false, value: latest };
      const version = (latest?.version ?? 0) + 1;
      // The first version cannot reach into anyone's past: no account can name a plan before it
      // exists. Later versions can, for every account whose histories name the plan.
      if (latest) {
        for (const account of await accountsUsingPlan(tx, id)) {
          if (plan.currency !== latest.plan.currency)
            throw new StorageError(
              'CONFLICT',
              `plan ${id} is priced in ${latest.plan.currency} and used by account ` +
                `${account.id}; a version in ${plan.currency} needs a new plan id`,
            );
          checkOpenPeriod(
            effectiveInstant(plan.effective_from, account.timeZone),
            nowMs,
            account,
            `version ${version} of plan ${id} (effective_from ${plan.effective_from})`,
          );
        }
      }
      // Stored canonicalised (keys sorted): the form `doc` was compared in above.
      await tx.query(
        `INSERT INTO plan_versions (plan_id, version, document) VALUES ($1, $2, $3::jsonb)`,
        [id, version, doc],
      );
      const value: PlanVersion = { id, version, plan: JSON.parse(doc) as Plan };
      await appendAudit(tx, {
        actor,
        action: 'plan.version',
        entity: 'plan',
        entityId: id,
        before: latest ?? null,
        after: value,
      });
      return { changed: true, value };
    });
  }

  async getPlan(id: string, version?: number): Promise<PlanVersion | undefined> {
    const versions = await this.read(`reading plan ${id}`, (tx) => loadPlanVersions(tx, [id]));
    const all = versions.get(id) ?? [];
    return version === undefined ? all[all.length - 1] : all.find((v) => v.version === version);
  }

  async listPlanVersions(id: string): Promise<PlanVersion[]> {
    const versions = await this.read(`reading plan ${id}`, (tx) => loadPlanVersions(tx, [id]));
    return versions.get(id) ?? [];
  }

  async listPlans(): Promise<PlanVersion[]> {
    return this.read('listing plans', async (tx) => {
      const { rows } = await tx.query<{ plan_id: string; version: number; document: Plan }>(
        `SELECT DISTINCT ON (plan_id) plan_id, version, document FROM plan_versions
         ORDER BY plan_id, version DESC`,
      );
      return rows
        .map((r) => ({ id: r.plan_id, version: r.version, plan: r.document }))
        .sort((a, b) => byCodeUnits(a.id, b.id));
    });
  }

  // ---- accounts -----------------------------------------------------------------------------

  async putAccount(
    input: PutAccountInput,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<PutResult<AccountView>> {
    const id = checkId(input.id, 'account');
    if (typeof input.currency !== 'string' || !isCurrency(input.currency))
      invalid(
        `currency must be an ISO 4217 code such as EUR, not ${JSON.stringify(input.currency)}`,
      );
    if (typeof input.timeZone !== 'string' || !isValidTimeZone(input.timeZone))
      invalid(`unknown time zone ${JSON.stringify(input.timeZone)}: use an IANA name`);
    if (input.name !== undefined && (typeof input.name !== 'string' || input.name.length > 200))
      invalid('name must be a string of at most 200 characters');
    const planId = checkId(input.planId, 'plan');
    if (input.planFromMs !== undefined) checkTime(input.planFromMs, 'planFromMs');
    checkTime(nowMs, 'nowMs');
    // Stored as the time zone database spells it, so "europe/berlin" cannot later count as a
    // different zone from "Europe/Berlin".
    const timeZone = canonicalTimeZone(input.timeZone);
    const account: AccountRef = { id, currency: input.currency, timeZone };
    const name = input.name ?? null;

    return this.write(`storing account ${id}`, async (tx) => {
      const stored = await readAccount(tx, id);
      if (!stored) {
        // A new account's plan starts with its current month (or when the plan first takes
        // effect, if later): per-account fees are not billed for months before the account
        // existed. An explicit plan_from may reach back on purpose.
        const fromMs = await this.checkPlan(
          tx,
          planId,
          input.planFromMs ?? null,
          account,
          periodAt(nowMs, account.timeZone).startMs,
        );
        await tx.query(
          `INSERT INTO accounts (account_id, name, currency, time_zone) VALUES ($1, $2, $3, $4)`,
          [id, name, account.currency, account.timeZone],
        );
        await appendAccountPlan(tx, id, 1, planId, fromMs);
        const created = await accountView(tx, rowOf(account, name), nowMs);
        await appendAudit(tx, {
          actor,
          action: 'account.create',
          entity: 'account',
          entityId: id,
          before: null,
          after: created,
        });
        return { changed: true, value: created };
      }
      const before = await accountView(tx, stored, nowMs);

      for (const [field, was, now] of [
        ['currency', stored.currency, account.currency],
        ['time zone', stored.time_zone, account.timeZone],
      ] as const)
        if (was !== now)
          throw new StorageError(
            'CONFLICT',
            `account ${id} has ${field} ${was}; the ${field} of an account is fixed once set ` +
              `(past invoices depend on it), so ${now} needs a new account`,
          );

      let changed = false;
      if (stored.name !== name) {
        await tx.query(`UPDATE accounts SET name = $2 WHERE account_id = $1`, [id, name]);
        changed = true;
      }
      const history = (await loadAccountPlans(tx, [id])).get(id) ?? [];
      const fromMs = input.planFromMs ?? nowMs;
      if (inForceAt(history, fromMs)?.planId !== planId) {
        await this.checkPlan(tx, planId, fromMs, account, fromMs);
        checkOpenPeriod(fromMs, nowMs, account, `the change of account ${id} to plan ${planId}`);
        await appendAccountPlan(tx, id, nextSeq(history), planId, fromMs);
        changed = true;
      }
      const after = await accountView(tx, rowOf(account, name), nowMs);
      if (changed)
        await appendAudit(tx, {
          actor,
          action: 'account.update',
          entity: 'account',
          entityId: id,
          before,
          after,
        });
      return { changed, value: after };
    });
  }

  async getAccount(id: string, nowMs: number): Promise<AccountView | undefined> {
    return this.read(`reading account ${id}`, async (tx) => {
      const row = await readAccount(tx, id);
      return row ? accountView(tx, row, nowMs) : undefined;
    });
  }

  async listAccounts(nowMs: number): Promise<AccountView[]> {
    return this.read('listing accounts', async (tx) => {
      const { rows } = await tx.query<AccountRow>(
        `SELECT account_id, name, currency, time_zone FROM accounts`,
      );
      const plans = await loadAccountPlans(tx, null);
      const devices = await currentDevices(tx, null, nowMs);
      return rows
        .map((r) => viewOf(r, plans.get(r.account_id) ?? [], devices))
        .sort((a, b) => byCodeUnits(a.id, b.id));
    });
  }

  // ---- devices ------------------------------------------------------------------------------

  async putDevice(
    input: PutDeviceInput,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<PutResult<DeviceView>> {
    const id = checkId(input.id, 'device');
    const accountId = input.accountId === null ? null : checkId(input.accountId, 'account');
    const planId =
      input.planId === undefined || input.planId === null ? null : checkId(input.planId, 'plan');
    if (accountId === null && planId !== null)
      invalid(`device ${id}: a plan override needs an account`);
    if (input.fromMs !== undefined) checkTime(input.fromMs, 'fromMs');
    checkTime(nowMs, 'nowMs');

    return this.write(`storing device ${id}`, async (tx) => {
      const history = (await loadDeviceHistories(tx, [id])).get(id) ?? [];
      const target = accountId === null ? undefined : await readAccountRef(tx, accountId);
      if (accountId !== null && !target)
        invalid(`unknown account ${accountId}: create the account first`);
      const first = history.length === 0;
      // Without a time, a change applies from now and a first assignment from the start of
      // the joined account's current period: never silently inside a closed one (an invoice
      // already issued). Only an explicit `fromMs` backdates a first assignment (onboarding a
      // device that reported before it was assigned).
      const defaultFromMs = first && target ? periodAt(nowMs, target.timeZone).startMs : nowMs;
      let fromMs = input.fromMs ?? defaultFromMs;
      const current = inForceAt(history, fromMs);
      const unchanged =
        (current?.accountId ?? null) === accountId && (current?.planId ?? null) === planId;
      if (unchanged) return { changed: false, value: deviceView(id, history) };

      // A first assignment without a time waits for an override plan that takes effect later;
      // a change is refused if its plan is not in force when it applies.
      if (target && planId !== null)
        fromMs = await this.checkPlan(
          tx,
          planId,
          first ? (input.fromMs ?? null) : fromMs,
          target,
          defaultFromMs,
        );
      // A change must leave the closed periods of both the account it leaves and the one it
      // joins alone; a first assignment can only have been backdated explicitly.
      if (!first) {
        const left = current?.accountId ? await readAccountRef(tx, current.accountId) : undefined;
        for (const a of [left, target])
          if (a)
            checkOpenPeriod(
              fromMs,
              nowMs,
              a,
              `moving device ${id} to ${describe(accountId, planId)}`,
            );
      }
      const seq = nextSeq(history);
      await tx.query(
        `INSERT INTO device_assignments (device_id, seq, account_id, plan_id, effective_at)
         VALUES ($1, $2, $3, $4, $5::timestamptz)`,
        [id, seq, accountId, planId, iso(fromMs)],
      );
      const value = deviceView(id, byTime([...history, { seq, fromMs, accountId, planId }]));
      await appendAudit(tx, {
        actor,
        action: 'device.assign',
        entity: 'device',
        entityId: id,
        before: first ? null : deviceView(id, history),
        after: value,
      });
      return { changed: true, value };
    });
  }

  async getDevice(id: string): Promise<DeviceView | undefined> {
    const histories = await this.read(`reading device ${id}`, (tx) =>
      loadDeviceHistories(tx, [id]),
    );
    const history = histories.get(id);
    return history ? deviceView(id, history) : undefined;
  }

  async getDevices(ids: readonly string[]): Promise<Map<string, DeviceView>> {
    const histories = await this.read(`reading ${ids.length} devices`, (tx) =>
      loadDeviceHistories(tx, ids),
    );
    const out = new Map<string, DeviceView>();
    for (const [id, history] of histories) out.set(id, deviceView(id, history));
    return out;
  }

  async accountsOfDevice(deviceId: string, fromMs: number, toMs: number): Promise<string[]> {
    const histories = await this.read(`reading device ${deviceId}`, (tx) =>
      loadDeviceHistories(tx, [deviceId]),
    );
    const out: string[] = [];
    for (const s of stretches(histories.get(deviceId) ?? [])) {
      const a = s.entry.accountId;
      if (a !== null && s.fromMs < toMs && s.toMs > fromMs && !out.includes(a)) out.push(a);
    }
    return out;
  }

  // ---- rating -------------------------------------------------------------------------------

  async loadRatingInput(
    accountId: string,
    period: BillingPeriod,
    asOfMs?: number,
    opts: { rows?: boolean; plan?: SummaryPlan } = {},
  ): Promise<RatingInput> {
    if (!Number.isFinite(period.startMs) || !(period.endMs > period.startMs))
      invalid(`period ${period.label} must have finite startMs < endMs`);
    if (asOfMs !== undefined && !Number.isFinite(asOfMs)) invalid('asOfMs must be a finite time');
    const input = await this.read(`loading account ${accountId} for ${period.label}`, async (tx) =>
      loadRatingInput(tx, accountId, period, asOfMs, {
        ...opts,
        readers: [(fn) => fn(tx), ...(await this.moreReaders(tx))],
      }),
    );
    if (!input) throw new StorageError('NOT_FOUND', `unknown account ${accountId}`);
    return input;
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /**
   * Checks that the plan can bill the account from `fromMs` on, and returns `fromMs`. Null (no
   * time given) means from `defaultMs`, or from when the plan first takes effect if that is
   * later: usage from before the plan existed has no price to be rated at.
   */
  private async checkPlan(
    tx: SqlClient,
    planId: string,
    fromMs: number | null,
    account: AccountRef,
    defaultMs: number,
  ): Promise<number> {
    const versions = (await loadPlanVersions(tx, [planId])).get(planId) ?? [];
    const from =
      fromMs ??
      (versions.length > 0
        ? Math.max(defaultMs, firstEffective(versions, account.timeZone))
        : defaultMs);
    checkPlanUsable(planId, versions, from, account);
    return from;
  }

  /**
   * Up to `readers − 1` more transactions on the snapshot of `tx` (exported, then imported by
   * each), as functions running a callback in one. Only as many as the pool has spare right
   * now, so a busy rater reads on one connection rather than wait for a second.
   */
  private async moreReaders(tx: SqlClient): Promise<Reader[]> {
    const spare = Math.min(this.readers - 1, this.sql.spareConnections?.() ?? 0);
    if (spare <= 0) return [];
    const { rows } = await tx.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const id = rows[0]?.id ?? '';
    // SET TRANSACTION SNAPSHOT takes no parameter; the id is checked before it is quoted.
    if (!/^[0-9A-F-]+$/i.test(id)) throw new Error(`unexpected snapshot id ${JSON.stringify(id)}`);
    const reader: Reader = (fn) =>
      this.sql.transaction(async (other) => {
        await other.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await other.query(`SET TRANSACTION SNAPSHOT '${id}'`);
        return fn(other);
      });
    return Array.from({ length: spare }, () => reader);
  }

  /** One write transaction holding the catalog lock; any error rolls all of it back. */
  private async write<T>(what: string, fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.sql.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${CATALOG_LOCK_KEY}::int8)`);
        return fn(tx);
      });
    } catch (e) {
      throw toStorageError(e, what);
    }
  }

  /** Several reads from one snapshot, so they agree with each other under concurrent writes. */
  private async read<T>(what: string, fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.sql.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        return fn(tx);
      });
    } catch (e) {
      throw toStorageError(e, what);
    }
  }
}

function describe(accountId: string | null, planId: string | null): string {
  if (accountId === null) return 'no account';
  return planId === null ? `account ${accountId}` : `account ${accountId} with plan ${planId}`;
}

function nextSeq(history: readonly { seq: number }[]): number {
  return history.reduce((m, e) => Math.max(m, e.seq), 0) + 1;
}

function rowOf(a: AccountRef, name: string | null): AccountRow {
  return { account_id: a.id, name, currency: a.currency, time_zone: a.timeZone };
}

async function readAccountRef(tx: SqlClient, id: string): Promise<AccountRef | undefined> {
  const r = await readAccount(tx, id);
  return r && { id: r.account_id, currency: r.currency, timeZone: r.time_zone };
}

async function appendAccountPlan(
  tx: SqlClient,
  accountId: string,
  seq: number,
  planId: string,
  fromMs: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO account_plans (account_id, seq, plan_id, effective_at)
     VALUES ($1, $2, $3, $4::timestamptz)`,
    [accountId, seq, planId, iso(fromMs)],
  );
}

/** Accounts whose plan history or device overrides name the plan, by id. */
async function accountsUsingPlan(tx: SqlClient, planId: string): Promise<AccountRef[]> {
  const { rows } = await tx.query<AccountRow>(
    `SELECT account_id, name, currency, time_zone FROM accounts
     WHERE account_id IN (SELECT account_id FROM account_plans WHERE plan_id = $1
                          UNION
                          SELECT account_id FROM device_assignments WHERE plan_id = $1)
`,
    [planId],
  );
  return rows
    .map((r) => ({ id: r.account_id, currency: r.currency, timeZone: r.time_zone }))
    .sort((a, b) => byCodeUnits(a.id, b.id));
}

/**
 * Device → account of the assignment in force at `nowMs`, for the devices that ever named
 * `accountId` (all devices when null).
 */
async function currentDevices(
  tx: SqlClient,
  accountId: string | null,
  nowMs: number,
): Promise<Map<string, string | null>> {
  const { rows } = await tx.query<{ device_id: string; account_id: string | null }>(
    `SELECT DISTINCT ON (device_id) device_id, account_id FROM device_assignments
     WHERE effective_at <= $1::timestamptz
       AND ($2::text IS NULL OR device_id IN (SELECT device_id FROM device_assignments
                                              WHERE account_id = $2::text))
     ORDER BY device_id, effective_at DESC, seq DESC`,
    [iso(nowMs), accountId],
  );
  return new Map(rows.map((r) => [r.device_id, r.account_id]));
}

async function accountView(tx: SqlClient, row: AccountRow, nowMs: number): Promise<AccountView> {
  const plans = await loadAccountPlans(tx, [row.account_id]);
  const devices = await currentDevices(tx, row.account_id, nowMs);
  return viewOf(row, plans.get(row.account_id) ?? [], devices);
}

function viewOf(
  row: AccountRow,
  plans: readonly PlanEntry[],
  current: Map<string, string | null>,
): AccountView {
  const devices: string[] = [];
  for (const [device, account] of current) if (account === row.account_id) devices.push(device);
  return {
    id: row.account_id,
    ...(row.name === null ? {} : { name: row.name }),
    currency: row.currency,
    timeZone: row.time_zone,
    plans: plans.map((p): PlanAssignment => ({ planId: p.planId, fromMs: p.fromMs })),
    devices: devices.sort(byCodeUnits),
  };
}

function deviceView(id: string, history: readonly AssignmentEntry[]): DeviceView {
  return {
    id,
    assignments: history.map((a): DeviceAssignment => ({
      accountId: a.accountId,
      planId: a.planId,
      fromMs: a.fromMs,
    })),
  };
}
