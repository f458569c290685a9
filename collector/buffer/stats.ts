// The outbox's counters and its stats snapshot (OutboxStats in types.ts): in memory, no I/O.
import type { DeadLetterStats } from './dead-letters.ts';
import type { BufferFullPolicy, OutboxStats } from './types.ts';

/** Event counters since the outbox was created (reported in this order). */
export function newCounters() {
  return {
    corrupt: 0,
    batchWrites: 0,
    appended: 0,
    acked: 0,
    dropped: 0,
    droppedBytes: 0,
    storeErrors: 0,
    recoveries: 0,
  };
}

export type OutboxCounters = ReturnType<typeof newCounters>;

/** What the stats are made of, as the outbox holds it. */
export interface StatsSources {
  state: OutboxStats['state'];
  records: number;
  bytes: number;
  maxBytes: number;
  fullPolicy: BufferFullPolicy;
  minFreeBytes: number;
  disk: { free: number | undefined; low: boolean };
  lastStoreError: string | undefined;
  /** The lowest live sequence number. */
  min: number | undefined;
  nextSeq: number;
  deadLetters: DeadLetterStats;
  quarantine: DeadLetterStats;
  counters: OutboxCounters;
  compactions: number;
}

export function outboxStats(s: StatsSources): OutboxStats {
  const { deadLetters: dl, quarantine: q, min } = s;
  return {
    state: s.state,
    records: s.records,
    bytes: s.bytes,
    maxBytes: s.maxBytes,
    fullPolicy: s.fullPolicy,
    minFreeBytes: s.minFreeBytes,
    ...(s.disk.free === undefined ? {} : { diskFree: s.disk.free }),
    diskLow: s.disk.low,
    ...(s.lastStoreError === undefined ? {} : { lastStoreError: s.lastStoreError }),
    oldestSeq: min === undefined ? undefined : BigInt(min),
    nextSeq: BigInt(s.nextSeq),
    deadLetters: dl.count,
    deadLetterBytes: dl.bytes,
    deadLettersDropped: dl.dropped,
    quarantined: q.count,
    quarantineBytes: q.bytes,
    quarantineDropped: q.dropped,
    ...s.counters,
    compactions: s.compactions,
  };
}
