// LevelDB deletes are tombstones; a queue that deletes from the front leaves a growing run of
// them that every read crossing the range has to skip until compaction drops them. This compacts
// the acked range every `every` deletions (or at once on `flush`, when the disk runs low), in the
// background, never two at a time; a failure is logged (the data is intact, only slower to scan)
// and the range is retried with the next one.
import type { BufferLogger } from './types.ts';

export class RangeCompactor {
  private deleted = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private running: Promise<void> | undefined;
  private stopped = false;
  compactions = 0;

  constructor(
    private readonly every: number,
    /** Compacts sequence numbers lo..hi inclusive. */
    private readonly compact: (lo: number, hi: number) => Promise<void>,
    private readonly logger: BufferLogger,
    /** Called after each compaction, whatever its outcome. */
    private readonly onDone?: () => void,
  ) {}

  noteDeleted(seqs: readonly number[]): void {
    for (const s of seqs) {
      if (s < this.lo) this.lo = s;
      if (s > this.hi) this.hi = s;
    }
    this.deleted += seqs.length;
    if (this.deleted >= this.every) this.flush();
  }

  /**
   * Compacts the range deleted so far now, whatever its size (when the disk runs low, the space
   * of acked entries is wanted back at once). No-op while one runs; resolves when it finished.
   */
  flush(): Promise<void> {
    if (this.running !== undefined || this.stopped || this.deleted === 0) return this.idle();
    const { lo, hi } = this;
    this.deleted = 0;
    this.lo = Infinity;
    this.hi = -Infinity;
    this.running = this.compact(lo, hi)
      .then(
        () => void this.compactions++,
        (err: unknown) => {
          this.logger.warn({ err: String(err), lo, hi }, 'outbox compaction failed');
          this.lo = Math.min(this.lo, lo);
          this.hi = Math.max(this.hi, hi);
        },
      )
      .finally(() => {
        this.running = undefined;
        this.onDone?.();
      });
    return this.running;
  }

  /** Resolves when a running compaction has finished. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** No new compactions; resolves when a running one has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }
}
