// The idle collection that gives a burst's memory back (collector/memory.ts).
import { describe, expect, it } from 'vitest';
import { IdleGc, fullGc } from '../collector/memory.ts';

describe('IdleGc', () => {
  it('collects once after busy time is followed by idleMs of quiet, never while busy', () => {
    let t = 0;
    let collections = 0;
    const idle = new IdleGc({ idleMs: 1000, gc: () => collections++, now: () => t });
    try {
      idle.tick();
      expect(collections).toBe(0); // never busy: nothing to give back
      idle.noteBusy();
      t = 600;
      idle.noteBusy();
      t = 1500;
      idle.tick();
      expect(collections).toBe(0); // 900 ms quiet only
      t = 1600;
      idle.tick();
      expect(collections).toBe(1);
      t = 9000;
      idle.tick();
      expect(collections).toBe(1); // quiet since: once is enough
      expect(idle.runs).toBe(1);
    } finally {
      idle.stop();
    }
  });

  it('runs a real full collection that frees unreachable memory', async () => {
    const gc = fullGc();
    const ref = (() => new WeakRef({ payload: Buffer.alloc(1024) }))();
    // A WeakRef keeps its target alive until the current job ends.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(ref.deref()).toBeUndefined();
  });
});
