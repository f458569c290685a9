// The rater is down: the collector keeps accepting, and delivers everything after the rater
// returns. A collector restarted with a backlog resumes from its outbox. Nothing is lost and
// nothing is counted twice.
import { describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import type { Rater } from '../rater/rater.ts';
import {
  device,
  freePort,
  report,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  usageTotals,
  waitFor,
  cleanupAfterAll,
} from './helpers/stack.ts';

describe('rater outage and collector restart', () => {
  const cleanup = cleanupAfterAll();

  it('accepts while the rater is down, delivers after it returns, and resumes after a restart', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const raterPort = await freePort();

    // 1. Rater down: devices still get PUBACKs; records wait in the outbox.
    let collector: Collector = await startCollector({ raterPort, bufferDir: dir.path });
    const dev = await device(collector.mqttPort, 'out-1');
    for (let s = 1; s <= 50; s++)
      await dev.publishAsync('usage/out-1', report(s, s, 2 * s), { qos: 1 });
    await dev.endAsync();
    expect(collector.outboxStats().records).toBe(50);

    // 2. Collector restarted while the rater is still down: the backlog is on disk.
    await collector.close();
    collector = await startCollector({ raterPort, bufferDir: dir.path });
    expect(collector.outboxStats().records).toBe(50);
    const dev2 = await device(collector.mqttPort, 'out-1');
    for (let s = 51; s <= 60; s++)
      await dev2.publishAsync('usage/out-1', report(s, s, 2 * s), { qos: 1 });
    await dev2.endAsync();
    expect(collector.outboxStats().records).toBe(60);

    // 3. The rater comes back on the same address: the forwarder's retries reach it.
    const rater: Rater = await startRater('embedded:memory', raterPort);
    cleanup.push(() => rater.close());
    cleanup.push(() => collector.close());
    const sumUp = (60 * 61) / 2;
    expect(await settledTotals(rater, 'out-1', 60)).toEqual({
      up: sumUp,
      down: 2 * sumUp,
      records: 60,
    });
    await waitFor(
      () => (collector.outboxStats().records === 0 ? true : undefined),
      'outbox drained',
    );
    const retries = await collector.metrics.batchRetries.get();
    expect(retries.values[0]?.value ?? 0).toBeGreaterThan(0);
    expect(await usageTotals(rater, 'out-1')).toEqual({ up: sumUp, down: 2 * sumUp, records: 60 });
  });

  it('a collector that resends acknowledged batches (lost acks) changes no total', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const rater = await startRater('embedded:memory');
    cleanup.push(() => rater.close());
    const collector = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: dir.path,
      collectorId: 'gw-a',
    });
    const dev = await device(collector.mqttPort, 'resend-1');
    for (let s = 1; s <= 20; s++)
      await dev.publishAsync('usage/resend-1', report(s, 5, 5), { qos: 1 });
    await dev.endAsync();
    await settledTotals(rater, 'resend-1', 20);
    await collector.close();

    // A second collector receives the same reports (a device roaming between gateways, or a
    // replay): the rater sees every key again from another collector id.
    const dir2 = await tempDir();
    cleanup.push(dir2.remove);
    const other = await startCollector({
      raterPort: rater.grpcPort,
      bufferDir: dir2.path,
      collectorId: 'gw-b',
    });
    cleanup.push(() => other.close());
    const dev2 = await device(other.mqttPort, 'resend-1');
    for (let s = 1; s <= 20; s++)
      await dev2.publishAsync('usage/resend-1', report(s, 5, 5), { qos: 1 });
    await dev2.endAsync();
    // The forwarder counts a batch's verdicts after the outbox ack, so wait on the counter itself.
    const forwarded = async () => {
      const v = (await other.metrics.recordsForwarded.get()).values;
      return v.reduce((sum, x) => sum + x.value, 0);
    };
    await waitFor(
      async () => ((await forwarded()) >= 20 ? true : undefined),
      '20 forwarded records',
    );
    const dup = await other.metrics.recordsForwarded.get();
    expect(dup.values).toContainEqual(
      expect.objectContaining({ labels: { result: 'duplicate' }, value: 20 }),
    );
    expect(await usageTotals(rater, 'resend-1')).toEqual({ up: 100, down: 100, records: 20 });
  });

  it('survives failing outbox acks: the batch is resent, and totals stay exact', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const rater = await startRater('embedded:memory');
    cleanup.push(() => rater.close());
    let failAcks = 3;
    const collector = await startCollector(
      { raterPort: rater.grpcPort, bufferDir: dir.path },
      {
        beforeWrite: (kind) => {
          if (kind === 'ack' && failAcks-- > 0) throw new Error('injected ack failure');
        },
      },
    );
    cleanup.push(() => collector.close());
    const dev = await device(collector.mqttPort, 'ackfail-1');
    for (let s = 1; s <= 10; s++)
      await dev.publishAsync('usage/ackfail-1', report(s, 3, 4), { qos: 1 });
    await dev.endAsync();
    await waitFor(
      () => (collector.outboxStats().records === 0 ? true : undefined),
      'outbox drained',
    );
    expect(failAcks).toBeLessThan(0);
    expect(await usageTotals(rater, 'ackfail-1')).toEqual({ up: 30, down: 40, records: 10 });
  });
});
