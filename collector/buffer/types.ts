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

export interface OutboxOptions {
  /** LevelDB directory (created if missing). */
  dir: string;
  /** Cap on buffered record bytes (encoded records; LevelDB overhead comes on top). 1 GiB. */
  maxBytes?: number;
  /** Cap on stored dead-letter bytes; the oldest are dropped beyond it. 32 MiB. */
  deadLetterMaxBytes?: number;
  /** Acked entries between two compactions of the acked key range. 10,000. */
  compactEvery?: number;
  now?: () => number;
  /** Called before every batch write; if it throws, the write fails (fault injection in tests). */
  beforeWrite?: (kind: 'commit' | 'ack') => void | Promise<void>;
  logger?: BufferLogger;
}

export interface OutboxStats {
  records: number;
  bytes: number;
  maxBytes: number;
  /** Oldest unacked entry; see Outbox.oldest() for its receive time. */
  oldestSeq?: bigint;
  nextSeq: bigint;
  deadLetters: number;
  deadLetterBytes: number;
  /** This and the counters below count since this process opened the outbox. */
  deadLettersDropped: number;
  /** Entries that failed their checksum and were moved to the dead letters. */
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
