// The collector's quota memory, in its own LevelDB under `${bufferDir}/quota` (apart from the
// outbox: losing it costs a fresh snapshot from the rater, never usage). It holds what offline
// enforcement needs across a restart: the last rater status of each device, the freshest status
// of each pooled quota, the usage accepted locally since those statuses, what was noticed, and
// the seq to resume the rater's stream after. Everything is also kept in memory; the database is
// written in one batch per change.
import { ClassicLevel } from 'classic-level';
import type { DeviceQuotaStatus, QuotaStatus } from '../../common/quota.ts';

/** Usage accepted locally under one quota since its base status: exact decimal strings. */
export interface LocalUsage {
  counted: string;
  zeroRated: string;
}

export interface DeviceEntry {
  /** The last status the rater decided for the device. */
  status: DeviceQuotaStatus;
  /** Device-scope quotas: usage accepted since `status`, by quota key. */
  local: Record<string, LocalUsage>;
  /** Crossings noticed on quota/{id}/notice: `${key}|${windowStart}|${level}`. */
  noticed: string[];
  /** What the retained message last said (state and levels), to publish only on a change. */
  published?: string;
}

/** A pooled (account-scope) quota: the freshest rater status of it, from any device's update. */
export interface PoolEntry {
  quota: QuotaStatus;
  seq: string;
  local: LocalUsage;
}

export const poolId = (accountId: string, key: string) => `${accountId}|${key}`;

export class QuotaStore {
  private readonly db: ClassicLevel<string, string>;
  readonly devices = new Map<string, DeviceEntry>();
  readonly pools = new Map<string, PoolEntry>();
  lastSeq = '0';

  constructor(dir: string) {
    this.db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
  }

  async open(): Promise<void> {
    await this.db.open();
    for await (const [k, v] of this.db.iterator()) {
      if (k === 'seq') this.lastSeq = v;
      else if (k.startsWith('dev!')) this.devices.set(k.slice(4), JSON.parse(v) as DeviceEntry);
      else if (k.startsWith('pool!')) this.pools.set(k.slice(5), JSON.parse(v) as PoolEntry);
    }
  }

  /** Writes the named entries (as they are in memory now) and the seq, atomically. */
  async save(devices: Iterable<string>, pools: Iterable<string>, seq?: string): Promise<void> {
    const batch = this.db.batch();
    for (const id of new Set(devices)) {
      const e = this.devices.get(id);
      if (e) batch.put(`dev!${id}`, JSON.stringify(e));
    }
    for (const id of new Set(pools)) {
      const p = this.pools.get(id);
      if (p) batch.put(`pool!${id}`, JSON.stringify(p));
    }
    if (seq !== undefined) {
      this.lastSeq = seq;
      batch.put('seq', seq);
    }
    await batch.write();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
