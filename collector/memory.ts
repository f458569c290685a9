// Gives memory back after a burst. V8 collects old-generation garbage only when the program
// allocates more, so a collector that took a burst of publishes and then went quiet (a backlog
// held while the rater is down) kept the burst's garbage resident: measured 300 MB RSS holding
// 100,000 records, of which 42 MB of heap were live. After `idleMs` without activity following
// busy time, a full collection runs (tens of ms, only when nothing happens), and a second one
// after another `idleMs` of quiet.
//
// Each collection compacts. A plain full collection frees the burst's objects but keeps every
// page that still holds one live object, and the burst's survivors (records in flight, batches,
// connection state) lie scattered over many pages: measured 59 MB of old space holding 28 MB of
// objects after it. V8 compacts on its own only when it means to reduce memory, which a
// collector holding a backlog never asks it to; compacted, those pages are given back.
//
// The second collection gives back the young generation, which a burst grows to its maximum
// (2 × 16 MB) and which stays resident at that size. V8 shrinks it at a full collection only
// when the allocation rate it measured over the last 5 s is low, and at the first collection
// that window still reaches back into the burst (measured: 32 MB kept); at the second one it
// holds only the quiet time (measured: 2 MB, 132 MB RSS holding 100,000 records against 162).
//
// After each collection, malloc's freed memory goes back too (native/malloc-trim: glibc keeps the
// burst's freed chunks, 77–88 MB of the main thread's heap with 1 M records backlogged; holding
// them, 95–100 MB RSS with the trim against 162–180 without), when that addon was built.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  return () => {
    // Read by V8 when a full collection picks the pages to evacuate; set only for this one.
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

/** Where bin/build-native.js leaves the addon, from the package root. */
const ADDON = join('native', 'malloc-trim', 'build', 'Release', 'trim.node');

/**
 * glibc's malloc_trim(0) through native/malloc-trim, or undefined where it was not built (no
 * compiler at install time, not Linux). Found from this module's folder upwards: the sources
 * (collector/) and the bundle (dist/) both lie one level below the package root.
 */
export function mallocTrim(
  from = dirname(fileURLToPath(import.meta.url)),
): (() => boolean) | undefined {
  for (let dir = from, up = 0; up < 3; up++, dir = dirname(dir)) {
    const file = join(dir, ADDON);
    if (!existsSync(file)) continue;
    try {
      const addon = createRequire(import.meta.url)(file) as { trim?: unknown };
      return typeof addon.trim === 'function' ? (addon.trim as () => boolean) : undefined;
    } catch {
      return undefined; // built for another Node ABI or platform: as if absent
    }
  }
  return undefined;
}

export interface IdleGcOptions {
  idleMs: number;
  gc: () => void;
  /** Gives freed malloc memory back to the system, after each collection (mallocTrim). */
  trim?: (() => unknown) | undefined;
  now?: () => number;
}

export class IdleGc {
  private readonly now: () => number;
  /** The last busy time or collection: the quiet spell a collection waits for starts there. */
  private last = 0;
  /** Collections still to run in the current quiet spell (2 after busy time, then 1, 0). */
  private due = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Full collections run so far. */
  runs = 0;

  constructor(private readonly opts: IdleGcOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Something allocated a lot (publishes stored, batches forwarded). */
  noteBusy(): void {
    this.last = this.now();
    this.due = 2;
    this.schedule(this.opts.idleMs);
  }

  /**
   * Collects if busy time was followed by `idleMs` of quiet (else waits for the rest), and
   * once more `idleMs` later if it stays quiet.
   */
  tick(): void {
    this.timer = undefined;
    if (this.due === 0) return;
    const quiet = this.now() - this.last;
    if (quiet < this.opts.idleMs) return this.schedule(this.opts.idleMs - quiet);
    this.due--;
    this.runs++;
    this.opts.gc();
    // The collection freed the native memory its objects held (buffers, LevelDB batches).
    this.opts.trim?.();
    this.last = this.now();
    if (this.due > 0) this.schedule(this.opts.idleMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = 0;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.opts.idleMs <= 0) return;
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }
}
