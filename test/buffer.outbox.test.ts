// The collector's durable outbox against a real LevelDB in a temporary directory.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageRecord, type UsageRecordMsg } from '../proto/index.ts';
import { Outbox, type OutboxEntry, type OutboxOptions } from '../collector/buffer/outbox.ts';
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

  it('moves a corrupted entry to the dead letters and delivers the rest', async () => {
    const dir = await tempDir();
    let outbox = await openOutbox({ dir });
    await outbox.append([1, 2, 3].map((i) => record(i)));
    await outbox.close();

    const raw = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
    const keys = await raw.keys(prefixRange(OUTBOX_PREFIX)).all();
    const garbage = Buffer.from('not a record, not a checksum');
    await raw.put(keys[1] as string, garbage);
    await raw.close();

    outbox = await openOutbox({ dir });
    expect(await drain(outbox)).toEqual([1, 3]);
    expect(outbox.stats()).toMatchObject({ records: 0, bytes: 0, corrupt: 1, deadLetters: 1 });
    const [letter] = await outbox.deadLetters.list({ limit: 10 });
    expect(letter).toMatchObject({ code: 'CORRUPT_OUTBOX_ENTRY' });
    expect(letter?.reason).toContain(keys[1]);
    expect(letter?.payload).toEqual(garbage);
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
