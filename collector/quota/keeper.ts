// Enforcement at the edge: the rater's last decision for each device plus the usage this
// collector accepted since (common/quota.ts `withLocalUsage`). It publishes the result retained
// on quota/{deviceId} and each crossing once on quota/{deviceId}/notice, answers the HTTP
// lookups, and keeps enforcing from its own store while the rater is unreachable. Records come
// from the intake after their PUBACK-gating write and are folded in off that path, in batches.
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import {
  addSample,
  crossingEvent,
  QDec,
  withLocalUsage,
  worstState,
  type DeviceQuotaStatus,
  type QuotaEvent,
  type QuotaStatus,
  type QuotaUsage,
} from '../../common/quota.ts';
import { recordKey, type UsageRecord } from '../../common/usage.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { poolId, type DeviceEntry, type LocalUsage, type QuotaStore } from './store.ts';

/**
 * Where quota messages go: the embedded broker, or the upstream broker in bridge mode. Does not
 * wait for delivery (an upstream broker may be away for long) and reports its own failures.
 */
export interface QuotaPublisher {
  publish(topic: string, payload: Buffer, opts: { retain: boolean }): void;
}

/** What goes out on quota/{deviceId}/notice: one crossing, once per threshold and window. */
export interface QuotaNotice extends QuotaEvent {
  deviceId: string;
  source: 'rater' | 'collector';
}

export interface QuotaKeeperDeps {
  store: QuotaStore;
  publisher: QuotaPublisher;
  logger: Logger;
  metrics?: Pick<CollectorMetrics, 'quotaUpdates' | 'quotaMessages'>;
  now?: () => number;
}

const toUsage = (l: LocalUsage | undefined): QuotaUsage => ({
  counted: new QDec(l?.counted ?? 0),
  zeroRated: new QDec(l?.zeroRated ?? 0),
});
const fromUsage = (u: QuotaUsage): LocalUsage => ({
  counted: u.counted.toFixed(),
  zeroRated: u.zeroRated.toFixed(),
});
const isZero = (l: LocalUsage | undefined) =>
  l === undefined || (new QDec(l.counted).isZero() && new QDec(l.zeroRated).isZero());

export class QuotaKeeper {
  private readonly now: () => number;
  private pending: UsageRecord[] = [];
  /**
   * Recent record keys per device: a QoS 1 retransmission (a lost PUBACK) is stored again by the
   * outbox and deduplicated by the rater, and must not count twice here either. In memory and
   * bounded: it catches retransmissions, which come soon after the original.
   */
  private readonly recent = new Map<string, Set<string>>();
  private flushing: Promise<void> | undefined;

  constructor(private readonly deps: QuotaKeeperDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Republishes every stored device's view (retained messages do not survive a restart). */
  async restore(): Promise<void> {
    for (const id of this.deps.store.devices.keys()) await this.publishView(id, true);
  }

  /** The intake's hook: O(1), never throws; the work happens on a later tick. */
  accepted(records: UsageRecord[]): void {
    if (records.length === 0) return;
    for (const r of records) this.pending.push(r);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.fold())
      .catch((err: unknown) =>
        this.deps.logger.warn({ err: errorMessage(err) }, 'quota: local usage not recorded'),
      )
      .finally(() => (this.flushing = undefined));
  }

  /** Resolves when records handed to `accepted` so far are folded in (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** A rater decision from the Watch stream. Older than what is stored: ignored. */
  async applyRater(seq: string, status: DeviceQuotaStatus): Promise<void> {
    const { store } = this.deps;
    const id = status.deviceId;
    const prev = store.devices.get(id);
    if (prev && BigInt(prev.status.seq) >= BigInt(seq)) {
      await store.save([], [], maxSeq(store.lastSeq, seq));
      return;
    }
    // Records accepted after this decision are not in it; the ones before it are.
    const entry: DeviceEntry = {
      status: { ...status, seq },
      local: {},
      noticed: prev?.noticed ?? [],
      ...(prev?.published ? { published: prev.published } : {}),
    };
    store.devices.set(id, entry);
    const pools: string[] = [];
    for (const q of status.quotas) {
      if (q.scope !== 'account' || q.accountId === undefined) continue;
      const pid = poolId(q.accountId, q.key);
      const p = store.pools.get(pid);
      if (p && BigInt(p.seq) >= BigInt(seq)) continue;
      store.pools.set(pid, { quota: q, seq, local: { counted: '0', zeroRated: '0' } });
      pools.push(pid);
    }
    const notices = (status.events ?? []).filter((e) => this.markNoticed(entry, e));
    await store.save([id], pools, maxSeq(store.lastSeq, seq));
    this.deps.metrics?.quotaUpdates.inc();
    for (const e of notices) this.notice(id, 'rater', e);
    // A fresher pool changes the view of every device of that account here.
    const affected = new Set([id, ...this.devicesOfPools(pools)]);
    for (const d of affected) await this.publishView(d, d === id);
  }

  /** The device's status as this collector enforces it now; undefined when never decided. */
  view(deviceId: string): DeviceQuotaStatus | undefined {
    const entry = this.deps.store.devices.get(deviceId);
    if (!entry) return undefined;
    let local = false;
    const quotas = entry.status.quotas.map((q) => {
      const { base, usage } = this.baseOf(entry, q);
      if (isZero(usage)) return base;
      local = true;
      return withLocalUsage(base, toUsage(usage));
    });
    const state = worstState(quotas.map((q) => q.state));
    const rates = quotas.filter((q) => q.state === 'throttled').map((q) => q.throttleBps);
    const bps = rates.filter((r): r is number => r !== undefined);
    // Crossings go out once, as notices; the retained state does not repeat them.
    const rest: DeviceQuotaStatus = { ...entry.status };
    delete rest.events;
    return {
      ...rest,
      state,
      ...(state === 'throttled' && bps.length > 0 ? { throttleBps: Math.min(...bps) } : {}),
      ...(local ? { source: 'collector', updatedAt: new Date(this.now()).toISOString() } : {}),
      quotas,
    };
  }

  /** Device ids with a status, in id order, after `after`. */
  list(after: string | undefined, limit: number): string[] {
    return [...this.deps.store.devices.keys()]
      .filter((id) => after === undefined || id > after)
      .sort()
      .slice(0, limit);
  }

  private baseOf(entry: DeviceEntry, q: QuotaStatus): { base: QuotaStatus; usage?: LocalUsage } {
    if (q.scope === 'account' && q.accountId !== undefined) {
      const p = this.deps.store.pools.get(poolId(q.accountId, q.key));
      if (p) return { base: p.quota, usage: p.local };
    }
    const usage = entry.local[q.key];
    return usage ? { base: q, usage } : { base: q };
  }

  private async fold(): Promise<void> {
    const { store } = this.deps;
    const records = this.pending;
    this.pending = [];
    const devices = new Set<string>();
    const pools = new Set<string>();
    const before = new Map<string, number[]>();
    // The devices of each pool touched, found once per batch (it scans every device).
    const members = new Map<string, string[]>();
    const membersOf = (pid: string) => {
      let m = members.get(pid);
      if (!m) members.set(pid, (m = this.devicesOfPools([pid])));
      return m;
    };
    for (const r of records) {
      const entry = store.devices.get(r.deviceId);
      if (!entry || this.seenBefore(r)) continue;
      for (const q of entry.status.quotas) {
        const { base } = this.baseOf(entry, q);
        // A record outside the window of the decision belongs to a window the collector does
        // not know yet; the rater's next status will count it.
        const t = r.endMs;
        if (t < Date.parse(base.windowStart) || t >= Date.parse(base.windowEnd)) continue;
        const sample = { up: r.up, down: r.down, meters: r.meters, dims: r.dims };
        if (q.scope === 'account' && q.accountId !== undefined) {
          const pid = poolId(q.accountId, q.key);
          const p = store.pools.get(pid);
          if (!p) continue;
          this.remember(before, ...membersOf(pid));
          p.local = fromUsage(addSample(base.rule, toUsage(p.local), sample));
          pools.add(pid);
        } else {
          this.remember(before, r.deviceId);
          entry.local[q.key] = fromUsage(addSample(q.rule, toUsage(entry.local[q.key]), sample));
        }
        devices.add(r.deviceId);
      }
    }
    if (devices.size === 0 && pools.size === 0) return;
    await store.save(devices, pools);
    // State first, then notices: a device that gets a notice finds the retained state agreeing.
    for (const id of before.keys()) await this.publishView(id, false);
    for (const [id, levels] of before) await this.localCrossings(id, levels);
  }

  private seenBefore(r: UsageRecord): boolean {
    const key = recordKey(r);
    let keys = this.recent.get(r.deviceId);
    if (!keys) this.recent.set(r.deviceId, (keys = new Set()));
    if (keys.has(key)) return true;
    keys.add(key);
    if (keys.size > RECENT_KEYS) keys.delete(keys.values().next().value as string);
    return false;
  }

  /** Levels of each quota of the device before this batch, to find local crossings after it. */
  private remember(before: Map<string, number[]>, ...ids: string[]): void {
    for (const id of ids)
      if (!before.has(id)) before.set(id, this.view(id)?.quotas.map((q) => q.level) ?? []);
  }

  private async localCrossings(id: string, levelsBefore: number[]): Promise<void> {
    const entry = this.deps.store.devices.get(id);
    const view = this.view(id);
    if (!entry || !view) return;
    const notices: QuotaEvent[] = [];
    view.quotas.forEach((q, i) => {
      for (let level = (levelsBefore[i] ?? -1) + 1; level <= q.level; level++) {
        const e = crossingEvent(q, level, q.windowStart, new Date(this.now()).toISOString());
        if (!e) continue;
        if (this.markNoticed(entry, e)) notices.push(e);
      }
    });
    if (notices.length === 0) return;
    await this.deps.store.save([id], []);
    for (const e of notices) this.notice(id, 'collector', e);
  }

  /** True the first time a crossing (key, window, level) is seen for the device. */
  private markNoticed(entry: DeviceEntry, e: QuotaEvent): boolean {
    const mark = `${e.key}|${e.windowStart}|${e.level}`;
    if (entry.noticed.includes(mark)) return false;
    // Marks of windows the device's statuses no longer mention are of no further use.
    const windows = new Set(entry.status.quotas.map((q) => `${q.key}|${q.windowStart}|`));
    windows.add(`${e.key}|${e.windowStart}|`);
    entry.noticed = entry.noticed.filter((n) => windows.has(n.slice(0, n.lastIndexOf('|') + 1)));
    entry.noticed.push(mark);
    return true;
  }

  private devicesOfPools(pools: string[]): string[] {
    if (pools.length === 0) return [];
    const wanted = new Set(pools);
    const out: string[] = [];
    for (const [id, e] of this.deps.store.devices)
      if (
        e.status.quotas.some(
          (q) => q.accountId !== undefined && wanted.has(poolId(q.accountId, q.key)),
        )
      )
        out.push(id);
    return out;
  }

  private notice(deviceId: string, source: QuotaNotice['source'], e: QuotaEvent): void {
    const n: QuotaNotice = { ...e, deviceId, source };
    this.publish(`quota/${deviceId}/notice`, n, false);
    this.deps.metrics?.quotaMessages.inc({ kind: 'notice', source });
  }

  /** Publishes the retained view when forced (a rater decision) or when state/levels changed. */
  private async publishView(id: string, force: boolean): Promise<void> {
    const entry = this.deps.store.devices.get(id);
    const view = this.view(id);
    if (!entry || !view) return;
    const signature = JSON.stringify([
      view.state,
      view.throttleBps,
      view.quotas.map((q) => q.level),
    ]);
    if (!force && signature === entry.published) return;
    if (signature !== entry.published) {
      entry.published = signature;
      await this.deps.store.save([id], []);
    }
    this.publish(`quota/${id}`, view, true);
    this.deps.metrics?.quotaMessages.inc({ kind: 'state', source: view.source });
  }

  private publish(topic: string, body: unknown, retain: boolean): void {
    this.deps.publisher.publish(topic, Buffer.from(JSON.stringify(body)), { retain });
  }
}

const RECENT_KEYS = 256;

function maxSeq(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}
