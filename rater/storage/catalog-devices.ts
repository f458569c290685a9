// Devices in the SQL catalog (catalog-store.ts): assigning a device to an account (optionally
// with a plan override) from a given time, appended to its history, and reading the histories.
import { periodAt } from '../rating/period.ts';
import type { DeviceAssignment, DeviceView, PutDeviceInput, PutResult } from './catalog.ts';
import { byTime, checkOpenPeriod, checkTime, inForceAt, iso, stretches } from './catalog-rules.ts';
import { loadDeviceHistories, type AssignmentEntry } from './catalog-sql.ts';
import { readAccountRef } from './catalog-accounts.ts';
import { checkPlan } from './catalog-plans.ts';
import { checkId, invalid, nextSeq, readTx, writeTx } from './catalog-tx.ts';
import { appendAudit, type Actor } from './audit.ts';
import type { SqlClient } from './sql.ts';

export async function putDevice(
  sql: SqlClient,
  input: PutDeviceInput,
  nowMs: number,
  actor: Actor,
): Promise<PutResult<DeviceView>> {
  const id = checkId(input.id, 'device');
  const accountId = input.accountId === null ? null : checkId(input.accountId, 'account');
  const planId =
    input.planId === undefined || input.planId === null ? null : checkId(input.planId, 'plan');
  if (accountId === null && planId !== null)
    invalid(`device ${id}: a plan override needs an account`);
  if (input.fromMs !== undefined) checkTime(input.fromMs, 'fromMs');
  checkTime(nowMs, 'nowMs');

  return writeTx(sql, `storing device ${id}`, async (tx) => {
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
      fromMs = await checkPlan(
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

export async function getDevice(sql: SqlClient, id: string): Promise<DeviceView | undefined> {
  const histories = await readTx(sql, `reading device ${id}`, (tx) =>
    loadDeviceHistories(tx, [id]),
  );
  const history = histories.get(id);
  return history ? deviceView(id, history) : undefined;
}

export async function getDevices(
  sql: SqlClient,
  ids: readonly string[],
): Promise<Map<string, DeviceView>> {
  const histories = await readTx(sql, `reading ${ids.length} devices`, (tx) =>
    loadDeviceHistories(tx, ids),
  );
  const out = new Map<string, DeviceView>();
  for (const [id, history] of histories) out.set(id, deviceView(id, history));
  return out;
}

export async function accountsOfDevice(
  sql: SqlClient,
  deviceId: string,
  fromMs: number,
  toMs: number,
): Promise<string[]> {
  const histories = await readTx(sql, `reading device ${deviceId}`, (tx) =>
    loadDeviceHistories(tx, [deviceId]),
  );
  const out: string[] = [];
  for (const s of stretches(histories.get(deviceId) ?? [])) {
    const a = s.entry.accountId;
    if (a !== null && s.fromMs < toMs && s.toMs > fromMs && !out.includes(a)) out.push(a);
  }
  return out;
}

function describe(accountId: string | null, planId: string | null): string {
  if (accountId === null) return 'no account';
  return planId === null ? `account ${accountId}` : `account ${accountId} with plan ${planId}`;
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
