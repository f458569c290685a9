// The collector's durable outbox (Guarantee 1 in PRODUCT.md): a record is acknowledged to its
// device only after `append` resolved, i.e. after a synced LevelDB batch holds it, and it leaves
// the outbox only when the forwarder acks it after the rater committed it. Layout: codec.ts.
//
// Sequence numbers are the outbox keys. They are assigned in commit order (so a reader never
// sees a lower one appear behind its cursor) and never reused, also across restarts and after the
// outbox was drained: a high-water mark is written with every batch. Reading: reader.ts.
import { ClassicLevel } from 'classic-level';
import { UsageRecord, type UsageRecordMsg } from '../../proto/index.ts';
import { BufferError } from './errors.ts';
import { DeadLetterStore, type DeadLetterInput, type StagedDeadLetters } from './dead-letters.ts';
import { GroupCommit } from './group-commit.ts';
import { SeqSet } from './seq-set.ts';
import {
  META_OUTBOX_NEXT,
  OUTBOX_PREFIX,
  bodyLength,
  frame,
  parseMetaNumber,
  parseSeqKey,
  prefixRange,
  seqKey,
  unframe,
  type BatchOp,
} from './codec.ts';
import { RangeCompactor } from './compactor.ts';
import { AppendSignal } from './notify.ts';
import { OutboxReader, type CorruptEntry } from './reader.ts';
import type {
  AppendListener,
  BufferLogger,
  DeadLetterEntry,
  OutboxEntry,
  OutboxOptions,
  OutboxStats,
} from './types.ts';

export type * from './types.ts';

/** One caller's share of a group commit. */
interface Job {
  values: Buffer[];
  bytes: number;
  deadLetters: readonly DeadLetterInput[];
  /** Outbox entries removed in the same batch (quarantined or dead-lettered). */
  remove: Array<{ key: string; seq: number | undefined; bytes: number }>;
}

const OUTBOX_RANGE = prefixRange(OUTBOX_PREFIX);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class Outbox {
  readonly deadLetters: DeadLetterStore;
  private readonly db: ClassicLevel<string, Buffer>;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly logger: BufferLogger;
  private readonly commits = new GroupCommit<Job>((jobs) => this.writeGroup(jobs));
  private readonly signal: AppendSignal;
  private readonly compactor: RangeCompactor;
  /** Acks in flight, for close(). */
  private readonly tasks = new Set<Promise<unknown>>();
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;

  /** Sequence numbers of the entries on disk; `records` is its size. */
  private readonly live = new SeqSet();
  private bytes = 0;
  /** Bytes of appends queued or in flight, so that concurrent appends cannot overshoot the cap. */
  private reserved = 0;
  private nextSeq = 1;
  private readonly reader: OutboxReader;
  private readonly counters = { corrupt: 0, batchWrites: 0, appended: 0, acked: 0 };

  constructor(private readonly opts: OutboxOptions) {
    this.db = new ClassicLevel<string, Buffer>(opts.dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    });
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? { warn: (obj, msg) => console.warn(`[outbox] ${msg}`, obj) };
    this.deadLetters = new DeadLetterStore(this.db, opts.deadLetterMaxBytes ?? 32 * 1024 ** 2);
    this.signal = new AppendSignal(this.logger);
    this.reader = new OutboxReader(this.db, this.live, (corrupt) => this.quarantine(corrupt));
    this.compactor = new RangeCompactor(
      opts.compactEvery ?? 10_000,
      (lo, hi) => this.db.compactRange(seqKey(OUTBOX_PREFIX, lo), seqKey(OUTBOX_PREFIX, hi + 1)),
      this.logger,
    );
  }

  /**
   * Opens LevelDB and rebuilds the in-memory counters with one scan over all buffered entries
   * and dead letters: O(buffered bytes), a few seconds for a full 1 GiB outbox on a small box.
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new BufferError('CLOSED', 'an Outbox can be opened once');
    try {
      await this.db.open();
      let last = 0;
      for await (const [key, value] of this.db.iterator(OUTBOX_RANGE)) {
        const seq = parseSeqKey(OUTBOX_PREFIX, key);
        if (seq === undefined) continue;
        this.live.addRange(seq, seq + 1);
        this.bytes += bodyLength(value);
        last = seq;
      }
      const mark = parseMetaNumber(await this.db.get(META_OUTBOX_NEXT));
      this.nextSeq = Math.max(1, last + 1, mark ?? 0);
      await this.deadLetters.load();
    } catch (err) {
      await this.db.close().catch(() => {});
      this.state = 'closed';
      throw new BufferError(
        'STORE_FAILED',
        `cannot open buffer at ${this.opts.dir}: ${message(err)}`,
        { cause: err },
      );
    }
    this.state = 'open';
  }

  /**
   * Resolves once all `records` and `deadLetters` are synced to disk, in one atomic batch shared
   * with concurrent callers. Rejects with BUFFER_FULL (cap reached), STORE_FAILED or CLOSED; then
   * nothing of this call was written.
   */
  async append(
    records: readonly UsageRecordMsg[],
    deadLetters: readonly DeadLetterInput[] = [],
  ): Promise<void> {
    this.assertOpen();
    if (records.length === 0 && deadLetters.length === 0) return;
    const values = records.map((r) => frame(UsageRecord.encode(r).finish()));
    const bytes = values.reduce((n, v) => n + bodyLength(v), 0);
    if (bytes > 0 && this.bytes + this.reserved + bytes > this.maxBytes) {
      throw new BufferError(
        'BUFFER_FULL',
        `buffer full: ${this.bytes} of ${this.maxBytes} bytes used`,
      );
    }
    this.reserved += bytes; // released by writeGroup, whatever the outcome
    await this.commits.submit({ values, bytes, deadLetters, remove: [] });
  }

  /**
   * Up to `maxRecords` entries after the cursor, stopping before `maxBytes` would be exceeded
   * (but at least one entry if any exists). Entries failing their checksum are moved to the
   * dead letters (CORRUPT_OUTBOX_ENTRY) on the way and never returned. Reads are serialized.
   */
  async readBatch(limits: { maxRecords: number; maxBytes: number }): Promise<OutboxEntry[]> {
    this.assertOpen();
    return this.reader.read(limits.maxRecords, limits.maxBytes);
  }

  /**
   * Deletes the given entries (those still present; others are ignored, so acking twice is
   * harmless). The delete is NOT synced: if the machine crashes before LevelDB's log reaches the
   * disk, the entries come back and are sent again, and the rater's per-record dedupe turns the
   * duplicates into no-ops. Losing an ack costs a resend; losing an append would lose usage.
   */
  async ack(entries: readonly OutboxEntry[]): Promise<void> {
    this.assertOpen();
    const seqs = entries.map((e) => Number(e.seq)).filter((seq) => this.live.delete(seq));
    if (seqs.length === 0) return;
    const sizes = new Map(entries.map((e) => [Number(e.seq), e.bytes.length]));
    const bytes = seqs.reduce((n, s) => n + (sizes.get(s) ?? 0), 0);
    this.bytes -= bytes; // counted now, so a concurrent second ack cannot count them again
    await this.track(async () => {
      try {
        await this.opts.beforeWrite?.('ack');
        await this.db.batch(
          seqs.map((s): BatchOp => ({ type: 'del', key: seqKey(OUTBOX_PREFIX, s) })),
        );
      } catch (err) {
        for (const s of seqs) this.live.add(s);
        this.bytes += bytes;
        throw new BufferError('STORE_FAILED', `ack failed: ${message(err)}`, { cause: err });
      }
      this.counters.acked += seqs.length;
      this.compactor.noteDeleted(seqs);
    });
  }

  /** Moves entries (e.g. records the rater rejected) to the dead letters in one synced batch. */
  async deadLetter(items: readonly DeadLetterEntry[]): Promise<void> {
    this.assertOpen();
    if (items.length === 0) return;
    await this.commits.submit({
      values: [],
      bytes: 0,
      deadLetters: items.map(({ entry, letter }) => ({ ...letter, payload: entry.bytes })),
      remove: items.map(({ entry }) => {
        const seq = Number(entry.seq);
        return { key: seqKey(OUTBOX_PREFIX, seq), seq, bytes: entry.bytes.length };
      }),
    });
  }

  /**
   * Moves the cursor back to the first unacknowledged entry, so the next readBatch returns
   * everything handed out but not acked (after a failed send, or on reconnect).
   */
  rewind(): void {
    this.reader.rewind();
  }

  /** Whether committed entries exist after the read cursor. */
  hasUnread(): boolean {
    return this.reader.hasUnread();
  }

  /** Tells a waiting forwarder that entries were committed. Returns the unsubscribe function. */
  onAppend(listener: AppendListener): () => void {
    return this.signal.on(listener);
  }

  /** Resolves when entries are unread (at once if some are) or `signal` aborts (not on close). */
  waitForAppend(signal?: AbortSignal): Promise<void> {
    return this.signal.wait(() => this.hasUnread(), signal);
  }

  /** In-memory counters; no I/O. */
  stats(): OutboxStats {
    const dl = this.deadLetters.stats();
    const min = this.live.min;
    return {
      records: this.live.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      oldestSeq: min === undefined ? undefined : BigInt(min),
      nextSeq: BigInt(this.nextSeq),
      deadLetters: dl.count,
      deadLetterBytes: dl.bytes,
      deadLettersDropped: dl.dropped,
      ...this.counters,
      compactions: this.compactor.compactions,
    };
  }

  /** The oldest unacked entry and when it was received (one point read; for an age metric). */
  async oldest(): Promise<{ seq: bigint; receivedMs?: number } | undefined> {
    const seq = this.live.min;
    if (seq === undefined) return undefined;
    const value = await this.db.get(seqKey(OUTBOX_PREFIX, seq));
    const body = value === undefined ? undefined : unframe(value);
    try {
      if (body !== undefined)
        return { seq: BigInt(seq), receivedMs: Number(UsageRecord.decode(body).receivedMs) };
    } catch {
      // undecodable despite a good checksum: report the sequence only
    }
    return { seq: BigInt(seq) };
  }

  /** Refuses new calls, waits for the ones in flight and a running compaction, closes LevelDB. */
  close(): Promise<void> {
    if (this.state === 'new') this.state = 'closed';
    this.closing ??= (async () => {
      if (this.state === 'closed') return;
      this.state = 'closing';
      await this.reader.idle();
      await Promise.allSettled([...this.tasks]);
      await this.commits.idle();
      await this.compactor.stop();
      await this.db.close();
      this.state = 'closed';
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.state !== 'open')
      throw new BufferError('CLOSED', `outbox is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  /** Moves entries that failed their checksum to the dead letters, raw bytes kept. */
  private async quarantine(corrupt: CorruptEntry[]): Promise<void> {
    const receivedMs = this.now();
    await this.commits.submit({
      values: [],
      bytes: 0,
      deadLetters: corrupt.map((c) => ({
        code: 'CORRUPT_OUTBOX_ENTRY',
        reason: `outbox entry ${c.key} failed its CRC32 check; its raw stored value is the payload`,
        payload: c.value,
        receivedMs,
      })),
      remove: corrupt.map((c) => ({ key: c.key, seq: c.seq, bytes: bodyLength(c.value) })),
    });
    this.counters.corrupt += corrupt.length;
    this.logger.warn(
      { keys: corrupt.map((c) => c.key) },
      'corrupt outbox entries moved to dead letters',
    );
  }

  /** One synced batch for a group of jobs (see GroupCommit); updates memory only on success. */
  private async writeGroup(jobs: Job[]): Promise<void> {
    const bytes = jobs.reduce((n, j) => n + j.bytes, 0);
    const first = this.nextSeq;
    const removals = jobs.flatMap((j) => j.remove);
    let staged: StagedDeadLetters;
    try {
      const ops: BatchOp[] = [];
      for (const value of jobs.flatMap((j) => j.values))
        ops.push({ type: 'put', key: seqKey(OUTBOX_PREFIX, this.nextSeq++), value });
      // The high-water mark: sequence numbers stay unique even once every entry is deleted.
      if (this.nextSeq > first)
        ops.push({ type: 'put', key: META_OUTBOX_NEXT, value: Buffer.from(String(this.nextSeq)) });
      staged = this.deadLetters.stage(jobs.flatMap((j) => j.deadLetters));
      ops.push(...staged.ops, ...removals.map((r): BatchOp => ({ type: 'del', key: r.key })));
      await this.opts.beforeWrite?.('commit');
      await this.db.batch(ops, { sync: true });
    } catch (err) {
      this.reserved -= bytes; // the numbers assigned above are simply never used
      throw new BufferError('STORE_FAILED', `durable write failed: ${message(err)}`, {
        cause: err,
      });
    }
    const end = this.nextSeq;
    this.reserved -= bytes;
    this.bytes += bytes;
    this.live.addRange(first, end);
    for (const r of removals)
      if (r.seq !== undefined && this.live.delete(r.seq)) this.bytes -= r.bytes;
    staged.commit();
    this.counters.batchWrites++;
    this.counters.appended += end - first;
    if (end > first) this.signal.emit({ records: end - first, lastSeq: BigInt(end - 1) });
  }

  private track(fn: () => Promise<void>): Promise<void> {
    const p = fn();
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p)).catch(() => {});
    return p;
  }
}
