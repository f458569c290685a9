// The quota change log: every change of a device's quota status, in one ordered sequence that
// collectors stream from (QuotaService.Watch) and resume after a disconnect without missing a
// change. Appends are serialized (a transaction-scoped advisory lock), so sequence order is
// commit order and "everything after seq N" is a complete answer on every replica.
import type { DeviceQuotaStatus } from '../../common/quota.ts';

export interface QuotaChange {
  seq: bigint;
  deviceId: string;
  status: DeviceQuotaStatus;
}

export interface QuotaLog {
  /** Appends statuses (their `seq` is assigned here) and returns them as stored. */
  append(statuses: Array<Omit<DeviceQuotaStatus, 'seq'>>): Promise<QuotaChange[]>;
  /** Changes with seq > `after`, oldest first, at most `limit`. */
  after(after: bigint, limit: number): Promise<QuotaChange[]>;
  /** The latest change of each device, for devices after `afterDevice` in id order (paging). */
  latest(afterDevice: string | undefined, limit: number): Promise<QuotaChange[]>;
  /** Highest seq appended so far (0 when none). */
  head(): Promise<bigint>;
}
