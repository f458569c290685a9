// The outbox's disk reserve (Guarantee 3 in PRODUCT.md): appends that would leave less than
// `minFreeBytes` free on the buffer's file system are refused with BUFFER_FULL, so LevelDB keeps
// the room it needs to delete, compact and reopen. Free space is read (statfs) before each group
// commit that adds data, and every second while it is low, for readiness; except far from the
// reserve (below), where a group commit goes by a reading of the last quarter second minus what
// the outbox added since, and the reading is refreshed beside the write instead of before it.
import fs from 'node:fs/promises';
import { BufferError } from './errors.ts';
import type { BufferLogger } from './types.ts';

/** How often free disk space is re-read while it is low (for readiness). */
const RECHECK_MS = 1_000;
/**
 * The disk counts as low (not ready; acked ranges compacted at once to win space back) below
 * this many times `minFreeBytes`, a little before appends are refused and until a publish is
 * likely to fit again.
 */
const LOW_FACTOR = 1.25;
/**
 * A group commit that would leave at least this many times `minFreeBytes` free by the last
 * reading (less everything the outbox added since) does not wait for statfs. Awaiting it put a
 * thread-pool round trip before every synced write: 6 % of end-to-end throughput, measured.
 * Near the reserve every commit reads first, as before.
 */
const FAR_FACTOR = 4;
/** How old that reading may be, in ms; a commit at half of it refreshes it in the background. */
const FRESH_MS = 250;

async function statfsFree(dir: string): Promise<number | undefined> {
  try {
    const s = await fs.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined; // unknown: the guard does not apply
  }
}

export interface DiskGuardOptions {
  dir: string;
  /** 0 turns the reserve off. */
  minFreeBytes: number;
  /** Free bytes of the file system holding `dir` (tests); default statfs. */
  diskFree?: (dir: string) => Promise<number | undefined>;
  logger: BufferLogger;
  /** Whether the outbox is open (rechecks stop otherwise). */
  isOpen: () => boolean;
  /** Milliseconds, for the age of a reading (tests); default performance.now. */
  now?: () => number;
  /** Wins space back while the disk is low (compacting acked ranges at once). */
  reclaim: () => void;
}

/** One group-commit job as the guard sees it: does it add data, and how many bytes on disk. */
export interface DiskNeed {
  adds: boolean;
  bytes: number;
}

export class DiskGuard {
  /** The last free space read, in bytes (undefined: unknown or never read). */
  free: number | undefined;
  low = false;
  private refusing = false;
  private timer: NodeJS.Timeout | undefined;
  /** When `free` was read, and `added` at that moment. */
  private readAt = -Infinity;
  private addedAtRead = 0;
  /** Bytes admitted since the guard was made. */
  private added = 0;
  private refreshing: Promise<unknown> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: DiskGuardOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Re-reads the free space of the buffer's file system; keeps re-reading while it is low. */
  async check(): Promise<number | undefined> {
    const read = this.opts.diskFree ?? statfsFree;
    // What is admitted while statfs runs counts against the new reading, whether or not the
    // reading already saw it: an overestimate of what was added, never an under.
    const at = this.now();
    const addedBefore = this.added;
    const free = await read(this.opts.dir).catch(() => undefined);
    this.free = free;
    this.readAt = at;
    this.addedAtRead = addedBefore;
    if (free !== undefined && this.opts.minFreeBytes > 0)
      this.setLow(free < this.opts.minFreeBytes * LOW_FACTOR);
    return free;
  }

  /**
   * Per job, BUFFER_FULL for each job that adds data when what they add would leave less than
   * the reserve; jobs that take entries out (dead-lettering, quarantine) always pass.
   */
  async admit(jobs: readonly DiskNeed[]): Promise<Array<Error | undefined>> {
    const refused: Array<Error | undefined> = jobs.map(() => undefined);
    const { minFreeBytes } = this.opts;
    if (minFreeBytes <= 0 || !jobs.some((j) => j.adds)) return refused;
    const adding = jobs.reduce((n, j) => (j.adds ? n + j.bytes : n), 0);
    if (this.farFromReserve(adding)) {
      this.added += adding;
      if (this.now() - this.readAt > FRESH_MS / 2) this.refresh();
      return refused;
    }
    const free = await this.check();
    if (free === undefined) return refused;
    if (this.low) this.opts.reclaim();
    if (free - adding >= minFreeBytes) {
      this.refusing = false;
      this.added += adding;
      return refused;
    }
    const err = new BufferError(
      'BUFFER_FULL',
      `disk nearly full: ${free} bytes free on the buffer's file system, ${minFreeBytes} kept in reserve (bufferMinFreeBytes)`,
    );
    jobs.forEach((j, i) => {
      if (j.adds) refused[i] = err;
    });
    if (!this.refusing)
      this.opts.logger.warn(
        { free, minFreeBytes, dir: this.opts.dir },
        'disk nearly full: refusing new records until space is freed',
      );
    this.refusing = true;
    this.setLow(true);
    return refused;
  }

  /** The last reading, less what was added since, leaves FAR_FACTOR × the reserve; and is fresh. */
  private farFromReserve(adding: number): boolean {
    if (this.free === undefined || this.low || this.now() - this.readAt > FRESH_MS) return false;
    const left = this.free - (this.added - this.addedAtRead) - adding;
    return left >= this.opts.minFreeBytes * FAR_FACTOR;
  }

  private refresh(): void {
    this.refreshing ??= this.check().finally(() => (this.refreshing = undefined));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private setLow(low: boolean): void {
    this.low = low;
    if (low && this.timer === undefined && this.opts.isOpen()) {
      this.timer = setInterval(() => {
        if (this.opts.isOpen()) void this.check();
      }, RECHECK_MS);
      this.timer.unref();
    } else if (!low) this.stop();
  }
}
