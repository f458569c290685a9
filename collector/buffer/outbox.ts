// The collector's durable outbox (Guarantee 1 in PRODUCT.md): a record is acknowledged to its
// device only after `append` resolved, i.e. after a synced LevelDB batch holds it, and it leaves
// the outbox only when the forwarder acks it after the rater committed it. Layout: codec.ts.
//
// Sequence numbers are the outbox keys. They are assigned in commit order (so a reader never
// sees a lower one appear behind its cursor) and never reused, also across restarts and after the
// outbox was drained: a high-water mark is written with every batch. Reading: reader.ts; entries
// that fail their checksum go to the quarantine (quarantine.ts).
//
// Full (Guarantee 3): at `maxBytes` the stated policy applies (`refuse` or `drop-oldest`, see
// types.ts and full-policy.ts); below `minFreeBytes` of free disk, appends are refused
// (disk-guard.ts). A LevelDB write that fails (a full disk, an I/O error) leaves its log in an
// unknown state: LevelDB may silently lose later writes that it reports as synced. So after a
// failed write the outbox refuses every write and reopens the database (which starts a new log)
// before it takes another (recovery.ts).
import { ClassicLevel } from 'classic-level';
import { UsageRecord, type UsageRecordMsg } from '../../proto/index.ts';
import { DiskGuard } from './disk-guard.ts';
import { BufferError, errorMessage as message } from './errors.ts';
import { isLevelLocked } from '../../common/errors.ts';
import {
  DeadLetterStore,
  QUARANTINE_LAYOUT,
  type DeadLetterInput,
  type StagedDeadLetters,
} from './dead-letters.ts';
import { GroupCommit } from './group-commit.ts';
import { SeqSet } from './seq-set.ts';
import { writeBatch } from './write-batch.ts';
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
import { admitWhatFits, pickVictims, reportDropped, type Victim } from './full-policy.ts';
import { diskNeeds, type Job } from './job.ts';
import { AppendSignal } from './notify.ts';
import { quarantineJob } from './quarantine.ts';
import { OutboxReader, type CorruptEntry } from './reader.ts';
import { Reopener } from './recovery.ts';
import { newCounters, outboxStats } from './stats.ts';
import type {
  AppendListener,
  BufferFullPolicy,
  BufferLogger,
  DeadLetterEntry,
  OutboxEntry,
  OutboxOptions,
  OutboxStats,
} from './types.ts';

export type * from './types.ts';

const OUTBOX_RANGE = prefixRange(OUTBOX_PREFIX);
export class Outbox {
  readonly deadLetters: DeadLetterStore;
  /** Outbox entries that failed their checksum, with the reason (never forwarded). */
  readonly quarantine: DeadLetterStore;
  private readonly db: ClassicLevel<string, Buffer>;
  private readonly maxBytes: number;
  private readonly policy: BufferFullPolicy;
  private readonly minFreeBytes: number;
  private readonly now: () => number;
  private readonly logger: BufferLogger;
  private readonly commits = new GroupCommit<Job>((jobs) => this.writeGroup(jobs));
  private readonly signal: AppendSignal;
  private readonly compactor: RangeCompactor;
  /** Acks in flight, for close(). */
  private readonly tasks = new Set<Promise<unknown>>();
  private state: OutboxStats['state'] = 'new';
  private closing: Promise<void> | undefined;
  private recovery: Promise<void> | undefined;
  private readonly reopener: Reopener;

  /** Sequence numbers of the entries on disk; `records` is its size. */
  private readonly live = new SeqSet();
  private bytes = 0;
  /** Bytes of appends queued or in flight, so that concurrent appends cannot overshoot the cap. */
  private reserved = 0;
  private nextSeq = 1;
  /** Every sequence number below this one was committed (or failed) and is known to `live`. */
  private durableNext = 1;
  private readonly reader: OutboxReader;
  private readonly counters = newCounters();
  private lastStoreError: string | undefined;
  private readonly disk: DiskGuard;

  constructor(private readonly opts: OutboxOptions) {
    this.db = new ClassicLevel<string, Buffer>(opts.dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    });
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.policy = opts.fullPolicy ?? 'refuse';
    this.minFreeBytes = opts.minFreeBytes ?? 0;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? { warn: (obj, msg) => console.warn(`[outbox] ${msg}`, obj) };
    this.deadLetters = new DeadLetterStore(this.db, opts.deadLetterMaxBytes ?? 32 * 1024 ** 2);
    this.quarantine = new DeadLetterStore(
      this.db,
      opts.quarantineMaxBytes ?? 32 * 1024 ** 2,
      QUARANTINE_LAYOUT,
    );
    this.signal = new AppendSignal(this.logger);
    this.reader = new OutboxReader(this.db, this.live, {
      quarantine: (corrupt) => this.quarantineEntries(corrupt),
      gone: (seq) => seq < this.durableNext && !this.live.has(seq),
    });
    this.compactor = new RangeCompactor(
      opts.compactEvery ?? 10_000,
      (lo, hi) => this.db.compactRange(seqKey(OUTBOX_PREFIX, lo), seqKey(OUTBOX_PREFIX, hi + 1)),
      this.logger,
      () => {
        if (this.disk.low && this.state === 'open') void this.disk.check();
      },
    );
    this.disk = new DiskGuard({
      dir: opts.dir,
      minFreeBytes: this.minFreeBytes,
      ...(opts.diskFree ? { diskFree: opts.diskFree } : {}),
      logger: this.logger,
      isOpen: () => this.state === 'open',
      reclaim: () => void this.compactor.flush(),
    });
    this.reopener = new Reopener({
      db: this.db,
      logger: this.logger,
      recovering: () => this.state === 'recovering',
      settled: async () => {
        await this.reader.idle();
        await Promise.allSettled([...this.tasks]);
        await this.commits.idle();
        await this.compactor.idle();
      },
      load: () => this.load(),
      reopened: (attempts) => {
        this.state = 'open';
        this.counters.recoveries++;
        this.logger.warn(
          { records: this.live.size, bytes: this.bytes, attempts },
          'buffer reopened after a failed write; accepting writes again',
        );
        void this.disk.check();
        const max = this.live.max;
        if (max !== undefined) this.signal.emit({ records: 0, lastSeq: BigInt(max) });
      },
    });
  }

  /**
   * Opens LevelDB and rebuilds the in-memory counters with one scan over all buffered entries,
   * dead letters and quarantined entries: O(buffered bytes), a few seconds for a full 1 GiB
   * outbox on a small box.
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new BufferError('CLOSED', 'an Outbox can be opened once');
    try {
      await this.db.open();
      await this.load();
    } catch (err) {
      await this.db.close().catch(() => {});
      this.state = 'closed';
      throw new BufferError(
        'STORE_FAILED',
        isLevelLocked(err)
          ? `cannot open buffer at ${this.opts.dir}: it is in use by another collector (one collector per bufferDir)`
          : `cannot open buffer at ${this.opts.dir}: ${message(err)}`,
        { cause: err },
      );
    }
    this.state = 'open';
  }

  /**
   * Resolves once all `records` and `deadLetters` are synced to disk, in one atomic batch shared
   * with concurrent callers. Rejects with BUFFER_FULL (cap reached, or the disk below its
   * reserve), STORE_FAILED or CLOSED; then nothing of this call was written.
   */
  async append(
    records: readonly UsageRecordMsg[],
    deadLetters: readonly DeadLetterInput[] = [],
  ): Promise<void> {
    this.assertOpen();
    if (records.length === 0 && deadLetters.length === 0) return;
    const values = records.map((r) => frame(UsageRecord.encode(r).finish()));
    const bytes = values.reduce((n, v) => n + bodyLength(v), 0);
    // drop-oldest makes room at commit time (writeGroup); only what can never fit is refused here.
    const used = this.policy === 'refuse' ? this.bytes + this.reserved : 0;
    if (bytes > 0 && used + bytes > this.maxBytes) {
      throw new BufferError(
        'BUFFER_FULL',
        this.policy === 'refuse'
          ? `buffer full: ${this.bytes} of ${this.maxBytes} bytes used`
          : `${bytes} bytes of records exceed the whole buffer (${this.maxBytes} bytes)`,
      );
    }
    this.reserved += bytes; // released by writeGroup, whatever the outcome
    await this.commits.submit({ values, bytes, deadLetters, quarantine: [], remove: [] });
  }

  /**
   * Up to `maxRecords` entries after the cursor, stopping before `maxBytes` would be exceeded
   * (but at least one entry if any exists). Entries failing their checksum are moved to the
   * quarantine (CORRUPT_OUTBOX_ENTRY) on the way and never returned. Reads are serialized.
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
    const restore = () => {
      for (const s of seqs) this.live.add(s);
      this.bytes += bytes;
    };
    await this.track(async () => {
      try {
        await this.opts.beforeWrite?.('ack');
      } catch (err) {
        restore();
        throw new BufferError('STORE_FAILED', `ack failed: ${message(err)}`, { cause: err });
      }
      try {
        await writeBatch(
          this.db,
          seqs.map((s): BatchOp => ({ type: 'del', key: seqKey(OUTBOX_PREFIX, s) })),
        );
      } catch (err) {
        restore();
        throw this.storeFailed('ack failed', err);
      }
      this.counters.acked += seqs.length;
      this.compactor.noteDeleted(seqs);
      // Deletes free disk space only once compacted: with the disk low, do not wait for 10,000.
      if (this.disk.low) void this.compactor.flush();
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
      quarantine: [],
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
    return outboxStats({
      state: this.state,
      records: this.live.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      fullPolicy: this.policy,
      minFreeBytes: this.minFreeBytes,
      disk: this.disk,
      lastStoreError: this.lastStoreError,
      min: this.live.min,
      nextSeq: this.nextSeq,
      deadLetters: this.deadLetters.stats(),
      quarantine: this.quarantine.stats(),
      counters: this.counters,
      compactions: this.compactor.compactions,
    });
  }

  /** The oldest unacked entry and when it was received (one point read; for an age metric). */
  async oldest(): Promise<{ seq: bigint; receivedMs?: number } | undefined> {
    const seq = this.live.min;
    if (seq === undefined) return undefined;
    if (this.state !== 'open') return { seq: BigInt(seq) };
    try {
      const value = await this.db.get(seqKey(OUTBOX_PREFIX, seq));
      const body = value === undefined ? undefined : unframe(value);
      if (body !== undefined)
        return { seq: BigInt(seq), receivedMs: Number(UsageRecord.decode(body).receivedMs) };
    } catch {
      // unreadable, or undecodable despite a good checksum: report the sequence only
    }
    return { seq: BigInt(seq) };
  }

  /** Refuses new calls, waits for the ones in flight and a running compaction, closes LevelDB. */
  close(): Promise<void> {
    if (this.state === 'new') this.state = 'closed';
    this.closing ??= (async () => {
      if (this.state === 'closed') return;
      this.state = 'closing';
      this.reopener.abort();
      this.disk.stop();
      await this.recovery;
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
    if (this.state === 'open') return;
    if (this.state === 'recovering')
      throw new BufferError(
        'STORE_FAILED',
        `buffer is being reopened after a failed write (${this.lastStoreError ?? 'unknown error'}); try again later`,
      );
    throw new BufferError('CLOSED', `outbox is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  /**
   * Rebuilds the in-memory state from disk (on open and after a reopen). The scan fills a set of
   * its own, swapped in when complete: during a reopen the counters keep telling what is
   * buffered, where a half-done scan (0 records at first) read as a drained outbox.
   */
  private async load(): Promise<void> {
    const found = new SeqSet();
    let bytes = 0;
    let last = 0;
    for await (const [key, value] of this.db.iterator(OUTBOX_RANGE)) {
      const seq = parseSeqKey(OUTBOX_PREFIX, key);
      if (seq === undefined) continue;
      found.addRange(seq, seq + 1);
      bytes += bodyLength(value);
      last = seq;
    }
    this.live.replaceWith(found);
    this.bytes = bytes;
    const mark = parseMetaNumber(await this.db.get(META_OUTBOX_NEXT));
    // Numbers handed to failed writes are never reused either.
    this.nextSeq = Math.max(this.nextSeq, last + 1, mark ?? 0);
    this.durableNext = this.nextSeq;
    await this.deadLetters.load();
    await this.quarantine.load();
  }

  /**
   * A LevelDB write failed. Its log may now hold a torn record, and LevelDB can lose later
   * writes to the same log on recovery, even synced ones (seen on a full disk: writes that
   * succeeded after space was freed were gone after a restart). So every write is refused from
   * here on, and the database is reopened, which replays the log up to the torn record and
   * starts a new one. Returns the error for the caller.
   */
  private storeFailed(what: string, err: unknown): BufferError {
    const text = `${what}: ${message(err)}`;
    if (this.state === 'open') {
      this.state = 'recovering';
      this.counters.storeErrors++;
      this.lastStoreError = text;
      this.logger.warn(
        { err: message(err) },
        'LevelDB write failed: refusing writes until the buffer is reopened',
      );
      this.recovery = this.reopener.run();
    }
    return new BufferError('STORE_FAILED', `${text}; the buffer is being reopened`, {
      cause: err,
    });
  }

  /** Moves entries that failed their checksum to the quarantine, raw bytes kept. */
  private async quarantineEntries(corrupt: CorruptEntry[]): Promise<void> {
    if (this.state === 'recovering') this.assertOpen();
    await this.commits.submit(quarantineJob(corrupt, this.now()));
    this.counters.corrupt += corrupt.length;
    this.logger.warn(
      { keys: corrupt.map((c) => c.key) },
      'damaged outbox entries moved to the quarantine',
    );
  }

  /**
   * One synced batch for a group of jobs (see GroupCommit); updates memory only on success.
   * Returns, per job, the error of a job left out: no room under the disk reserve, or under the
   * cap when drop-oldest finds too little unsent data to drop.
   */
  private async writeGroup(jobs: Job[]): Promise<Array<Error | undefined>> {
    const reserved = jobs.reduce((n, j) => n + j.bytes, 0);
    let release: (() => void) | undefined;
    try {
      // Jobs queued before a failed write must not reach the old log either.
      if (this.state === 'recovering') this.assertOpen();
      const refused: Array<Error | undefined> = await this.diskGuard(jobs);
      let victims: Victim[] = [];
      const adding = () => jobs.reduce((n, j, i) => n + (refused[i] ? 0 : j.bytes), 0);
      const over = this.bytes + adding() - this.maxBytes;
      if (this.policy === 'drop-oldest' && over > 0) {
        // From here until the batch is written (or failed), reads hand out nothing unsent, so
        // no entry is both dropped and forwarded; entries already handed out are never picked.
        const done = new Promise<void>((resolve) => (release = resolve));
        const frontier = this.reader.frontier();
        this.reader.hold(frontier, done);
        victims = await pickVictims(this.db, this.live, frontier, over);
        const freed = victims.reduce((n, v) => n + v.bytes, 0);
        // Not enough unsent data: admit the jobs that fit, in order; refuse the others.
        if (freed < over)
          victims = admitWhatFits(jobs, refused, victims, freed, this.bytes, this.maxBytes);
      }
      const admitted = jobs.filter((_, i) => refused[i] === undefined);
      if (admitted.length > 0) await this.commit(admitted, victims);
      return refused;
    } finally {
      this.reserved -= reserved;
      release?.();
    }
  }

  /** Refuses the jobs that add data when the buffer's file system is below its reserve. */
  private diskGuard(jobs: Job[]): Promise<Array<Error | undefined>> {
    return this.disk.admit(diskNeeds(jobs));
  }

  private async commit(jobs: Job[], victims: Victim[]): Promise<void> {
    const bytes = jobs.reduce((n, j) => n + j.bytes, 0);
    const first = this.nextSeq;
    const removals = jobs.flatMap((j) => j.remove);
    const ops: BatchOp[] = [];
    for (const value of jobs.flatMap((j) => j.values))
      ops.push({ type: 'put', key: seqKey(OUTBOX_PREFIX, this.nextSeq++), value });
    // The high-water mark: sequence numbers stay unique even once every entry is deleted.
    if (this.nextSeq > first)
      ops.push({ type: 'put', key: META_OUTBOX_NEXT, value: Buffer.from(String(this.nextSeq)) });
    const staged: StagedDeadLetters[] = [
      this.deadLetters.stage(jobs.flatMap((j) => j.deadLetters)),
      this.quarantine.stage(jobs.flatMap((j) => j.quarantine)),
    ];
    for (const s of staged) ops.push(...s.ops);
    for (const r of removals) ops.push({ type: 'del', key: r.key });
    // Dropped entries go in the same synced batch as the records they make room for: a crash
    // keeps either both the old entries and no new ones, or the new ones only.
    for (const v of victims) ops.push({ type: 'del', key: v.key });
    // The numbers assigned above are simply never used if the write fails.
    try {
      await this.opts.beforeWrite?.('commit');
    } catch (err) {
      throw new BufferError('STORE_FAILED', `durable write failed: ${message(err)}`, {
        cause: err,
      });
    }
    try {
      await writeBatch(this.db, ops, { sync: true });
    } catch (err) {
      throw this.storeFailed('durable write failed', err);
    }
    const end = this.nextSeq;
    this.durableNext = end;
    this.bytes += bytes;
    this.live.addRange(first, end);
    for (const r of removals)
      if (r.seq !== undefined && this.live.delete(r.seq)) this.bytes -= r.bytes;
    const dropped = victims.filter((v) => this.live.delete(v.seq));
    for (const s of staged) s.commit();
    this.counters.batchWrites++;
    this.counters.appended += end - first;
    if (dropped.length > 0) this.noteDropped(dropped);
    if (end > first) this.signal.emit({ records: end - first, lastSeq: BigInt(end - 1) });
  }

  private noteDropped(dropped: Victim[]): void {
    const bytes = dropped.reduce((n, v) => n + v.bytes, 0);
    this.bytes -= bytes;
    this.counters.dropped += dropped.length;
    this.counters.droppedBytes += bytes;
    reportDropped(dropped, bytes, this.counters.dropped, this.logger, this.opts);
  }

  private track(fn: () => Promise<void>): Promise<void> {
    const p = fn();
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p)).catch(() => {});
    return p;
  }
}
