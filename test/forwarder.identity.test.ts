// The record identity the forwarder reads from encoded records without a full decode must be the
// rater's dedupe key: device id plus `s:{boot}:{seq}` or `i:{id}` (common/usage.ts recordKey).
import { describe, expect, it } from 'vitest';
import { recordIdentity } from '../collector/forward/record-identity.ts';
import { recordKey } from '../common/usage.ts';
import { UsageRecord, type UsageRecordMsg } from '../proto/index.ts';

const base: UsageRecordMsg = {
  deviceId: 'gw:dev-1',
  endMs: 1_700_000_000_000,
  up: 5,
  down: 6,
  meters: { sms: 2 },
  dims: { zone: 'eu' },
  receivedMs: 1_700_000_000_500,
};

describe('recordIdentity', () => {
  it.each([
    { seq: 0 },
    { seq: 42, boot: 'b:7' },
    { seq: Number.MAX_SAFE_INTEGER },
    { id: 'evt-9' },
    { id: '' },
  ])('matches the dedupe key for %o', (key) => {
    const bytes = UsageRecord.encode({ ...base, ...key }).finish();
    const expected = `gw:dev-1\u0000${recordKey(key as { seq?: number; id?: string; boot?: string })}`;
    expect(recordIdentity(bytes)).toBe(expected);
  });

  it('tells apart what the rater tells apart', () => {
    const a = recordIdentity(UsageRecord.encode({ ...base, seq: 1 }).finish());
    const b = recordIdentity(UsageRecord.encode({ ...base, seq: 1, boot: 'x' }).finish());
    const c = recordIdentity(
      UsageRecord.encode({ ...base, deviceId: 'gw:dev-2', seq: 1 }).finish(),
    );
    const d = recordIdentity(UsageRecord.encode({ ...base, seq: 1, up: 999 }).finish());
    expect(new Set([a, b, c]).size).toBe(3);
    expect(d).toBe(a); // other content, same key: a conflict, which is what must stay ordered
  });
});
