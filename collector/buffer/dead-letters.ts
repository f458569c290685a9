// The dead-letter store: input the collector could not forward (invalid reports, records the
// rater rejected, outbox entries that failed their checksum) kept with the reason, so operators
// can see what was refused and why (Guarantee 3 in PRODUCT.md). It lives in the outbox's LevelDB
// under its own key prefix, and its writes go through the outbox's group commit, so a publish
// with good and bad elements becomes durable in one atomic batch.
//
// The same class keeps the quarantine (outbox entries that failed their checksum) under its own
// key prefix and cap (see `QUARANTINE_LAYOUT`): damaged usage is kept apart from refused input, so
// a flood of invalid reports can never push the evidence of a damaged record out.
//
// Cap policy: dead letters have their own byte cap (`deadLetterMaxBytes`), separate from the
// outbox's. They are always accepted; when the stored total would exceed the cap, the OLDEST
// dead letters are deleted in the same batch and counted in `dropped`. Refusing them instead
// would make devices retry invalid input forever, and the newest failures are the useful ones.
import type { ClassicLevel } from 'classic-level';
import {
  DEAD_LETTER_PREFIX,
  META_DEAD_LETTER_NEXT,
  META_QUARANTINE_NEXT,
  QUARANTINE_PREFIX,
  parseMetaNumber,
  parseSeqKey,
  prefixRange,
  seqKey,
  type BatchOp,
} from './codec.ts';

/** Stored payloads are cut to this size; the original size is kept beside them. */
export const DEAD_LETTER_PAYLOAD_MAX = 64 * 1024;

/** Where a store keeps its entries and its sequence high-water mark. */
export interface StoreLayout {
  prefix: string;
  nextKey: string;
}

export const DEAD_LETTER_LAYOUT: StoreLayout = {
  prefix: DEAD_LETTER_PREFIX,
  nextKey: META_DEAD_LETTER_NEXT,
};
export const QUARANTINE_LAYOUT: StoreLayout = {
  prefix: QUARANTINE_PREFIX,
  nextKey: META_QUARANTINE_NEXT,
};

export interface DeadLetterInput {
  /** Stable machine-readable code, e.g. INVALID_RECORD, CORRUPT_OUTBOX_ENTRY. */
  code: string;
  /** Human-readable reason. */
  reason: string;
  topic?: string;
  deviceId?: string;
  /** Quarantine: the outbox key the entry was stored under. */
  outboxKey?: string;
  payload?: Uint8Array;
  /** When it was received (dead letters) or found damaged (quarantine). */
  receivedMs: number;
}

export interface DeadLetter {
  /** Dead-letter sequence number (its own sequence, not the outbox's); never reused. */
  seq: bigint;
  code: string;
  reason: string;
  topic?: string;
  deviceId?: string;
  outboxKey?: string;
  /** The payload, at most DEAD_LETTER_PAYLOAD_MAX bytes. */
  payload?: Buffer;
  /** Size of the original payload (larger than `payload.length` when truncated). */
  payloadBytes?: number;
  payloadTruncated?: boolean;
  receivedMs: number;
}

/** JSON form on disk; the payload is base64. */
interface StoredDeadLetter extends Omit<DeadLetter, 'seq' | 'payload'> {
  payload?: string;
}

/** Operations for one batch, and what to change in memory once that batch is durable. */
export interface StagedDeadLetters {
  ops: BatchOp[];
  commit(): void;
}

export interface DeadLetterStats {
  count: number;
  bytes: number;
  /** Oldest dead letters deleted to stay under the cap, since this process opened the store. */
  dropped: number;
}

export class DeadLetterStore {
  /** Stored size per dead letter, in key order (Map keeps insertion order; seqs only grow). */
  private sizes = new Map<number, number>();
  private bytes = 0;
  private nextSeq = 1;
  private dropped = 0;

  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    private readonly maxBytes: number,
    private readonly layout: StoreLayout = DEAD_LETTER_LAYOUT,
  ) {}

  /** One scan of the entries (keys and sizes only are kept in memory); again after a reopen. */
  async load(): Promise<void> {
    // Scanned into a map of its own and swapped in when complete, so that the counters do not
    // read low while a reopen scans (see Outbox.load).
    const sizes = new Map<number, number>();
    let bytes = 0;
    let last = 0;
    const { prefix, nextKey } = this.layout;
    for await (const [key, value] of this.db.iterator(prefixRange(prefix))) {
      const seq = parseSeqKey(prefix, key);
      if (seq === undefined) continue;
      sizes.set(seq, value.length);
      bytes += value.length;
      last = seq;
    }
    this.sizes = sizes;
    this.bytes = bytes;
    // The high-water mark covers dead letters that were all dropped or deleted before a restart.
    const mark = parseMetaNumber(await this.db.get(nextKey));
    this.nextSeq = Math.max(this.nextSeq, last + 1, mark ?? 0);
  }

  /**
   * Assigns sequence numbers and builds the batch operations for `inputs`, including deletes of
   * the oldest dead letters when over the cap. Only the caller's serialized commit loop calls
   * this, and it calls `commit()` only after the batch is durable; sequence numbers of a failed
   * batch are simply never used.
   */
  stage(inputs: readonly DeadLetterInput[]): StagedDeadLetters {
    if (inputs.length === 0) return { ops: [], commit: () => {} };
    const added = inputs.map((input) => {
      const seq = this.nextSeq++;
      const value = Buffer.from(JSON.stringify(toStored(input)), 'utf8');
      return { seq, value };
    });
    let total = this.bytes + added.reduce((n, a) => n + a.value.length, 0);
    const dropOld: number[] = [];
    for (const [seq, size] of this.sizes) {
      if (total <= this.maxBytes) break;
      dropOld.push(seq);
      total -= size;
    }
    // Only when one batch alone exceeds the cap are some of its own (oldest) letters skipped.
    let skip = 0;
    while (total > this.maxBytes && skip < added.length) total -= added[skip++]?.value.length ?? 0;
    const kept = added.slice(skip);

    const ops: BatchOp[] = [
      ...dropOld.map((seq): BatchOp => ({ type: 'del', key: seqKey(this.layout.prefix, seq) })),
      ...kept.map((a): BatchOp => ({
        type: 'put',
        key: seqKey(this.layout.prefix, a.seq),
        value: a.value,
      })),
      { type: 'put', key: this.layout.nextKey, value: Buffer.from(String(this.nextSeq)) },
    ];
    return {
      ops,
      commit: () => {
        for (const seq of dropOld) {
          this.bytes -= this.sizes.get(seq) ?? 0;
          this.sizes.delete(seq);
        }
        for (const a of kept) {
          this.sizes.set(a.seq, a.value.length);
          this.bytes += a.value.length;
        }
        this.dropped += dropOld.length + skip;
      },
    };
  }

  count(): number {
    return this.sizes.size;
  }

  stats(): DeadLetterStats {
    return { count: this.sizes.size, bytes: this.bytes, dropped: this.dropped };
  }

  /** Entries in sequence order, starting after `afterSeq` (for paging). */
  async list(opts: { limit: number; afterSeq?: bigint | number }): Promise<DeadLetter[]> {
    const { prefix } = this.layout;
    const range = prefixRange(prefix);
    const after = opts.afterSeq === undefined ? undefined : Number(opts.afterSeq);
    const bounds = after === undefined ? range : { gt: seqKey(prefix, after), lt: range.lt };
    const out: DeadLetter[] = [];
    for await (const [key, value] of this.db.iterator({ ...bounds, limit: opts.limit })) {
      const seq = parseSeqKey(prefix, key);
      if (seq !== undefined) out.push(fromStored(seq, value));
    }
    return out;
  }
}

function toStored(input: DeadLetterInput): StoredDeadLetter {
  const stored: StoredDeadLetter = {
    code: input.code,
    reason: input.reason,
    receivedMs: input.receivedMs,
  };
  if (input.topic !== undefined) stored.topic = input.topic;
  if (input.deviceId !== undefined) stored.deviceId = input.deviceId;
  if (input.outboxKey !== undefined) stored.outboxKey = input.outboxKey;
  if (input.payload !== undefined) {
    const p = input.payload;
    const kept = p.length > DEAD_LETTER_PAYLOAD_MAX ? p.subarray(0, DEAD_LETTER_PAYLOAD_MAX) : p;
    stored.payload = Buffer.from(kept.buffer, kept.byteOffset, kept.length).toString('base64');
    stored.payloadBytes = p.length;
    if (kept.length < p.length) stored.payloadTruncated = true;
  }
  return stored;
}

/** Never throws: an unreadable dead letter is itself reported, not allowed to break the listing. */
function fromStored(seq: number, value: Buffer): DeadLetter {
  try {
    const s = JSON.parse(value.toString('utf8')) as StoredDeadLetter;
    const { payload, ...rest } = s;
    return payload === undefined
      ? { seq: BigInt(seq), ...rest }
      : { seq: BigInt(seq), ...rest, payload: Buffer.from(payload, 'base64') };
  } catch {
    return {
      seq: BigInt(seq),
      code: 'UNREADABLE_DEAD_LETTER',
      reason: 'stored dead letter is not valid JSON',
      payload: value.subarray(0, DEAD_LETTER_PAYLOAD_MAX),
      payloadBytes: value.length,
      receivedMs: 0,
    };
  }
}
