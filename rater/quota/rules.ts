// Which quota rules apply to a device now: device → account → plan in force → version in force
// → quotas. Kept for `ttlMs` (another replica's catalog changes are seen within it) and dropped
// at once on catalog changes made through this process (`invalidate`).
import type { QuotaRule } from '../../common/quota.ts';
import type { PlanVersion } from '../rating/plan.ts';
import { quotaRules } from '../rating/quota-plan.ts';
import { inForce, planVersionAt } from '../rating/segments.ts';
import type { CatalogStore, DeviceView } from '../storage/catalog.ts';

export interface DeviceRules {
  deviceId: string;
  accountId?: string;
  timeZone: string;
  /** The account's devices now (a pooled quota sums them). */
  accountDevices: string[];
  plan?: PlanVersion;
  rules: QuotaRule[];
}

export interface AccountRules {
  accountId: string;
  timeZone: string;
  devices: string[];
  plan?: PlanVersion;
}

interface Entry<T> {
  atMs: number;
  value: T;
}

export class QuotaRules {
  private readonly devices = new Map<string, Entry<DeviceRules>>();
  private readonly accounts = new Map<string, Entry<AccountRules | undefined>>();

  constructor(
    private readonly catalog: CatalogStore,
    private readonly ttlMs: number,
  ) {}

  invalidate(): void {
    this.devices.clear();
    this.accounts.clear();
  }

  async forDevice(deviceId: string, nowMs: number): Promise<DeviceRules> {
    const hit = this.devices.get(deviceId);
    if (hit && nowMs - hit.atMs < this.ttlMs) return hit.value;
    const value = await this.resolveDevice(deviceId, nowMs);
    this.devices.set(deviceId, { atMs: nowMs, value });
    return value;
  }

  /**
   * forDevice of several devices: those not cached are looked up in one catalog read (a tick
   * after a busy ingest holds many devices, most of them without quotas).
   */
  async forDevices(ids: readonly string[], nowMs: number): Promise<Map<string, DeviceRules>> {
    const out = new Map<string, DeviceRules>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.devices.get(id);
      if (hit && nowMs - hit.atMs < this.ttlMs) out.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    if (!this.catalog.getDevices) {
      for (const id of missing) out.set(id, await this.forDevice(id, nowMs));
      return out;
    }
    const views = await this.catalog.getDevices(missing);
    for (const id of missing) {
      const value = await this.resolveView(id, views.get(id), nowMs);
      this.devices.set(id, { atMs: nowMs, value });
      out.set(id, value);
    }
    return out;
  }

  async forAccount(accountId: string, nowMs: number): Promise<AccountRules | undefined> {
    const hit = this.accounts.get(accountId);
    if (hit && nowMs - hit.atMs < this.ttlMs) return hit.value;
    const account = await this.catalog.getAccount(accountId, nowMs);
    let value: AccountRules | undefined;
    if (account) {
      const planId = inForce(account.plans, nowMs)?.planId;
      const plan = planId ? await this.versionAt(planId, nowMs, account.timeZone) : undefined;
      value = {
        accountId,
        timeZone: account.timeZone,
        devices: account.devices,
        ...(plan ? { plan } : {}),
      };
    }
    this.accounts.set(accountId, { atMs: nowMs, value });
    return value;
  }

  /** A plan version's quota rules. */
  forPlan(plan: PlanVersion): QuotaRule[] {
    return quotaRules(plan.id, plan.plan);
  }

  private async resolveDevice(deviceId: string, nowMs: number): Promise<DeviceRules> {
    return this.resolveView(deviceId, await this.catalog.getDevice(deviceId), nowMs);
  }

  private async resolveView(
    deviceId: string,
    device: DeviceView | undefined,
    nowMs: number,
  ): Promise<DeviceRules> {
    const none: DeviceRules = { deviceId, timeZone: 'UTC', accountDevices: [], rules: [] };
    const a = device && inForce(device.assignments, nowMs);
    if (!a?.accountId) return none;
    const account = await this.forAccount(a.accountId, nowMs);
    if (!account) return none;
    const plan = a.planId ? await this.versionAt(a.planId, nowMs, account.timeZone) : account.plan;
    return {
      deviceId,
      accountId: account.accountId,
      timeZone: account.timeZone,
      accountDevices: account.devices,
      ...(plan ? { plan } : {}),
      rules: plan ? quotaRules(plan.id, plan.plan) : [],
    };
  }

  private async versionAt(planId: string, nowMs: number, timeZone: string) {
    return planVersionAt(await this.catalog.listPlanVersions(planId), nowMs, timeZone);
  }
}

/**
 * The catalog with a hook after every change made through it (put*): the rules cache of this
 * process is dropped at once instead of after its TTL.
 */
export function notifyingCatalog(catalog: CatalogStore, changed: () => void): CatalogStore {
  return new Proxy(catalog, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      const fn = v as (...args: unknown[]) => unknown;
      if (typeof prop === 'string' && prop.startsWith('put'))
        return async (...args: unknown[]) => {
          const out: unknown = await fn.apply(target, args);
          changed();
          return out;
        };
      return fn.bind(target);
    },
  });
}
