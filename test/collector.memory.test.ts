// The idle collection that gives a burst's memory back (collector/memory.ts), and the malloc
// trim after it (native/malloc-trim, built by `npm ci` where a C compiler is present).
import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../chaos/procs.ts';
import { silentLogger } from '../common/logger.ts';
import { Collector } from '../collector/collector.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { IdleGc, fullGc, mallocTrim } from '../collector/memory.ts';
import { freePort, tempDir } from './helpers/stack.ts';

describe('IdleGc', () => {
  it('collects after busy time is followed by idleMs of quiet and once more idleMs later, never while busy', () => {
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
      t = 2000;
      idle.tick();
      expect(collections).toBe(1); // the second one waits another idleMs
      t = 2600;
      idle.tick();
      expect(collections).toBe(2); // now V8 sees a quiet allocation rate
      t = 9000;
      idle.tick();
      expect(collections).toBe(2); // quiet since: twice is enough
      idle.noteBusy();
      t = 10_000;
      idle.tick();
      expect(collections).toBe(3);
      t = 10_500;
      idle.noteBusy(); // busy again before the second: it waits for a new quiet spell
      t = 11_000;
      idle.tick();
      expect(collections).toBe(3);
      t = 11_500;
      idle.tick();
      expect(collections).toBe(4);
      expect(idle.runs).toBe(4);
    } finally {
      idle.stop();
    }
  });

  it('gives malloc memory back after each collection, not before', () => {
    let t = 0;
    const calls: string[] = [];
    const idle = new IdleGc({
      idleMs: 100,
      gc: () => calls.push('gc'),
      trim: () => calls.push('trim'),
      now: () => t,
    });
    try {
      idle.noteBusy();
      t = 100;
      idle.tick();
      t = 200;
      idle.tick();
      expect(calls).toEqual(['gc', 'trim', 'gc', 'trim']);
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

  it('compacts: the pages of a burst whose survivors lie scattered are given back', async () => {
    const gc = fullGc();
    const old = () => {
      const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
      if (!s) throw new Error('no old space');
      return { size: s.space_size, free: s.space_size - s.space_used_size };
    };
    // About 40 MB of small objects, promoted to the old generation, then all but one in 200
    // dropped: every page keeps a few survivors, so only compaction can free it.
    let burst: Array<{ i: number; s: string }> = [];
    for (let i = 0; i < 500_000; i++) burst.push({ i, s: `record ${i} `.repeat(4) });
    gc();
    const before = old();
    burst = burst.filter((_, i) => i % 200 === 0);
    await new Promise((r) => setImmediate(r));
    gc();
    const after = old();
    expect(burst.length).toBe(2500);
    // Without compaction the freed 30+ MB stay inside the old space's pages.
    expect(before.size - after.size).toBeGreaterThan(20 * 2 ** 20);
    expect(after.free).toBeLessThan(10 * 2 ** 20);
  });
});

describe('Collector idle collection', () => {
  it('runs after start-up and the outbox scan, with no publish or batch at all', async () => {
    const dir = await tempDir();
    let collections = 0;
    const config = loadCollectorConfig({
      env: {},
      flags: {
        mqttListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        rater: `127.0.0.1:${await freePort()}`,
        bufferDir: dir.path,
        quotaWatch: false,
        gcWhenIdleMs: 50,
      },
    });
    const collector = await new Collector(config, {
      logger: silentLogger(),
      gc: () => collections++,
    }).start();
    try {
      await waitFor(() => (collections >= 2 ? true : undefined), 'two idle collections', 10_000);
    } finally {
      await collector.close();
      await dir.remove();
    }
  });
});

const trim = mallocTrim();

describe('mallocTrim (native/malloc-trim)', () => {
  it('is absent, not an error, where the addon was not built', () => {
    expect(mallocTrim('/nonexistent/edgemeter/dist')).toBeUndefined();
  });

  // Built on Linux with a compiler (CI checks that it was: .ci/run); elsewhere there is nothing
  // to call.
  it.skipIf(trim === undefined)(
    "returns the freed chunks that malloc's heap keeps to the system",
    () => {
      // In a process of its own: 60 MB of 1,000-byte buffers (each its own malloc chunk), all
      // but one in 50 freed. Survivors all over the heap: glibc's free() can return none of it.
      const script = `
        const rss = () => process.memoryUsage().rss / 2 ** 20;
        let keep = [];
        for (let i = 0; i < 60000; i++) keep.push(Buffer.allocUnsafeSlow(1000).fill(1));
        keep = keep.filter((_, i) => i % 50 === 0);
        gc(); gc();
        const before = rss();
        const { mallocTrim } = await import(${JSON.stringify(new URL('../collector/memory.ts', import.meta.url).href)});
        const released = mallocTrim()();
        console.log(JSON.stringify({ before, after: rss(), released, kept: keep.length }));`;
      const out = JSON.parse(
        execFileSync(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
          { encoding: 'utf8' },
        ),
      ) as { before: number; after: number; released: boolean; kept: number };
      expect(out.kept).toBe(1200);
      expect(out.released).toBe(true);
      expect(out.before - out.after).toBeGreaterThan(30);
    },
    30_000,
  );
});
