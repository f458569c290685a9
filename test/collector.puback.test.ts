// Guarantee 1: a QoS 1 PUBACK means the record is durable on the collector's disk. When the
// durable write fails, the device gets no PUBACK (the connection is closed, so it keeps the
// report); when the write succeeds, it does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { device, freePort, report, startCollector, tempDir, waitFor } from './helpers/stack.ts';

describe('PUBACK after the durable write', () => {
  let collector: Collector;
  let removeDir: () => Promise<void>;
  let failWrites = false;
  let writes = 0;

  beforeAll(async () => {
    const dir = await tempDir();
    removeDir = dir.remove;
    // No rater: forwarding is irrelevant here, and records stay in the outbox where we count them.
    collector = await startCollector(
      { raterPort: await freePort(), bufferDir: dir.path },
      {
        beforeWrite: (kind) => {
          if (kind !== 'commit') return;
          writes++;
          if (failWrites) throw new Error('injected disk failure');
        },
      },
    );
  });
  afterAll(async () => {
    await collector?.close();
    await removeDir?.();
  });

  it('is not sent when the store fails, and nothing is half-written', async () => {
    failWrites = true;
    const dev = await device(collector.mqttPort, 'pa-1');
    let acked = false;
    const closed = new Promise<void>((resolve) => dev.once('close', () => resolve()));
    dev.publishAsync('usage/pa-1', report(1, 100, 200), { qos: 1 }).then(
      () => (acked = true),
      () => undefined,
    );
    await closed; // the collector refuses by closing the connection
    expect(acked).toBe(false);
    expect(writes).toBeGreaterThan(0);
    expect(collector.outboxStats().records).toBe(0);
    const refused = await collector.metrics.publishesRefused.get();
    expect(refused.values).toContainEqual(
      expect.objectContaining({ labels: { code: 'STORE_FAILED' }, value: 1 }),
    );
    dev.end(true);
  });

  it('is sent once the record is on disk', async () => {
    failWrites = false;
    const dev = await device(collector.mqttPort, 'pa-1');
    const before = collector.outboxStats().records;
    await dev.publishAsync('usage/pa-1', report(1, 100, 200), { qos: 1 });
    // The PUBACK has arrived, so the record must already be in the synced outbox.
    expect(collector.outboxStats().records).toBe(before + 1);
    await dev.endAsync();
  });

  it('group-commits concurrent publishes from many devices into few synced writes', async () => {
    const devices = await Promise.all(
      Array.from({ length: 20 }, (_, i) => device(collector.mqttPort, `gc-${i}`)),
    );
    const writesBefore = writes;
    const before = collector.outboxStats().records;
    await Promise.all(
      devices.flatMap((d, i) =>
        Array.from({ length: 10 }, (_, s) =>
          d.publishAsync(`usage/gc-${i}`, report(s + 1, 1, 1), { qos: 1 }),
        ),
      ),
    );
    expect(collector.outboxStats().records).toBe(before + 200);
    expect(writes - writesBefore).toBeLessThan(200);
    await Promise.all(devices.map((d) => d.endAsync()));
    await waitFor(
      () => (collector.outboxStats().records === before + 200 ? true : undefined),
      'outbox count',
    );
  });
});
