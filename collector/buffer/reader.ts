// The forwarder's read side of the outbox: an in-memory cursor over the outbox keys. Reading
// continues `gt: cursor`, so acked entries (LevelDB tombstones until compaction) at the front
// are never iterated again; after a restart the cursor starts at the first key.
//
// Everything up to the cursor (and up to the entries a read in progress has already taken) has
// been handed out, so it may be in flight to the rater: `frontier()` tells the drop-oldest policy
// where unsent entries begin, and `hold()` keeps reads from handing out what it is dropping.
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

export interface ReaderHooks {
  /** Moves corrupt entries out of the outbox; a failure fails the read. */
  quarantine(corrupt: CorruptEntry[]): Promise<void>;
  /**
   * Whether an entry still on disk (in the read's snapshot) was already taken out of the outbox:
   * acked, quarantined or dropped. Such an entry is skipped, never handed out again.
   */
  gone(seq: number): boolean;
}

const OUTBOX_END = prefixRange(OUTBOX_PREFIX).lt;
/** LevelDB reads at least this much per call (and a batch's byte limit plus this at most). */
const READ_AHEAD_MIN_BYTES = 64 * 1024;

export class OutboxReader {
  /** Last key handed out (or quarantined); reading continues after it. */
  private cursor = OUTBOX_PREFIX;
  /** Last key a read in progress has taken, before it moves the cursor there. */
  private scanning: string | undefined;
  /** While set, no key after `key` is handed out (entries being dropped lie there). */
  private barrier: { key: string; until: Promise<unknown> } | undefined;
  /** Bumped by rewind, so a read that was in flight does not move the cursor past it. */
  private generation = 0;
  private reads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    /** The outbox's live sequence numbers (read only here). */
    private readonly live: SeqSet,
    private readonly hooks: ReaderHooks,
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

  /** The last key handed out or being handed out: entries after it were never sent. */
  frontier(): string {
    return this.scanning !== undefined && this.scanning > this.cursor ? this.scanning : this.cursor;
  }

  /**
   * Until `until` settles, reads hand out nothing after `key` (they return what they have, or
   * wait). Set and lifted synchronously with `frontier()`, so no entry is both taken by a read
   * and picked by the caller.
   */
  hold(key: string, until: Promise<unknown>): void {
    const barrier = { key, until };
    this.barrier = barrier;
    void until.finally(() => {
      if (this.barrier === barrier) this.barrier = undefined;
    });
  }

  private async readOnce(maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    for (;;) {
      const generation = this.generation;
      const out: OutboxEntry[] = [];
      const corrupt: CorruptEntry[] = [];
      let total = 0;
      let last = this.cursor;
      let held: Promise<unknown> | undefined;
      // Entries come in arrays (nextv), as many as the batch still needs in one call into
      // LevelDB: `for await` paid an async step per entry and fetched at most 16 KB per call,
      // about 270 entries here (measured: the read was a third of the collector's CPU while
      // draining a backlog).
      const it = this.db.iterator({
        gt: this.cursor,
        lt: OUTBOX_END,
        highWaterMarkBytes: Math.max(READ_AHEAD_MIN_BYTES, maxBytes + READ_AHEAD_MIN_BYTES),
      });
      try {
        scan: for (;;) {
          const chunk = await it.nextv(Math.max(1, maxRecords - out.length));
          if (chunk.length === 0) break;
          for (const [key, value] of chunk) {
            if (this.barrier !== undefined && key > this.barrier.key) {
              held = this.barrier.until;
              break scan;
            }
            const seq = parseSeqKey(OUTBOX_PREFIX, key);
            if (seq !== undefined && this.hooks.gone(seq)) {
              last = this.scanning = key;
              continue;
            }
            const body = seq === undefined ? undefined : unframe(value);
            if (seq === undefined || body === undefined) {
              // Never crash or block on a bad entry: set it aside and carry on with the next.
              corrupt.push({ key, seq, value });
              last = this.scanning = key;
              if (corrupt.length >= maxRecords) break scan;
              continue;
            }
            if (out.length > 0 && total + body.length > maxBytes) break scan;
            out.push({ seq: BigInt(seq), bytes: body });
            total += body.length;
            last = this.scanning = key;
            if (out.length >= maxRecords) break scan;
          }
        }
        await it.close();
        if (corrupt.length > 0) await this.hooks.quarantine(corrupt);
      } catch (err) {
        await it.close().catch(() => {});
        this.scanning = undefined;
        if (err instanceof BufferError) throw err;
        throw new BufferError('STORE_FAILED', `outbox read failed: ${String(err)}`, {
          cause: err,
        });
      }
      if (generation === this.generation) this.cursor = last;
      this.scanning = undefined;
      // Stopped at entries being dropped with nothing to show: wait for the drop, then go on.
      if (held !== undefined && out.length === 0 && corrupt.length === 0) {
        await held.catch(() => {});
        continue;
      }
      return out;
    }
  }
}
