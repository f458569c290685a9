// Which plan version rates a device's usage when, inside one account and one period: the
// device's assignment history, the account's plan history and each plan's versions cut the
// period into segments. Pure; storage loads the histories, this decides.
import { effectiveInstant } from './period.ts';
import type { PlanVersion } from './plan.ts';
import type { Segment } from './types.ts';

export interface SegmentInputs {
  accountId: string;
  timeZone: string;
  /** [fromMs, toMs): the period, clipped to "now" for an open period. */
  fromMs: number;
  toMs: number;
  /** The account's plan history (any order). */
  accountPlans: Array<{ planId: string; fromMs: number }>;
  /** The device's assignment history (any order). */
  assignments: Array<{ accountId: string | null; planId: string | null; fromMs: number }>;
  /** Every version of every plan the histories name. */
  planVersions: Record<string, PlanVersion[]>;
}

/** The entry in force at `t` in a time-sorted history: the latest `fromMs <= t` (later entries win ties). */
export function inForce<T extends { fromMs: number }>(sorted: T[], t: number): T | undefined {
  let found: T | undefined;
  for (const e of sorted) {
    if (e.fromMs <= t) found = e;
    else break;
  }
  return found;
}

/**
 * The version in force at `t`: the highest version number whose effective time has come. A
 * new version supersedes every older one from its effective time on, even one dated later
 * (a correction dated 25 November replaces a version that was to start on 1 December).
 */
export function planVersionAt(
  versions: PlanVersion[],
  t: number,
  timeZone: string,
): PlanVersion | undefined {
  let best: PlanVersion | undefined;
  for (const v of versions)
    if (
      effectiveInstant(v.plan.effective_from, timeZone) <= t &&
      (!best || v.version > best.version)
    )
      best = v;
  return best;
}

export function buildSegments(i: SegmentInputs): Segment[] {
  if (i.toMs <= i.fromMs) return [];
  const byTime = <T extends { fromMs: number }>(xs: T[]) =>
    xs.map((x, n) => ({ ...x, n })).sort((a, b) => a.fromMs - b.fromMs || a.n - b.n);
  const assignments = byTime(i.assignments);
  const accountPlans = byTime(i.accountPlans);

  const cuts = new Set<number>([i.fromMs]);
  const addCut = (t: number) => {
    if (t > i.fromMs && t < i.toMs) cuts.add(t);
  };
  for (const a of assignments) addCut(a.fromMs);
  for (const p of accountPlans) addCut(p.fromMs);
  for (const versions of Object.values(i.planVersions))
    for (const v of versions) addCut(effectiveInstant(v.plan.effective_from, i.timeZone));
  const points = [...cuts].sort((a, b) => a - b);

  const out: Segment[] = [];
  points.forEach((from, n) => {
    const to = points[n + 1] ?? i.toMs;
    const a = inForce(assignments, from);
    if (!a || a.accountId !== i.accountId) return;
    const planId = a.planId ?? inForce(accountPlans, from)?.planId;
    if (!planId) return;
    const version = planVersionAt(i.planVersions[planId] ?? [], from, i.timeZone);
    // No version in force yet: the catalog refuses such assignments, so this is unreachable
    // in practice; the span stays unrated rather than priced under a plan not yet valid.
    if (!version) return;
    const last = out[out.length - 1];
    if (
      last &&
      last.toMs === from &&
      last.planId === planId &&
      last.planVersion === version.version
    )
      last.toMs = to;
    else out.push({ fromMs: from, toMs: to, planId, planVersion: version.version });
  });
  return out;
}
