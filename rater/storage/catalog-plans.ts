// Plans in the SQL catalog (catalog-store.ts): storing a new version of a plan (checked against
// every account that uses it), reading versions, and the check that a plan can bill an account
// from a given time, shared by account and device changes.
import { effectiveInstant } from '../rating/period.ts';
import type { Plan, PlanVersion } from '../rating/plan.ts';
import type { PutResult } from './catalog.ts';
import {
  byCodeUnits,
  canonicalJson,
  checkOpenPeriod,
  checkPlanUsable,
  checkTime,
  firstEffective,
  type AccountRef,
} from './catalog-rules.ts';
import { loadPlanVersions, type AccountRow } from './catalog-sql.ts';
import { checkId, readTx, writeTx } from './catalog-tx.ts';
import { appendAudit, type Actor } from './audit.ts';
import { StorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

export async function putPlan(
  sql: SqlClient,
  plan: Plan,
  nowMs: number,
  actor: Actor,
): Promise<PutResult<PlanVersion>> {
  const id = checkId(plan?.plan, 'plan');
  checkTime(nowMs, 'nowMs');
  return writeTx(sql, `storing plan ${id}`, async (tx) => {
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

export async function getPlan(
  sql: SqlClient,
  id: string,
  version?: number,
): Promise<PlanVersion | undefined> {
  const versions = await readTx(sql, `reading plan ${id}`, (tx) => loadPlanVersions(tx, [id]));
  const all = versions.get(id) ?? [];
  return version === undefined ? all[all.length - 1] : all.find((v) => v.version === version);
}

export async function listPlanVersions(sql: SqlClient, id: string): Promise<PlanVersion[]> {
  const versions = await readTx(sql, `reading plan ${id}`, (tx) => loadPlanVersions(tx, [id]));
  return versions.get(id) ?? [];
}

export async function listPlans(sql: SqlClient): Promise<PlanVersion[]> {
  return readTx(sql, 'listing plans', async (tx) => {
    const { rows } = await tx.query<{ plan_id: string; version: number; document: Plan }>(
      `SELECT DISTINCT ON (plan_id) plan_id, version, document FROM plan_versions
       ORDER BY plan_id, version DESC`,
    );
    return rows
      .map((r) => ({ id: r.plan_id, version: r.version, plan: r.document }))
      .sort((a, b) => byCodeUnits(a.id, b.id));
  });
}

/**
 * Checks that the plan can bill the account from `fromMs` on, and returns `fromMs`. Null (no
 * time given) means from `defaultMs`, or from when the plan first takes effect if that is
 * later: usage from before the plan existed has no price to be rated at.
 */
export async function checkPlan(
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
