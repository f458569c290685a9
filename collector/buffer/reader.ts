// The forwarder's read side of the outbox: an in-memory cursor over the outbox keys. Reading
// continues `gt: cursor`, so acked entries (LevelDB tombstones until compaction) at the front
// are never iterated again; after a restart the cursor starts at the first key.
import type { ClassicLevel } from 'classic-level';
import { BufferError } from './errors.ts';
import { OUTBOX_PREFIX, parseSeqKey, prefixRange, seqKey, unframe } from './codec.ts';
import type { SeqSet } from './seq-set.ts';
import type { OutboxEntry } from './types.ts';

/** An outbox value that failed its checksum (or a key this module did not write). */
export interface CorruptEntry {
  key: string;
  seq: number | undefined;
  value: Buffer;
}

const OUTBOX_END = prefixRange(OUTBOX_PREFIX).lt;

export class OutboxReader {
  /** Last key handed out (or quarantined); reading continues after it. */
  private cursor = OUTBOX_PREFIX;
  /** Bumped by rewind, so a read that was in flight does not move the cursor past it. */
  private generation = 0;
  private reads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    /** The outbox's live sequence numbers (read only here). */
    private readonly live: SeqSet,
    /** Moves corrupt entries out of the outbox; a failure fails the read. */
    private readonly quarantine: (corrupt: CorruptEntry[]) => Promise<void>,
  ) {}

  /** Serialized, so two concurrent calls never hand out the same entries. */
  read(maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    const run = this.reads.then(() => this.readOnce(maxRecords, maxBytes));
    this.reads = run.catch(() => {});
    return run;
  }

  /** Resolves when the reads started so far have finished. */
  idle(): Promise<unknown> {
    return this.reads;
  }

  /**
   * Back to the first unacked entry. Every live entry at or before the cursor was handed out,
   * so the smallest live sequence number is exactly where re-reading must start.
   */
  rewind(): void {
    this.generation++;
    const min = this.live.min;
    if (min === undefined) return; // nothing unacked: nothing to go back to
    const key = seqKey(OUTBOX_PREFIX, min - 1);
    if (key < this.cursor) this.cursor = key;
  }

  hasUnread(): boolean {
    const max = this.live.max;
    return max !== undefined && seqKey(OUTBOX_PREFIX, max) > this.cursor;
  }

  private async readOnce(maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    const generation = this.generation;
    const out: OutboxEntry[] = [];
    const corrupt: CorruptEntry[] = [];
    let total = 0;
    let last = this.cursor;
    try {
      for await (const [key, value] of this.db.iterator({ gt: this.cursor, lt: OUTBOX_END })) {
        const seq = parseSeqKey(OUTBOX_PREFIX, key);
        const body = seq === undefined ? undefined : unframe(value);
        if (seq === undefined || body === undefined) {
          // Never crash or block on a bad entry: set it aside and carry on with the next.
          corrupt.push({ key, seq, value });
          last = key;
          if (corrupt.length >= maxRecords) break;
          continue;
        }
        if (out.length > 0 && total + body.length > maxBytes) break;
        out.push({ seq: BigInt(seq), bytes: body });
        total += body.length;
        last = key;
        if (out.length >= maxRecords) break;
      }
    } catch (err) {
      throw new BufferError('STORE_FAILED', `outbox read failed: ${String(err)}`, { cause: err });
    }
    if (corrupt.length > 0) await this.quarantine(corrupt);
    if (generation === this.generation) this.cursor = last;
    return out;
  }
}
