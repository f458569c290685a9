// Guarantee 1, rater side: the rater acknowledges a batch only after its transaction committed.
// When the database is gone, the batch gets UNAVAILABLE (never OK), so the collector keeps the
// records in its outbox and retries them.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { encodeBatch, RaterClient } from '../collector/forward/client.ts';
import { UsageRecord } from '../proto/index.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { openStore } from '../rater/storage/open.ts';
import {
  T0,
  device,
  report,
  startCollector,
  tempDir,
  waitFor,
  cleanupAfterAll,
} from './helpers/stack.ts';

describe('rater with its database down', () => {
  const cleanup = cleanupAfterAll();

  it('answers UNAVAILABLE and the collector keeps every record', async () => {
    const store = await openStore('embedded:memory');
    const config = loadRaterConfig({
      env: {},
      flags: { grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0' },
    });
    const rater = await new Rater(config, { logger: silentLogger(), store }).start();
    cleanup.push(() => rater.close());
    await store.close(); // the database goes away under a running rater

    const client = new RaterClient(`127.0.0.1:${rater.grpcPort}`);
    const record = Buffer.from(
      UsageRecord.encode({
        deviceId: 'dbdown-1',
        seq: 1,
        endMs: T0,
        up: 1,
        down: 1,
        receivedMs: T0,
      }).finish(),
    );
    const err = await client.send(encodeBatch('gw-x', 'b-1', [record]), 5000).then(
      () => undefined,
      (e: { code?: number; details?: string }) => e,
    );
    client.close();
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(err?.details).toMatch(/^DB_UNAVAILABLE/);

    const dir = await tempDir();
    cleanup.push(dir.remove);
    const collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: dir.path });
    cleanup.push(() => collector.close());
    const dev = await device(collector.mqttPort, 'dbdown-1');
    for (let s = 1; s <= 5; s++)
      await dev.publishAsync('usage/dbdown-1', report(s, 1, 1), { qos: 1 });
    await dev.endAsync();
    await waitFor(async () => {
      const errors = (await collector.metrics.batchErrors.get()).values;
      return errors.some((v) => v.labels.code === 'UNAVAILABLE' && v.value >= 2) ? true : undefined;
    }, 'UNAVAILABLE answers');
    expect(collector.outboxStats().records).toBe(5);
  });
});
