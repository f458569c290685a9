// Quarantine of damaged outbox entries: an entry that fails its checksum, or a key the outbox
// never writes, is moved to the quarantine store (dead-letters.ts, QUARANTINE_LAYOUT) with its
// raw stored value and the reason, in the same batch that removes it from the outbox. It is never
// forwarded. The reader (reader.ts) finds such entries on its way; the outbox commits the move.
import { DEVICE_ID_RE } from '../../common/usage.ts';
import { UsageRecord } from '../../proto/index.ts';
import { bodyLength, frameProblem } from './codec.ts';
import type { Job } from './job.ts';
import type { CorruptEntry } from './reader.ts';

/** The group-commit job that moves entries that failed their checksum to the quarantine. */
export function quarantineJob(corrupt: readonly CorruptEntry[], receivedMs: number): Job {
  return {
    values: [],
    bytes: 0,
    deadLetters: [],
    quarantine: corrupt.map((c) => {
      const deviceId = c.seq === undefined ? undefined : guessDeviceId(c.value);
      return {
        code: 'CORRUPT_OUTBOX_ENTRY',
        reason:
          c.seq === undefined
            ? `outbox key ${c.key} is not one the outbox writes; its stored value is the payload`
            : `outbox entry ${c.key} is damaged (${frameProblem(c.value)}); it was not forwarded, its raw stored value is the payload` +
              (deviceId === undefined
                ? ''
                : `; it appears to be from device ${deviceId} (decoded despite the damage)`),
        outboxKey: c.key,
        ...(deviceId === undefined ? {} : { deviceId }),
        payload: c.value,
        receivedMs,
      };
    }),
    remove: corrupt.map((c) => ({ key: c.key, seq: c.seq, bytes: bodyLength(c.value) })),
  };
}

/** The device of a damaged entry, if its bytes still decode to a plausible record. */
function guessDeviceId(value: Buffer): string | undefined {
  try {
    const id = UsageRecord.decode(value.subarray(4)).deviceId;
    return typeof id === 'string' && DEVICE_ID_RE.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
