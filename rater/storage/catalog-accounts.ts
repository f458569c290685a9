// Accounts in the SQL catalog (catalog-store.ts): creating and changing an account (its plan
// history is appended to, never rewritten), and reading accounts with their current devices.
import { canonicalTimeZone, isValidTimeZone, periodAt } from '../rating/period.ts';
import { isCurrency } from '../rating/currency.ts';
import type { AccountView, PlanAssignment, PutAccountInput, PutResult } from './catalog.ts';
import {
  byCodeUnits,
  checkOpenPeriod,
  checkTime,
  inForceAt,
  iso,
  type AccountRef,
} from './catalog-rules.ts';
import { loadAccountPlans, readAccount, type AccountRow, type PlanEntry } from './catalog-sql.ts';
import { checkPlan } from './catalog-plans.ts';
import { checkId, invalid, nextSeq, readTx, writeTx } from './catalog-tx.ts';
import { appendAudit, type Actor } from './audit.ts';
import { StorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

export async function putAccount(
  sql: SqlClient,
  input: PutAccountInput,
  nowMs: number,
  actor: Actor,
): Promise<PutResult<AccountView>> {
  const id = checkId(input.id, 'account');
  if (typeof input.currency !== 'string' || !isCurrency(input.currency))
    invalid(`currency must be an ISO 4217 code such as EUR, not ${JSON.stringify(input.currency)}`);
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

  return writeTx(sql, `storing account ${id}`, async (tx) => {
    const stored = await readAccount(tx, id);
    if (!stored) {
      // A new account's plan starts with its current month (or when the plan first takes
      // effect, if later): per-account fees are not billed for months before the account
      // existed. An explicit plan_from may reach back on purpose.
      const fromMs = await checkPlan(
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
      await checkPlan(tx, planId, fromMs, account, fromMs);
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

export async function getAccount(
  sql: SqlClient,
  id: string,
  nowMs: number,
): Promise<AccountView | undefined> {
  return readTx(sql, `reading account ${id}`, async (tx) => {
    const row = await readAccount(tx, id);
    return row ? accountView(tx, row, nowMs) : undefined;
  });
}

export async function listAccounts(sql: SqlClient, nowMs: number): Promise<AccountView[]> {
  return readTx(sql, 'listing accounts', async (tx) => {
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

function rowOf(a: AccountRef, name: string | null): AccountRow {
  return { account_id: a.id, name, currency: a.currency, time_zone: a.timeZone };
}

export async function readAccountRef(tx: SqlClient, id: string): Promise<AccountRef | undefined> {
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
