// Reopening the database after a failed write. A failed LevelDB write may leave a torn record in
// its log, and LevelDB can then lose later writes to that log, even synced ones; the outbox
// refuses every write (state 'recovering', see storeFailed in outbox.ts) and runs this loop: let
// what is in flight finish, close and reopen the database (which replays the log up to the torn
// record and starts a new one), reload the in-memory state. Attempts that fail (the disk still
// full) are retried with a growing delay, until one succeeds or the outbox closes.
import type { ClassicLevel } from 'classic-level';
import { errorMessage } from './errors.ts';
import type { BufferLogger } from './types.ts';

/** Delay between attempts to reopen the database after a failed write. */
const REOPEN_FIRST_MS = 100;
const REOPEN_MAX_MS = 5_000;

export interface ReopenHooks {
  db: ClassicLevel<string, Buffer>;
  logger: BufferLogger;
  /** Whether the outbox is still recovering (false once it is closing). */
  recovering: () => boolean;
  /** Waits for the reads, acks, commits and compaction in flight. */
  settled: () => Promise<void>;
  /** Rebuilds the in-memory state from the reopened database. */
  load: () => Promise<void>;
  /** The database is open and loaded again, after `attempts` attempts; still recovering. */
  reopened: (attempts: number) => void;
}

export class Reopener {
  private readonly stop = new AbortController();

  constructor(private readonly hooks: ReopenHooks) {}

  /** Resolves once the database is reopened, or the outbox is closing. */
  async run(): Promise<void> {
    const { db, logger } = this.hooks;
    for (let attempt = 0; this.hooks.recovering(); attempt++) {
      // Whatever is in flight fails fast now (the state refuses it); let it finish first.
      await this.hooks.settled();
      if (!this.hooks.recovering()) return;
      try {
        await db.close();
        if (!this.hooks.recovering()) return;
        await db.open();
        await this.hooks.load();
      } catch (err) {
        await db.close().catch(() => {});
        const delay = Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** Math.min(attempt, 10));
        if (attempt % 10 === 0)
          logger.warn(
            { err: errorMessage(err), attempt, retryInMs: delay },
            'cannot reopen the buffer yet (is the disk still full?); will retry',
          );
        await this.sleep(delay);
        continue;
      }
      if (!this.hooks.recovering()) return; // closing: close() closes the database
      this.hooks.reopened(attempt + 1);
      return;
    }
  }

  /** Cuts a wait between attempts short, now and from now on (the outbox is closing). */
  abort(): void {
    this.stop.abort();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stop.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }
}
