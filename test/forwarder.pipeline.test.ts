// The forwarder with several batches in flight, over a real LevelDB outbox. The rater side is a
// BatchSender that answers when the test says so: the order of a real rater's answers cannot be
// chosen, and out-of-order answers are exactly what these tests are about.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IngestBatchRequest,
  type IngestBatchResponseMsg,
  type UsageRecordMsg,
} from '../proto/index.ts';
import { Outbox } from '../collector/buffer/outbox.ts';
import { Forwarder, type BatchSender } from '../collector/forward/forwarder.ts';
import { CollectorMetrics } from '../collector/metrics.ts';
import { silentLogger } from '../common/logger.ts';

const T0 = Date.UTC(2024, 0, 1);
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const record = (seq: number): UsageRecordMsg => ({
  deviceId: 'dev-1',
  seq,
  endMs: T0 + seq * 1000,
  up: seq,
  down: 1,
  receivedMs: T0,
});

interface Sent {
  batchId: string;
  records: number;
  answer: (res?: IngestBatchResponseMsg) => void;
}

/** Holds every request until the test answers it. */
class HeldSender implements BatchSender {
  readonly sent: Sent[] = [];
  private waiters: Array<() => void> = [];

  send(request: Buffer): Promise<IngestBatchResponseMsg> {
    const req = IngestBatchRequest.decode(request);
    return new Promise((resolve) => {
      const records = req.records?.length ?? 0;
      this.sent.push({
        batchId: req.batchId ?? '',
        records,
        answer: (res) => resolve(res ?? { accepted: records, duplicates: 0, conflicts: 0 }),
      });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once `n` requests were sent (and fails the test after 10 s). */
  async until(n: number): Promise<void> {
    const limit = Date.now() + 10_000;
    while (this.sent.length < n) {
      if (Date.now() > limit) throw new Error(`only ${this.sent.length} of ${n} batches sent`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

async function setup(
  maxInFlight: number,
  records: number,
  failAcks = 0,
  extra: UsageRecordMsg[] = [],
) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'edgemeter-forwarder-'));
  const outbox = new Outbox({
    dir: path.join(dir, 'outbox'),
    logger: { warn: () => {} },
    beforeWrite: (kind) => {
      if (kind === 'ack' && failAcks-- > 0) throw new Error('injected ack failure');
    },
  });
  await outbox.open();
  await outbox.append(Array.from({ length: records }, (_, i) => record(i + 1)));
  if (extra.length > 0) await outbox.append(extra);
  const sender = new HeldSender();
  const forwarder = new Forwarder(
    {
      collectorId: 'gw-1',
      maxRecords: 10,
      maxBytes: 1 << 20,
      lingerMs: 0,
      maxInFlight,
      deadlineMs: 5_000,
      retryInitialMs: 10,
      retryMaxMs: 50,
    },
    { source: outbox, sender, logger: silentLogger(), metrics: new CollectorMetrics() },
  );
  cleanup.push(async () => {
    for (const s of sender.sent) s.answer();
    await forwarder.stop();
    await outbox.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  forwarder.start();
  return { outbox, sender, forwarder };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const limit = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Forwarder with several batches in flight', () => {
  it('sends up to maxInFlight batches before any answer, and no more', async () => {
    const { sender } = await setup(3, 50);
    await sender.until(3);
    // Give it every chance to send a fourth one.
    await new Promise((r) => setTimeout(r, 200));
    expect(sender.sent.map((s) => s.batchId)).toEqual(['gw-1:1-10', 'gw-1:11-20', 'gw-1:21-30']);
    (sender.sent[0] as Sent).answer();
    await sender.until(4);
    expect(sender.sent[3]?.batchId).toBe('gw-1:31-40');
  });

  it('deletes exactly the entries of the batch answered, in whatever order answers come', async () => {
    const { outbox, sender } = await setup(3, 30);
    await sender.until(3);
    (sender.sent[1] as Sent).answer();
    // `records` drops when the ack starts and `acked` counts once its delete is written: wait
    // for the latter, or the check below races the write.
    await eventually(() => outbox.stats().acked === 10, 'the second batch to be acked');
    // The first batch is still unanswered: its entries stay, so the oldest is still seq 1.
    expect(outbox.stats()).toMatchObject({ records: 20, oldestSeq: 1n, acked: 10 });
    (sender.sent[2] as Sent).answer();
    (sender.sent[0] as Sent).answer();
    await eventually(() => outbox.stats().acked === 30, 'the outbox to drain');
    expect(outbox.stats()).toMatchObject({ records: 0, acked: 30 });
    expect(sender.sent).toHaveLength(3);
  });

  it('sends a batch again when its ack failed, though nothing new is appended', async () => {
    // Two batches of three slots: the loop is waiting for appends when the ack fails.
    const { outbox, sender } = await setup(3, 20, 1);
    await sender.until(2);
    (sender.sent[0] as Sent).answer(); // its ack fails: the entries stay
    (sender.sent[1] as Sent).answer();
    await sender.until(3);
    expect(sender.sent[2]?.batchId).toBe('gw-1:1-10');
    (sender.sent[2] as Sent).answer();
    await eventually(() => outbox.stats().records === 0, 'the outbox to drain');
  });

  it('holds back a batch that repeats a key still in flight, so the first version stays', async () => {
    // Seq 5 again with other content (a conflict): whichever version the rater stores first is
    // the one billed, so the second may not overtake the first.
    const changed = { ...record(5), up: 999 };
    const { sender } = await setup(3, 10, 0, [changed, record(11)]);
    await sender.until(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(sender.sent.map((s) => s.batchId)).toEqual(['gw-1:1-10']);
    (sender.sent[0] as Sent).answer();
    await sender.until(2);
    expect(sender.sent[1]).toMatchObject({ batchId: 'gw-1:11-12', records: 2 });
  });

  it('keeps several batches in flight when their keys differ', async () => {
    const { sender } = await setup(3, 10, 0, [record(11), record(12)]);
    await sender.until(2);
    expect(sender.sent.map((s) => s.batchId)).toEqual(['gw-1:1-10', 'gw-1:11-12']);
  });

  it('stops though stop() came while the loop awaited a batch in flight', async () => {
    // The abort happens before the loop's next wait for appends begins: that wait must see it,
    // or stop() (and a collector's shutdown) hangs until a publish that never comes.
    const { sender, forwarder } = await setup(1, 5);
    await sender.until(1);
    const stopped = forwarder.stop().then(() => 'stopped');
    (sender.sent[0] as Sent).answer();
    const hung = new Promise((r) => setTimeout(() => r('hung'), 10_000));
    expect(await Promise.race([stopped, hung])).toBe('stopped');
  });

  it('with maxInFlight 1 waits for each answer before the next batch', async () => {
    const { sender } = await setup(1, 30);
    await sender.until(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(sender.sent).toHaveLength(1);
    (sender.sent[0] as Sent).answer();
    await sender.until(2);
    expect(sender.sent.map((s) => s.records)).toEqual([10, 10]);
  });
});
