// The collector's durable outbox against a real LevelDB in a temporary directory.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageRecord, type UsageRecordMsg } from '../proto/index.ts';
import {
  Outbox,
  type DropInfo,
  type OutboxEntry,
  type OutboxOptions,
} from '../collector/buffer/outbox.ts';
import { BufferError } from '../collector/buffer/errors.ts';
import { OUTBOX_PREFIX, prefixRange } from '../collector/buffer/codec.ts';

const T0 = Date.UTC(2024, 0, 1);
const dirs: string[] = [];
const open: Outbox[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'edgemeter-buffer-'));
  dirs.push(dir);
  return path.join(dir, 'outbox');
}

async function openOutbox(opts: Partial<OutboxOptions> & { dir: string }): Promise<Outbox> {
  const outbox = new Outbox({ logger: { warn: () => {} }, ...opts });
  await outbox.open();
  open.push(outbox);
  return outbox;
}

const record = (seq: number, deviceId = 'dev-1'): UsageRecordMsg => ({
  deviceId,
  seq,
  endMs: T0 + seq * 1000,
  up: seq * 10,
  down: seq,
  meters: { sms: 1 },
  dims: { zone: 'eu' },
  receivedMs: T0,
});

const decode = (e: OutboxEntry) => UsageRecord.decode(e.bytes);
const seqsOf = (entries: OutboxEntry[]) => entries.map((e) => Number(decode(e).seq));

/** Reads and acks everything, returning the record seqs in the order they were read. */
async function drain(outbox: Outbox, maxRecords = 100): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const batch = await outbox.readBatch({ maxRecords, maxBytes: 1 << 20 });
    if (batch.length === 0) return out;
    out.push(...seqsOf(batch));
    await outbox.ack(batch);
  }
}

describe('Outbox', () => {
  it('round-trips records in order with their content, and deletes acked entries', async () => {
    const outbox = await openOutbox({ dir: await tempDir() });
    await outbox.append([record(1), record(2)]);
    await outbox.append([record(3)]);
    expect(outbox.stats()).toMatchObject({ records: 3, appended: 3 });

    const batch = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    expect(batch.map((e) => e.seq)).toEqual([1n, 2n, 3n]);
    const first = decode(batch[0] as OutboxEntry);
    expect(first).toMatchObject({ deviceId: 'dev-1', seq: 1, up: 10, down: 1, receivedMs: T0 });
    expect(first.meters).toEqual({ sms: 1 });
    expect(first.dims).toEqual({ zone: 'eu' });
    expect(await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 })).toEqual([]);

    await outbox.ack(batch);
    await outbox.ack(batch); // acking twice is harmless
    expect(outbox.stats()).toMatchObject({ records: 0, bytes: 0, acked: 3 });
    outbox.rewind();
    expect(await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 })).toEqual([]);
  });

  it('group-commits 1,000 concurrent appends into far fewer synced batches, all durable', async () => {
    const dir = await tempDir();
    const outbox = await openOutbox({ dir });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => outbox.append([record(i)])));
    const { batchWrites, records } = outbox.stats();
    expect(records).toBe(1000);
    expect(batchWrites).toBeLessThan(50);
    await outbox.close();

    const reopened = await openOutbox({ dir });
    expect(reopened.stats().records).toBe(1000);
    const seqs = await drain(reopened, 250);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i)); // call order = key order
  });

  it('rejects the append when the durable write fails, and writes nothing of it', async () => {
    let fail = false;
    const outbox = await openOutbox({
      dir: await tempDir(),
      beforeWrite: (kind) => {
        if (fail && kind === 'commit') throw new Error('disk on fire');
      },
    });
    await outbox.append([record(1)]);
    fail = true;
    const failed = outbox.append(
      [record(2), record(3)],
      [{ code: 'INVALID_RECORD', reason: 'bad', receivedMs: T0 }],
    );
    await expect(failed).rejects.toMatchObject({ name: 'BufferError', code: 'STORE_FAILED' });
    fail = false;
    expect(outbox.stats()).toMatchObject({ records: 1, deadLetters: 0 });
    await outbox.append([record(4)]);
    expect(await outbox.deadLetters.list({ limit: 10 })).toEqual([]);

    // A failed ack keeps the entries, and counts them, until a later ack succeeds.
    const batch = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    expect(seqsOf(batch)).toEqual([1, 4]);
    let failAck = true;
    const flaky = await openOutbox({
      dir: await tempDir(),
      beforeWrite: (kind) => {
        if (failAck && kind === 'ack') throw new Error('io error');
      },
    });
    await flaky.append([record(5)]);
    const entries = await flaky.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    await expect(flaky.ack(entries)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(flaky.stats()).toMatchObject({ records: 1, acked: 0 });
    failAck = false;
    await flaky.ack(entries);
    expect(flaky.stats()).toMatchObject({ records: 0, bytes: 0, acked: 1 });
  });

  it('keeps counting what it holds while it reopens after a failed write', async () => {
    // The reopen scans the whole outbox again. Its counters (metrics, /readyz, a collector's
    // drained()) must not read the half-done scan: that once showed 0 records, a drained outbox,
    // with thousands still on disk.
    const outbox = await openOutbox({ dir: await tempDir() });
    const rejected = Array.from({ length: 200 }, () => ({
      code: 'INVALID_RECORD',
      reason: 'bad',
      receivedMs: T0,
    }));
    for (let i = 0; i < 20; i++)
      await outbox.append(
        Array.from({ length: 500 }, (_, j) => record(i * 500 + j + 1)),
        rejected,
      );
    const held = outbox.stats();
    expect(held).toMatchObject({ records: 10_000, deadLetters: 4_000 });
    // One LevelDB write fails as on a full disk (the real batch, whose write is refused): the
    // outbox refuses writes and reopens the database.
    const db = (outbox as unknown as { db: ClassicLevel<string, Buffer> }).db;
    const realBatch = db.batch.bind(db);
    vi.spyOn(db, 'batch').mockImplementationOnce(() => {
      const batch = realBatch();
      batch.write = async () => {
        await batch.close();
        throw new Error('IO error: injected: No space left on device');
      };
      return batch;
    });
    await expect(outbox.append([record(10_001)])).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(outbox.stats().state).toBe('recovering');
    const counts = ({ records, bytes, deadLetters, deadLetterBytes }: typeof held) => ({
      records,
      bytes,
      deadLetters,
      deadLetterBytes,
    });
    const seen: Array<{ state: string; counts: ReturnType<typeof counts> }> = [];
    while (outbox.stats().recoveries === 0) {
      seen.push({ state: outbox.stats().state, counts: counts(outbox.stats()) });
      await new Promise((r) => setImmediate(r));
    }
    // The scan took many turns of the event loop, and none of them saw a partial count.
    expect(seen.filter((s) => s.state === 'recovering').length).toBeGreaterThan(5);
    expect(seen.filter((s) => s.counts.records !== 10_000)).toEqual([]);
    expect(seen.map((s) => s.counts)).toEqual(seen.map(() => counts(held)));
    expect(outbox.stats()).toMatchObject({ state: 'open', ...counts(held) });
  });

  it('resumes unacked entries after a restart and never reuses sequence numbers', async () => {
    const dir = await tempDir();
    let outbox = await openOutbox({ dir });
    await outbox.append([1, 2, 3, 4, 5].map((i) => record(i)));
    const firstTwo = await outbox.readBatch({ maxRecords: 2, maxBytes: 1 << 20 });
    await outbox.ack(firstTwo);
    await outbox.close();

    outbox = await openOutbox({ dir });
    expect(outbox.stats()).toMatchObject({ records: 3, oldestSeq: 3n });
    const rest = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    expect(rest.map((e) => e.seq)).toEqual([3n, 4n, 5n]);
    await outbox.ack(rest);
    await outbox.close();

    // Fully drained: nothing left to recover the sequence from but the high-water mark.
    outbox = await openOutbox({ dir });
    expect(outbox.stats()).toMatchObject({ records: 0, nextSeq: 6n });
    await outbox.append([record(6)]);
    const [next] = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    expect(next?.seq).toBe(6n);
  });

  it('refuses a second open of its directory, saying another collector has it', async () => {
    const dir = await tempDir();
    await openOutbox({ dir });
    const second = new Outbox({ dir });
    await expect(second.open()).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: `cannot open buffer at ${dir}: it is in use by another collector (one collector per bufferDir)`,
    });
  });

  it('limits a batch by count and by bytes, but returns at least one entry', async () => {
    const outbox = await openOutbox({ dir: await tempDir() });
    await outbox.append(Array.from({ length: 10 }, (_, i) => record(i)));
    const size = UsageRecord.encode(record(5)).finish().length;

    expect(await outbox.readBatch({ maxRecords: 3, maxBytes: 1 << 20 })).toHaveLength(3);
    const byBytes = await outbox.readBatch({ maxRecords: 100, maxBytes: size * 2 + 1 });
    expect(seqsOf(byBytes)).toEqual([3, 4]);
    const tiny = await outbox.readBatch({ maxRecords: 100, maxBytes: 1 });
    expect(seqsOf(tiny)).toEqual([5]);

    outbox.rewind(); // nothing acked: back to the first entry
    expect(seqsOf(await outbox.readBatch({ maxRecords: 100, maxBytes: 1 << 20 }))).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
  });

  it('keeps reading correctly from its cursor through 10,000 appends and acks', async () => {
    const outbox = await openOutbox({ dir: await tempDir(), compactEvery: 2000 });
    const read: number[] = [];
    let n = 0;
    for (let round = 0; round < 20; round++) {
      // 500 records per round in 50 concurrent appends; read some, fail one send, ack.
      await Promise.all(
        Array.from({ length: 50 }, () =>
          outbox.append(Array.from({ length: 10 }, () => record(n++))),
        ),
      );
      const batch = await outbox.readBatch({ maxRecords: 300, maxBytes: 1 << 20 });
      outbox.rewind(); // as after a failed send: the same entries come again
      const again = await outbox.readBatch({ maxRecords: 300, maxBytes: 1 << 20 });
      expect(again.map((e) => e.seq)).toEqual(batch.map((e) => e.seq));
      read.push(...seqsOf(again));
      await outbox.ack(again);
    }
    read.push(...(await drain(outbox, 700)));
    expect(read).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(outbox.stats()).toMatchObject({ records: 0, bytes: 0, acked: 10_000 });
    await outbox.close(); // waits for a compaction in flight
    expect(outbox.stats().compactions).toBeGreaterThan(0);
  });

  it('refuses appends past the cap with BUFFER_FULL, and accepts again once acks free space', async () => {
    // Records 20..28 all encode to the same size.
    const size = UsageRecord.encode(record(20)).finish().length;
    expect(UsageRecord.encode(record(28)).finish().length).toBe(size);
    const outbox = await openOutbox({ dir: await tempDir(), maxBytes: size * 5 });
    await outbox.append([20, 21, 22].map((i) => record(i)));
    const full = outbox.append([23, 24, 25].map((i) => record(i)));
    await expect(full).rejects.toBeInstanceOf(BufferError);
    await expect(full).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(outbox.stats()).toMatchObject({ records: 3, bytes: size * 3 });
    // Concurrent appends reserve their bytes: together they cannot overshoot the cap.
    const racing = await Promise.allSettled([23, 24, 25].map((i) => outbox.append([record(i)])));
    expect(racing.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(outbox.stats().bytes).toBe(size * 5);
    // Dead letters have their own cap and are accepted while the outbox is full.
    await outbox.append([], [{ code: 'INVALID_RECORD', reason: 'x', receivedMs: T0 }]);
    expect(outbox.deadLetters.count()).toBe(1);

    const batch = await outbox.readBatch({ maxRecords: 3, maxBytes: 1 << 20 });
    await outbox.ack(batch);
    await outbox.append([26, 27, 28].map((i) => record(i)));
    expect(await drain(outbox)).toEqual([23, 24, 26, 27, 28]);
  });

  it('drop-oldest deletes the oldest unsent entries with the new write, never those in flight', async () => {
    const size = UsageRecord.encode(record(20)).finish().length;
    expect(UsageRecord.encode(record(39)).finish().length).toBe(size);
    const dir = await tempDir();
    const drops: DropInfo[] = [];
    const warnings: string[] = [];
    let outbox = await openOutbox({
      dir,
      maxBytes: size * 5,
      fullPolicy: 'drop-oldest',
      onDrop: (info) => drops.push(info),
      logger: { warn: (_obj, msg) => warnings.push(msg) },
    });
    await outbox.append([20, 21, 22, 23, 24].map((i) => record(i)));
    // 20 and 21 are handed to the forwarder (in flight to the rater, not acked yet).
    const inFlight = await outbox.readBatch({ maxRecords: 2, maxBytes: 1 << 20 });
    expect(seqsOf(inFlight)).toEqual([20, 21]);

    await outbox.append([record(25)]);
    await outbox.append([26, 27, 28].map((i) => record(i)));
    // One event per group commit, with counts: 22 for 25, then 23..25 for 26..28.
    expect(drops).toEqual([
      { records: 1, bytes: size, firstSeq: 3n, lastSeq: 3n },
      { records: 3, bytes: size * 3, firstSeq: 4n, lastSeq: 6n },
    ]);
    expect(warnings.filter((w) => w.includes('dropped the oldest'))).toHaveLength(2);
    expect(outbox.stats()).toMatchObject({
      records: 5,
      bytes: size * 5,
      dropped: 4,
      droppedBytes: size * 4,
      fullPolicy: 'drop-oldest',
    });

    // Only 26..28 are unsent: four new records cannot be made room for, so nothing is dropped
    // and the append is refused; so is an append larger than the whole buffer.
    await expect(outbox.append([29, 30, 31, 32].map((i) => record(i)))).rejects.toMatchObject({
      code: 'BUFFER_FULL',
    });
    await expect(
      outbox.append([30, 31, 32, 33, 34, 35].map((i) => record(i))),
    ).rejects.toMatchObject({ code: 'BUFFER_FULL', message: expect.stringContaining('whole') });
    expect(outbox.stats()).toMatchObject({ records: 5, dropped: 4 });
    await outbox.close();

    // The drops were durable with the writes: after a restart, exactly these remain.
    outbox = await openOutbox({ dir, maxBytes: size * 5, fullPolicy: 'drop-oldest' });
    expect(await drain(outbox)).toEqual([20, 21, 26, 27, 28]);
  });

  it('drop-oldest never hands out an entry it dropped, under concurrent reads and appends', async () => {
    const size = UsageRecord.encode(record(1000)).finish().length;
    const outbox = await openOutbox({
      dir: await tempDir(),
      maxBytes: size * 60,
      fullPolicy: 'drop-oldest',
    });
    const delivered: number[] = [];
    let appended = 0;
    let refused = 0;
    let appending = true;
    let n = 1000;
    const writer = (async () => {
      for (let round = 0; round < 60; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, () => outbox.append([record(n++), record(n++), record(n++)])),
        );
        for (const r of results) {
          if (r.status === 'fulfilled') appended += 3;
          else if ((r.reason as BufferError).code === 'BUFFER_FULL') refused += 3;
          else throw r.reason;
        }
      }
      appending = false;
    })();
    const reader = (async () => {
      for (let i = 0; appending || outbox.stats().records > 0; i++) {
        const batch = await outbox.readBatch({ maxRecords: 7, maxBytes: 1 << 20 });
        delivered.push(...seqsOf(batch));
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1)); // let appends pile up
        await outbox.ack(batch);
        if (batch.length === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([writer, reader]);
    const { dropped, records, bytes } = outbox.stats();
    expect(dropped).toBeGreaterThan(0);
    expect(new Set(delivered).size).toBe(delivered.length);
    // Every accepted record was either delivered or dropped, never both.
    expect(delivered.length + dropped).toBe(appended);
    expect(appended + refused).toBe(1800);
    expect({ records, bytes }).toEqual({ records: 0, bytes: 0 });
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
  });

  it('refuses new records while the disk is below its reserve, but still acks and dead-letters', async () => {
    let free = 1e9;
    const outbox = await openOutbox({
      dir: await tempDir(),
      minFreeBytes: 10_000,
      diskFree: async () => free,
    });
    await outbox.append([1, 2, 3].map((i) => record(i)));
    free = 5_000;
    // Far from the reserve a commit may go by a reading up to 250 ms old (disk-guard.ts); another
    // program taking the disk is seen once that reading is stale.
    await new Promise((r) => setTimeout(r, 300));
    await expect(outbox.append([record(4)])).rejects.toMatchObject({
      code: 'BUFFER_FULL',
      message: expect.stringContaining('disk nearly full: 5000 bytes free'),
    });
    await expect(
      outbox.append([], [{ code: 'INVALID_RECORD', reason: 'x', receivedMs: T0 }]),
    ).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(outbox.stats()).toMatchObject({ records: 3, diskLow: true, diskFree: 5_000 });

    // Draining needs no new room: the forwarder's acks and dead letters go through.
    const [bad, ...good] = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    await outbox.deadLetter([
      {
        entry: bad as OutboxEntry,
        letter: { code: 'RATER_REJECTED', reason: 'r', receivedMs: T0 },
      },
    ]);
    await outbox.ack(good);
    expect(outbox.stats()).toMatchObject({ records: 0, deadLetters: 1 });

    free = 1e9;
    await outbox.append([record(5)]);
    expect(outbox.stats()).toMatchObject({ records: 1, diskLow: false, diskFree: 1e9 });
  });

  it('quarantines a damaged entry with its reason and delivers the rest', async () => {
    const dir = await tempDir();
    let outbox = await openOutbox({ dir });
    await outbox.append([1, 2, 3, 4].map((i) => record(i)));
    await outbox.close();

    const raw = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
    const keys = await raw.keys(prefixRange(OUTBOX_PREFIX)).all();
    const garbage = Buffer.from('not a record, not a checksum');
    await raw.put(keys[1] as string, garbage);
    // A single flipped bit in a stored record (bit rot), and a key the outbox never writes.
    const flipped = Buffer.from((await raw.get(keys[2] as string)) as Buffer);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0x01, flipped.length - 1);
    await raw.put(keys[2] as string, flipped);
    await raw.put('o:not-a-sequence', Buffer.from('stray'));
    await raw.close();

    outbox = await openOutbox({ dir });
    expect(await drain(outbox)).toEqual([1, 4]);
    expect(outbox.stats()).toMatchObject({
      records: 0,
      bytes: 0,
      corrupt: 3,
      quarantined: 3,
      deadLetters: 0,
    });
    const [first, second, stray] = await outbox.quarantine.list({ limit: 10 });
    expect(first).toMatchObject({ code: 'CORRUPT_OUTBOX_ENTRY', outboxKey: keys[1] });
    expect(first?.reason).toMatch(/CRC32 mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    expect(first?.payload).toEqual(garbage);
    // The flipped bit is in the last field: the device id still decodes and is reported.
    expect(second).toMatchObject({ outboxKey: keys[2], deviceId: 'dev-1' });
    expect(second?.reason).toContain('appears to be from device dev-1');
    expect(second?.payload).toEqual(flipped);
    expect(stray?.reason).toContain('not one the outbox writes');
    expect(await outbox.deadLetters.list({ limit: 10 })).toEqual([]);
    await outbox.close();

    // Quarantined entries stay quarantined, and their sequence numbers are not reused.
    outbox = await openOutbox({ dir });
    expect(outbox.stats()).toMatchObject({ records: 0, quarantined: 3, corrupt: 0 });
    await outbox.append([record(5)]);
    const [next] = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    expect(next?.seq).toBe(5n);
  });

  it('stores records and dead letters of one call in one batch, and caps the dead letters', async () => {
    const outbox = await openOutbox({ dir: await tempDir(), deadLetterMaxBytes: 4000 });
    const letter = (i: number) => ({
      code: 'INVALID_RECORD',
      reason: `element ${i} is invalid`,
      topic: 'usage/dev-1',
      deviceId: 'dev-1',
      payload: Buffer.alloc(200, i),
      receivedMs: T0 + i,
    });
    await outbox.append([record(1)], [letter(0)]);
    expect(outbox.stats()).toMatchObject({ records: 1, deadLetters: 1, batchWrites: 1 });

    for (let i = 1; i < 50; i++) await outbox.append([], [letter(i)]);
    const { deadLetters, deadLetterBytes, deadLettersDropped } = outbox.stats();
    expect(deadLetterBytes).toBeLessThanOrEqual(4000);
    expect(deadLettersDropped).toBe(50 - deadLetters);
    const kept = await outbox.deadLetters.list({ limit: 100 });
    expect(kept).toHaveLength(deadLetters);
    expect(kept.at(-1)).toMatchObject({ seq: 50n, reason: 'element 49 is invalid' });
    expect(kept.at(-1)?.payload).toEqual(Buffer.alloc(200, 49));
    expect(kept[0]?.seq).toBe(BigInt(51 - deadLetters)); // the oldest went first
    const page = await outbox.deadLetters.list({ limit: 2, afterSeq: kept[0]?.seq });
    expect(page.map((d) => d.seq)).toEqual([kept[1]?.seq, kept[2]?.seq]);
  });

  it('truncates a large dead-letter payload to 64 KiB and keeps the original size', async () => {
    const outbox = await openOutbox({ dir: await tempDir() });
    const payload = Buffer.alloc(100_000, 7);
    await outbox.append([], [{ code: 'PAYLOAD', reason: 'big', payload, receivedMs: T0 }]);
    const [letter] = await outbox.deadLetters.list({ limit: 1 });
    expect(letter?.payload?.length).toBe(64 * 1024);
    expect(letter).toMatchObject({ payloadBytes: 100_000, payloadTruncated: true });
  });

  it('dead-letters entries the rater rejected, atomically with their removal', async () => {
    const outbox = await openOutbox({ dir: await tempDir() });
    await outbox.append([1, 2].map((i) => record(i)));
    const [bad, good] = await outbox.readBatch({ maxRecords: 10, maxBytes: 1 << 20 });
    const letter = { code: 'INVALID_RECORD', reason: 'rejected by rater', receivedMs: T0 };
    await outbox.deadLetter([{ entry: bad as OutboxEntry, letter }]);
    await outbox.ack([bad as OutboxEntry, good as OutboxEntry]);
    expect(outbox.stats()).toMatchObject({ records: 0, bytes: 0, deadLetters: 1, acked: 1 });
    const [stored] = await outbox.deadLetters.list({ limit: 1 });
    expect(stored?.payload).toEqual((bad as OutboxEntry).bytes);
  });

  it('tells a waiting forwarder about new entries, and refuses calls once closed', async () => {
    const outbox = await openOutbox({ dir: await tempDir() });
    const seen: bigint[] = [];
    const off = outbox.onAppend(({ lastSeq }) => seen.push(lastSeq));
    const waiting = outbox.waitForAppend();
    await outbox.append([record(1), record(2)]);
    await waiting;
    off();
    expect(seen).toEqual([2n]);
    await outbox.waitForAppend(); // resolves at once: entries are unread
    expect(await outbox.oldest()).toEqual({ seq: 1n, receivedMs: T0 });

    await outbox.close();
    await expect(outbox.append([record(3)])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(outbox.readBatch({ maxRecords: 1, maxBytes: 1 })).rejects.toMatchObject({
      code: 'CLOSED',
    });
  });
});
