// Reading the catalog tables, and gathering a RatingInput: a few statements whatever the number
// of devices (a month of one account can be 1,000 devices × 8,928 rollup rows), and little work
// per row; where the plans allow, the rollups come summed (rating-summary.ts).
import { summarizable } from '../rating/aggregate.ts';
import type { Plan, PlanVersion } from '../rating/plan.ts';
import { buildSegments, type SegmentInputs } from '../rating/segments.ts';
import type {
  BillingPeriod,
  DeviceInput,
  RatingInput,
  RawRecord,
  Segment,
} from '../rating/types.ts';
import { byCodeUnits, byTime, iso, roundsPerRecord, type HistoryEntry } from './catalog-rules.ts';
import { parseMetersText } from './meters-text.ts';
import { int, msOf, sampleOf } from './rating-cells.ts';
import type { Reader } from './rating-cells.ts';
import { loadSummaries, type SummaryPlan } from './rating-summary.ts';
import type { SqlClient } from './sql.ts';

export interface AccountRow {
  account_id: string;
  name: string | null;
  currency: string;
  time_zone: string;
}

export interface PlanEntry extends HistoryEntry {
  planId: string;
}

export interface AssignmentEntry extends HistoryEntry {
  accountId: string | null;
  planId: string | null;
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

export async function readAccount(tx: SqlClient, id: string): Promise<AccountRow | undefined> {
  const { rows } = await tx.query<AccountRow>(
    `SELECT account_id, name, currency, time_zone FROM accounts WHERE account_id = $1`,
    [id],
  );
  return rows[0];
}

/** Every version of the given plans, oldest first per plan. */
export async function loadPlanVersions(
  tx: SqlClient,
  planIds: readonly string[],
): Promise<Map<string, PlanVersion[]>> {
  if (planIds.length === 0) return new Map();
  const { rows } = await tx.query<{ plan_id: string; version: number; document: Plan }>(
    `SELECT plan_id, version, document FROM plan_versions
     WHERE plan_id = ANY($1::text[]) ORDER BY plan_id, version`,
    [[...planIds]],
  );
  return groupBy(
    rows.map((r): PlanVersion => ({ id: r.plan_id, version: r.version, plan: r.document })),
    (v) => v.id,
  );
}

/** Plan histories of the given accounts (all accounts when null), oldest first. */
export async function loadAccountPlans(
  tx: SqlClient,
  accountIds: readonly string[] | null,
): Promise<Map<string, PlanEntry[]>> {
  const { rows } = await tx.query<{ account_id: string; seq: number; plan_id: string; ms: string }>(
    `SELECT account_id, seq, plan_id, ${msOf('effective_at')} AS ms FROM account_plans
     WHERE $1::text[] IS NULL OR account_id = ANY($1::text[])`,
    [accountIds === null ? null : [...accountIds]],
  );
  const byAccount = groupBy(rows, (r) => r.account_id);
  const out = new Map<string, PlanEntry[]>();
  for (const [id, list] of byAccount)
    out.set(
      id,
      byTime(
        list.map((r) => ({ seq: r.seq, planId: r.plan_id, fromMs: int(r.ms, 'effective time') })),
      ),
    );
  return out;
}

interface AssignmentRow {
  device_id: string;
  seq: number;
  account_id: string | null;
  plan_id: string | null;
  ms: string;
}

function histories(rows: readonly AssignmentRow[]): Map<string, AssignmentEntry[]> {
  const out = new Map<string, AssignmentEntry[]>();
  for (const [id, list] of groupBy(rows, (r) => r.device_id))
    out.set(
      id,
      byTime(
        list.map((r) => ({
          seq: r.seq,
          accountId: r.account_id,
          planId: r.plan_id,
          fromMs: int(r.ms, 'effective time'),
        })),
      ),
    );
  return out;
}

/** Assignment histories of the given devices, oldest first. */
export async function loadDeviceHistories(
  tx: SqlClient,
  deviceIds: readonly string[],
): Promise<Map<string, AssignmentEntry[]>> {
  const { rows } = await tx.query<AssignmentRow>(
    `SELECT device_id, seq, account_id, plan_id, ${msOf('effective_at')} AS ms
     FROM device_assignments WHERE device_id = ANY($1::text[])`,
    [[...deviceIds]],
  );
  return histories(rows);
}

/** Before any time a history can hold (the earliest instant a Date can represent). */
const BEFORE_ALL_MS = -8.64e15;

/** [fromMs, toMs) */
type Span = [number, number];

/**
 * See CatalogStore.loadRatingInput; undefined when the account does not exist. The rollups come
 * summed in SQL (rating-summary.ts) when the plans allow it, else row by row; `rows: true` asks
 * for them row by row anyway (the reference the summed form is tested against). `readers` run
 * the main summing statement on shares of the devices at once, on the snapshot of `tx`; `plan`
 * forces how the sums are read (rating-summary.ts chooses otherwise).
 */
export async function loadRatingInput(
  tx: SqlClient,
  accountId: string,
  period: BillingPeriod,
  asOfMs: number | undefined,
  opts: { rows?: boolean; readers?: Reader[]; plan?: SummaryPlan } = {},
): Promise<RatingInput | undefined> {
  const row = await readAccount(tx, accountId);
  if (!row) return undefined;
  const account = {
    id: row.account_id,
    ...(row.name === null ? {} : { name: row.name }),
    currency: row.currency,
    timeZone: row.time_zone,
  };
  const fromMs = period.startMs;
  const toMs = Math.min(period.endMs, asOfMs ?? Infinity);
  const input: RatingInput = {
    account,
    period,
    // Only an open period has an "as of": a closed one is rated whole and final.
    ...(asOfMs !== undefined && asOfMs < period.endMs ? { asOfMs } : {}),
    // Always set: the account's own timeline is known, even when it is empty (the engine
    // would otherwise derive one from the devices, and bill no account fee without them).
    accountSegments: [],
    plans: {},
    devices: [],
  };
  if (toMs <= fromMs) return input;

  // Histories: the account's plans, and the whole history of every device that ever named the
  // account (segments need the assignments before and after each stay in this account).
  const accountPlans = (await loadAccountPlans(tx, [accountId])).get(accountId) ?? [];
  const { rows: assignmentRows } = await tx.query<AssignmentRow>(
    `SELECT device_id, seq, account_id, plan_id, ${msOf('effective_at')} AS ms
     FROM device_assignments
     WHERE device_id IN (SELECT device_id FROM device_assignments WHERE account_id = $1)`,
    [accountId],
  );
  const deviceHistories = histories(assignmentRows);
  const planIds = new Set(accountPlans.map((p) => p.planId));
  for (const r of assignmentRows)
    if (r.account_id === accountId && r.plan_id !== null) planIds.add(r.plan_id);
  const planVersions = Object.fromEntries(await loadPlanVersions(tx, [...planIds]));

  const segmentsUnder = (assignments: SegmentInputs['assignments']): Segment[] => {
    const segments = buildSegments({
      accountId,
      timeZone: account.timeZone,
      fromMs,
      toMs,
      accountPlans,
      assignments,
      planVersions,
    });
    for (const s of segments) {
      const version = planVersions[s.planId]?.find((v) => v.version === s.planVersion);
      if (version) input.plans[`${s.planId}@${s.planVersion}`] = version;
    }
    return segments;
  };

  // The account's own plan timeline: its plan history under one assignment to the account in
  // force all along, so only plan changes and plan versions cut it (the versions of device
  // override plans cut it too, but buildSegments joins those pieces again).
  input.accountSegments = segmentsUnder([{ accountId, planId: null, fromMs: BEFORE_ALL_MS }]);

  const devices = new Map<string, DeviceInput>();
  for (const deviceId of [...deviceHistories.keys()].sort(byCodeUnits)) {
    const segments = segmentsUnder(deviceHistories.get(deviceId) ?? []);
    if (segments.length > 0) devices.set(deviceId, { deviceId, segments, samples: [] });
  }
  input.devices = [...devices.values()];
  if (devices.size === 0) return input;

  if (!opts.rows && summarizable(Object.values(input.plans)))
    await loadSummaries(tx, input, devices, fromMs, toMs, opts.readers, opts.plan);
  else await loadSamples(tx, devices, fromMs, toMs);
  await loadRecords(tx, devices, perRecordSpans(input));
  return input;
}

/**
 * Per device, the spans of its segments under a plan version that rounds per record (adjacent
 * ones joined); devices without such a segment are left out. Only there are raw records rated.
 */
function perRecordSpans(input: RatingInput): Map<string, Span[]> {
  const out = new Map<string, Span[]>();
  for (const d of input.devices) {
    const spans: Span[] = [];
    for (const s of d.segments) {
      const version = input.plans[`${s.planId}@${s.planVersion}`];
      if (!version || !roundsPerRecord(version.plan)) continue;
      const last = spans[spans.length - 1];
      if (last && last[1] === s.fromMs) last[1] = s.toMs;
      else spans.push([s.fromMs, s.toMs]);
    }
    if (spans.length > 0) out.set(d.deviceId, spans);
  }
  return out;
}

/** Adds the usage_5m rows with bucket in [fromMs, toMs) to `devices`' samples, in any order. */
async function loadSamples(
  tx: SqlClient,
  devices: Map<string, DeviceInput>,
  fromMs: number,
  toMs: number,
): Promise<void> {
  const { rows } = await tx.query<{
    device_id: string;
    ms: string;
    dims_key: string;
    dims: Record<string, string>;
    up: string;
    down: string;
    records: string;
    meters: string;
  }>(
    `SELECT device_id, ${msOf('bucket')} AS ms, dims_key, dims, up, down, records,
            meters::text AS meters
     FROM usage_5m
     WHERE device_id = ANY($1::text[]) AND bucket >= $2::timestamptz AND bucket < $3::timestamptz`,
    [[...devices.keys()], iso(fromMs), iso(toMs)],
  );
  for (const r of rows) {
    devices.get(r.device_id)?.samples.push(sampleOf(r, parseMetersText(r.meters)));
  }
}

/**
 * Sets `records` of each device in `spans` to its usage_records whose interval ends (ts) in
 * (fromMs, toMs] of one of its spans, in any order: the rating engine places a record at
 * ts - 1 ms, the rule the 5-minute rollups follow (a record ending exactly at 00:00 belongs to
 * the day before). Devices not in `spans` get no `records`. One statement for all devices.
 */
async function loadRecords(
  tx: SqlClient,
  devices: Map<string, DeviceInput>,
  spans: Map<string, Span[]>,
): Promise<void> {
  if (spans.size === 0) return;
  const ids: string[] = [];
  const froms: string[] = [];
  const tos: string[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const [deviceId, list] of spans)
    for (const [from, to] of list) {
      ids.push(deviceId);
      froms.push(iso(from));
      tos.push(iso(to));
      lo = Math.min(lo, from);
      hi = Math.max(hi, to);
    }
  const { rows } = await tx.query<{
    device_id: string;
    ms: string;
    dims: Record<string, string>;
    up: string;
    down: string;
    meters: string;
  }>(
    // The outer bounds repeat what the spans say, so TimescaleDB can skip chunks outside them.
    `SELECT r.device_id, ${msOf('r.ts')} AS ms, r.dims, r.up, r.down, r.meters::text AS meters
     FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s (device_id, from_ts, to_ts)
     JOIN usage_records r
       ON r.device_id = s.device_id AND r.ts > s.from_ts AND r.ts <= s.to_ts
     WHERE r.ts > $4::timestamptz AND r.ts <= $5::timestamptz`,
    [ids, froms, tos, iso(lo), iso(hi)],
  );
  const records = new Map<string, RawRecord[]>();
  for (const deviceId of spans.keys()) {
    const d = devices.get(deviceId);
    if (d) records.set(deviceId, (d.records = []));
  }
  for (const r of rows) {
    const record: RawRecord = {
      tsMs: int(r.ms, 'record time'),
      dims: r.dims,
      up: int(r.up, 'up bytes'),
      down: int(r.down, 'down bytes'),
      meters: parseMetersText(r.meters),
    };
    records.get(r.device_id)?.push(record);
  }
}
