// Gives memory back after a burst. V8 collects old-generation garbage only when the program
// allocates more, so a collector that took a burst of publishes and then went quiet (a backlog
// held while the rater is down) kept the burst's garbage resident: measured 300 MB RSS holding
// 100,000 records, of which 42 MB of heap were live. After `idleMs` without activity following
// busy time, one full, memory-reducing collection runs (tens of ms, only when nothing happens).
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * V8's own `gc`, obtained without a command-line flag: the flag only has to be set when the
 * context that exposes it is created.
 */
export function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  // Called without options: a full, synchronous collection (with an options object, Node 20's
  // V8 was seen to leave unreachable objects alive).
  const gc = vm.runInNewContext('gc') as () => void;
  return () => gc();
}

export interface IdleGcOptions {
  idleMs: number;
  gc: () => void;
  now?: () => number;
}

export class IdleGc {
  private readonly now: () => number;
  private last = 0;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  /** Full collections run so far. */
  runs = 0;

  constructor(private readonly opts: IdleGcOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Something allocated a lot (publishes stored, batches forwarded). */
  noteBusy(): void {
    this.last = this.now();
    this.busy = true;
    this.schedule(this.opts.idleMs);
  }

  /** Collects if busy time was followed by `idleMs` of quiet; else waits for the rest. */
  tick(): void {
    this.timer = undefined;
    if (!this.busy) return;
    const quiet = this.now() - this.last;
    if (quiet < this.opts.idleMs) return this.schedule(this.opts.idleMs - quiet);
    this.busy = false;
    this.runs++;
    this.opts.gc();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.busy = false;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.opts.idleMs <= 0) return;
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }
}
