// Public types of the durable buffer (see outbox.ts).
import type { DeadLetterInput } from './dead-letters.ts';

/** An outbox entry. `seq` is a bigint (within the safe-integer range), increasing in key order. */
export interface OutboxEntry {
  seq: bigint;
  /** The protobuf-encoded UsageRecord, without the checksum. */
  bytes: Buffer;
}

/** Structural subset of a pino logger. */
export interface BufferLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * What an append does when the records would not fit under `maxBytes`:
 * - `refuse`: it fails with BUFFER_FULL and nothing is written (the device keeps its data);
 * - `drop-oldest`: the oldest entries not yet handed to the forwarder are deleted in the same
 *   synced batch as the new records, and counted (`dropped`). Entries in flight are never
 *   dropped; when those alone leave no room, the append fails with BUFFER_FULL after all.
 */
export type BufferFullPolicy = 'refuse' | 'drop-oldest';

/** One drop-oldest event: the entries deleted to make room for one group commit. */
export interface DropInfo {
  records: number;
  bytes: number;
  firstSeq: bigint;
  lastSeq: bigint;
}

export interface OutboxOptions {
  /** LevelDB directory (created if missing). */
  dir: string;
  /** Cap on buffered record bytes (encoded records; LevelDB overhead comes on top). 1 GiB. */
  maxBytes?: number;
  /** What happens at `maxBytes`. Default `refuse`. */
  fullPolicy?: BufferFullPolicy;
  /**
   * Free space to keep on the file system of `dir`: appends that would leave less are refused
   * with BUFFER_FULL (acks, dead-lettering of forwarded entries and quarantine still run), so
   * LevelDB keeps the room it needs to delete, compact and reopen. 0 (the default) disables it.
   */
  minFreeBytes?: number;
  /** Cap on stored dead-letter bytes; the oldest are dropped beyond it. 32 MiB. */
  deadLetterMaxBytes?: number;
  /** Cap on stored quarantine bytes; the oldest are dropped beyond it. 32 MiB. */
  quarantineMaxBytes?: number;
  /** Called once per drop-oldest event (the outbox logs it too). */
  onDrop?: (info: DropInfo) => void;
  /** Free bytes on the file system holding `dir` (tests); default: statfs. */
  diskFree?: (dir: string) => Promise<number | undefined>;
  /** Acked entries between two compactions of the acked key range. 10,000. */
  compactEvery?: number;
  now?: () => number;
  /**
   * Called before every batch write; if it throws, the write fails (fault injection in tests).
   * Unlike a LevelDB failure, this leaves the database untouched, so it does not make the outbox
   * reopen it.
   */
  beforeWrite?: (kind: 'commit' | 'ack') => void | Promise<void>;
  logger?: BufferLogger;
}

export interface OutboxStats {
  /** `recovering`: a LevelDB write failed and the database is being reopened; writes refused. */
  state: 'new' | 'open' | 'recovering' | 'closing' | 'closed';
  records: number;
  bytes: number;
  maxBytes: number;
  fullPolicy: BufferFullPolicy;
  /** Entries deleted by drop-oldest, and their record bytes. */
  dropped: number;
  droppedBytes: number;
  minFreeBytes: number;
  /** Free bytes on the buffer's file system at the last check (undefined: never checked). */
  diskFree?: number;
  /**
   * The file system is below 1.25 × `minFreeBytes` (appends are refused below `minFreeBytes`):
   * the collector reports not ready, and compacts acked entries at once to win space back.
   */
  diskLow: boolean;
  /** LevelDB write failures, and successful reopens after them. */
  storeErrors: number;
  recoveries: number;
  lastStoreError?: string;
  /** Oldest unacked entry; see Outbox.oldest() for its receive time. */
  oldestSeq?: bigint;
  nextSeq: bigint;
  deadLetters: number;
  deadLetterBytes: number;
  /** This and the counters below count since this process opened the outbox. */
  deadLettersDropped: number;
  /** Entries in the quarantine store (damaged outbox entries), their bytes, and those dropped. */
  quarantined: number;
  quarantineBytes: number;
  quarantineDropped: number;
  /** Entries that failed their checksum and were moved to the quarantine. */
  corrupt: number;
  /** Synced group-commit batch writes (one fsync each). */
  batchWrites: number;
  appended: number;
  acked: number;
  compactions: number;
}

export interface AppendInfo {
  records: number;
  lastSeq: bigint;
}

export type AppendListener = (info: AppendInfo) => void;

/** Moves an entry handed out by readBatch to the dead letters (e.g. the rater rejected it). */
export interface DeadLetterEntry {
  entry: OutboxEntry;
  letter: Omit<DeadLetterInput, 'payload'>;
}
