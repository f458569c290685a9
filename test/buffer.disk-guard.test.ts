// The outbox's disk reserve (collector/buffer/disk-guard.ts): when a group commit reads the free
// space first, and when it may go by the last reading.
import { describe, expect, it } from 'vitest';
import { DiskGuard } from '../collector/buffer/disk-guard.ts';

const RESERVE = 10_000;

function guard(free: () => number) {
  let clock = 0;
  let reads = 0;
  const g = new DiskGuard({
    dir: '/nowhere',
    minFreeBytes: RESERVE,
    diskFree: async () => {
      reads++;
      return free();
    },
    logger: { warn: () => {} },
    isOpen: () => false,
    reclaim: () => {},
    now: () => clock,
  });
  const admit = async (bytes: number) => (await g.admit([{ adds: true, bytes }]))[0];
  return {
    g,
    admit,
    reads: () => reads,
    tick: (ms: number) => (clock += ms),
    // Lets a background refresh finish.
    settle: () => new Promise((r) => setTimeout(r, 0)),
  };
}

describe('disk guard', () => {
  it('far from the reserve, commits go by a fresh reading less what they added', async () => {
    const t = guard(() => 1e9);
    expect(await t.admit(1000)).toBeUndefined();
    expect(t.reads()).toBe(1);
    for (let i = 0; i < 50; i++) expect(await t.admit(1000)).toBeUndefined();
    expect(t.reads()).toBe(1); // no read while the reading is fresh (the clock did not move)
    // At half the freshness a commit still goes by it, and refreshes it beside the write.
    t.tick(200);
    expect(await t.admit(1000)).toBeUndefined();
    await t.settle();
    expect(t.reads()).toBe(2);
  });

  it('reads before the commit once the reading is stale, and sees the disk taken meanwhile', async () => {
    let free = 1e9;
    const t = guard(() => free);
    expect(await t.admit(1000)).toBeUndefined();
    free = 5_000; // another program filled the disk
    t.tick(300);
    expect(await t.admit(1000)).toMatchObject({ code: 'BUFFER_FULL' });
    expect(t.reads()).toBe(2);
    expect(t.g.low).toBe(true);
  });

  it('near the reserve, every commit reads first', async () => {
    const t = guard(() => 4 * RESERVE + 1000);
    for (let i = 0; i < 5; i++) expect(await t.admit(1000)).toBeUndefined();
    // 4 × the reserve + 1,000 bytes, less the 1,000 added since the last reading and the 1,000
    // adding, is below 4 × the reserve: never far enough to go without reading.
    expect(t.reads()).toBe(5);
  });

  it('counts what the outbox added since the reading: crossing below 4 × the reserve reads again', async () => {
    const t = guard(() => 4 * RESERVE + 10_000);
    expect(await t.admit(1000)).toBeUndefined(); // read 1: 50,000 free
    expect(t.reads()).toBe(1);
    // Left by the reading: 50,000 − 1,000 added − 4,000 = 45,000 ≥ 40,000: no read.
    expect(await t.admit(4000)).toBeUndefined();
    expect(t.reads()).toBe(1);
    // 50,000 − 5,000 − 6,000 = 39,000 < 40,000: read first (the mock still says 50,000).
    expect(await t.admit(6000)).toBeUndefined();
    expect(t.reads()).toBe(2);
  });

  it('refuses what would leave less than the reserve, whatever the last reading said', async () => {
    let free = 1e9;
    const t = guard(() => free);
    expect(await t.admit(1000)).toBeUndefined();
    free = RESERVE + 500;
    t.tick(300);
    expect(await t.admit(1000)).toMatchObject({ code: 'BUFFER_FULL' });
    expect(await t.admit(400)).toBeUndefined(); // 10,500 − 400 leaves the reserve
  });
});
