// Guarantees 1 and 3 on a full physical disk: the buffer directory sits on a tiny tmpfs and
// bufferMaxBytes is far above its size, so the disk fills before the cap. Publishes must then be
// refused (no PUBACK: devices keep them) without a crash; once space comes back (the rater drains
// the outbox, or other files are removed) the collector accepts again; after a restart the outbox
// opens cleanly and every acknowledged record is billed exactly once.
//
// Mounting needs root (CI runs as root); elsewhere these tests are skipped and say so.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import {
  T0,
  cleanupAfterAll,
  device,
  freePort,
  startCollector,
  startRater,
  usageTotals,
  waitFor,
} from './helpers/stack.ts';

const MiB = 1024 * 1024;
/** Generous bounds: these tests move tens of MiB through LevelDB and the rater. */
const LONG = 60_000;
const TEST_TIMEOUT = 180_000;

/** A fresh tmpfs of `size` bytes, or undefined when mounting is not permitted. */
async function mountTmpfs(size: number): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'edgemeter-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'pipe' });
  return {
    path,
    remove: async () => {
      // Lazy, so that a failed test that left files open still unmounts.
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      await rm(path, { recursive: true, force: true });
    },
  };
}

const canMount = await mountTmpfs(MiB).then(
  async (m) => (await m.remove(), true),
  (err: unknown) => {
    console.warn(
      `[edgemeter tests] cannot mount a tmpfs (${String(err).split('\n')[0]}): skipping the full-disk tests; they need root (CI runs them as root)`,
    );
    return false;
  },
);

/** Fills the file system of `dir` to the last byte with a file of its own. */
async function fillDisk(file: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (const chunk of [MiB, 64 * 1024, 4096, 512, 1]) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          await fh.write(buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

// Records of about 2 KiB (dims just under the 2 KiB rule) that compress badly (LevelDB compresses its tables), with only 64
// distinct dimension sets so the rater's rollups stay small.
const POOL = Array.from({ length: 64 }, () => randomBytes(188).toString('base64').slice(0, 240));
const reportOf = (seq: number) => ({
  seq,
  ts: T0 + seq,
  up: seq,
  down: 1,
  dims: Object.fromEntries(
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k, i) => [k, POOL[(seq + i) % 64]]),
  ),
});

/**
 * A device that behaves as MQTT devices do: it keeps a report until it is acknowledged, so a
 * refused publish is sent again, with the same seqs, on the next attempt.
 */
class Device {
  private client: MqttClient | undefined;
  private pending: ReturnType<typeof reportOf>[] | undefined;
  private nextSeq = 1;
  acked = 0;

  constructor(
    private readonly collector: () => Collector,
    readonly id: string,
    private readonly perPublish = 100,
  ) {}

  /** Publishes the pending reports (or new ones); true when acknowledged (PUBACK). */
  async publish(): Promise<boolean> {
    this.pending ??= Array.from({ length: this.perPublish }, () => reportOf(this.nextSeq++));
    const client = (this.client ??= await device(this.collector().mqttPort, this.id));
    let onClose = () => {};
    const closed = new Promise<boolean>((resolve) => {
      onClose = () => resolve(false);
      client.once('close', onClose);
    });
    const ok = await Promise.race([
      client.publishAsync(`usage/${this.id}`, JSON.stringify(this.pending), { qos: 1 }).then(
        () => true,
        () => false,
      ),
      closed,
    ]);
    client.off('close', onClose);
    if (ok) {
      this.acked += this.pending.length;
      this.pending = undefined;
      return true;
    }
    // Refused: the collector closed the connection without a PUBACK. Keep the reports.
    client.end(true);
    this.client = undefined;
    return false;
  }

  /** Publishes until one is refused (bounded); returns the number acknowledged. */
  async untilRefused(max = 1000): Promise<number> {
    for (let i = 0; i < max; i++) if (!(await this.publish())) return i;
    throw new Error(`${this.id}: ${max} publishes and none refused`);
  }

  /** The totals the rater must show: every report acknowledged, once. */
  expected(): { up: number; down: number; records: number } {
    const n = this.acked;
    expect(this.pending).toBeUndefined(); // nothing still waiting on the device
    return { up: (n * (n + 1)) / 2, down: n, records: n };
  }

  close(): void {
    this.client?.end(true);
  }
}

const refusedCount = async (c: Collector, code: string) =>
  (await c.metrics.publishesRefused.get()).values.find((v) => v.labels.code === code)?.value ?? 0;

const httpStatus = async (c: Collector, path: string) =>
  (await fetch(`http://127.0.0.1:${c.httpPort}${path}`)).status;

describe.skipIf(!canMount)('a full physical disk under the collector', () => {
  // Unmounted in a hook of their own, registered first so that it runs last, even when a step
  // of the other cleanup fails.
  const mounts: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const remove of mounts.splice(0)) await remove().catch(() => {});
  });
  const cleanup = cleanupAfterAll();

  it(
    'refuses at the disk reserve, survives the disk filling up, and accepts again once space is back',
    async () => {
      // The reserve must hold LevelDB's largest compaction (turning deletes into free space can
      // rewrite all of levels 0 and 1, here the whole database) plus a reopen (a memtable of up to
      // 4 MiB written out). The default, 64 MiB, covers that for a buffer of any size.
      const fsys = await mountTmpfs(40 * MiB);
      mounts.push(fsys.remove);
      const bufferDir = join(fsys.path, 'outbox');
      const raterPort = await freePort(); // rater down: the outbox only grows
      const flags = {
        raterPort,
        bufferDir,
        bufferMaxBytes: 256 * MiB, // far above the disk: the disk is what fills
        config: { bufferMinFreeBytes: 24 * MiB },
      };
      let collector = await startCollector(flags, {
        logger: (await import('pino')).pino({ level: 'warn' }),
      });
      cleanup.push(() => collector.close().catch(() => {}));
      const dev = new Device(() => collector, 'disk-1');
      cleanup.push(async () => dev.close());

      // 1. The outbox fills the disk down to its reserve: publishes are refused, nothing crashes.
      expect(await dev.untilRefused()).toBeGreaterThan(20);
      expect(await refusedCount(collector, 'BUFFER_FULL')).toBeGreaterThan(0);
      expect(collector.outboxStats()).toMatchObject({ records: dev.acked, diskLow: true });
      expect(await httpStatus(collector, '/healthz')).toBe(200);
      const notReady = await fetch(`http://127.0.0.1:${collector.httpPort}/readyz`);
      expect(notReady.status).toBe(503);
      expect(((await notReady.json()) as { reason: string }).reason).toContain('disk nearly full');

      // 2. Another program takes the rest of the disk, to the last byte. The rater comes up: the
      //    outbox's deletes (acks) now fail too, and it refuses every write until it could reopen
      //    LevelDB — but it does not crash, and loses nothing.
      await fillDisk(join(fsys.path, 'filler'));
      const rater = await startRater('embedded:memory', raterPort);
      cleanup.push(() => rater.close());
      await waitFor(
        () => ((collector.outboxStats().storeErrors ?? 0) > 0 ? true : undefined),
        'a failed write on the full disk',
        LONG,
      );
      expect(await httpStatus(collector, '/healthz')).toBe(200);
      expect(await httpStatus(collector, '/readyz')).toBe(503);
      expect(await dev.publish()).toBe(false);

      // 3. The other program's file goes: the outbox reopens, drains, and accepts again.
      await rm(join(fsys.path, 'filler'));
      await waitFor(
        () => (collector.outboxStats().records === 0 ? true : undefined),
        'drained',
        LONG,
      );
      await waitFor(
        async () => ((await httpStatus(collector, '/readyz')) === 200 ? true : undefined),
        'ready again',
        LONG,
      );
      expect(collector.outboxStats()).toMatchObject({ state: 'open', diskLow: false });
      expect(collector.outboxStats().recoveries).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect(await dev.publish()).toBe(true);

      // 4. A restart opens the outbox cleanly: nothing damaged, nothing lost or billed twice.
      await collector.close();
      collector = await startCollector(flags, {
        logger: (await import('pino')).pino({ level: 'warn' }),
      });
      await waitFor(
        () => (collector.outboxStats().records === 0 ? true : undefined),
        'drained',
        LONG,
      );
      expect(collector.outboxStats()).toMatchObject({ corrupt: 0, quarantined: 0, storeErrors: 0 });
      expect(await usageTotals(rater, 'disk-1')).toEqual(dev.expected());
      const free = await statfs(fsys.path);
      expect(free.bavail * free.bsize).toBeGreaterThan(24 * MiB);
    },
    TEST_TIMEOUT,
  );

  it(
    'with no reserve, LevelDB itself runs out of space: refused, reopened once files are removed, and nothing acknowledged afterwards is lost',
    async () => {
      const fsys = await mountTmpfs(32 * MiB);
      mounts.push(fsys.remove);
      const other = join(fsys.path, 'other-data');
      {
        // Someone else's 20 MiB on the same disk; once removed, they leave room to drain.
        const fh = await open(other, 'w');
        await fh.write(Buffer.alloc(20 * MiB, 2));
        await fh.close();
      }
      const bufferDir = join(fsys.path, 'outbox');
      const raterPort = await freePort();
      const flags = {
        raterPort,
        bufferDir,
        bufferMaxBytes: 256 * MiB,
        config: { bufferMinFreeBytes: 0 },
      };
      let collector = await startCollector(flags, {
        logger: (await import('pino')).pino({ level: 'warn' }),
      });
      cleanup.push(() => collector.close().catch(() => {}));
      const dev = new Device(() => collector, 'disk-2');
      cleanup.push(async () => dev.close());

      // 1. The disk fills: a LevelDB write fails with ENOSPC. The publish is refused, and the
      //    outbox refuses every write until it could reopen LevelDB with a fresh log.
      expect(await dev.untilRefused()).toBeGreaterThan(10);
      expect(await refusedCount(collector, 'STORE_FAILED')).toBeGreaterThan(0);
      expect(collector.outboxStats().records).toBe(dev.acked);
      expect(collector.outboxStats().storeErrors).toBeGreaterThan(0);
      expect(await httpStatus(collector, '/healthz')).toBe(200);
      // While the disk stays full, publishes keep being refused (reopening may briefly succeed
      // when LevelDB deleted a half-written file, and then fail again).
      await dev.untilRefused();

      // 2. Files are removed: the outbox reopens LevelDB and accepts again.
      await rm(other);
      await waitFor(
        async () => ((await httpStatus(collector, '/readyz')) === 200 ? true : undefined),
        'ready again',
        LONG,
      );
      for (let i = 0; i < 5; i++) expect(await dev.publish()).toBe(true);
      expect(collector.outboxStats().records).toBe(dev.acked);

      // 3. Restart: every acknowledged record is there, including those acknowledged after the
      //    disk was full once (LevelDB loses these if it keeps writing to the log that failed).
      await collector.close();
      collector = await startCollector(flags, {
        logger: (await import('pino')).pino({ level: 'warn' }),
      });
      expect(collector.outboxStats()).toMatchObject({
        records: dev.acked,
        bytes: expect.any(Number),
      });
      const rater = await startRater('embedded:memory', raterPort);
      cleanup.push(() => rater.close());
      await waitFor(
        () => (collector.outboxStats().records === 0 ? true : undefined),
        'drained',
        LONG,
      );
      expect(collector.outboxStats()).toMatchObject({ corrupt: 0, quarantined: 0 });
      expect(await usageTotals(rater, 'disk-2')).toEqual(dev.expected());
    },
    TEST_TIMEOUT,
  );
});
