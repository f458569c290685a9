// Guarantee 3: the collector's disk use is capped. At the cap it refuses new publishes (no PUBACK,
// the device keeps them), reports not-ready, and accepts again once forwarding frees space.
import { describe, expect, it } from 'vitest';
import {
  T0,
  device,
  freePort,
  startCollector,
  startRater,
  tempDir,
  usageTotals,
  waitFor,
  cleanupAfterAll,
} from './helpers/stack.ts';

describe('buffer cap (EDGEMETER_BUFFER_MAX_BYTES)', () => {
  const cleanup = cleanupAfterAll();

  it('refuses publishes at the cap, never drops what it acknowledged, and recovers', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const raterPort = await freePort(); // rater down: nothing leaves the outbox
    const collector = await startCollector({
      raterPort,
      bufferDir: dir.path,
      bufferMaxBytes: 1024 * 1024,
    });
    const http = `http://127.0.0.1:${collector.httpPort}`;
    expect((await fetch(`${http}/readyz`)).status).toBe(200);

    const dev = await device(collector.mqttPort, 'cap-1');
    let seq = 0;
    let acked = 0;
    let refused = false;
    dev.on('close', () => (refused = true));
    // Publish arrays of 500 reports until the collector refuses one by closing the connection.
    while (!refused && acked < 100_000) {
      const batch = Array.from({ length: 500 }, () => ({
        seq: ++seq,
        ts: T0 + seq,
        up: 1,
        down: 1,
      }));
      const ok = await Promise.race([
        dev.publishAsync('usage/cap-1', JSON.stringify(batch), { qos: 1 }).then(() => true),
        new Promise<boolean>((r) => dev.once('close', () => r(false))),
      ]);
      if (ok) acked += batch.length;
    }
    expect(refused).toBe(true);
    expect(collector.outboxStats().records).toBe(acked);
    expect(collector.outboxStats().bytes).toBeLessThanOrEqual(1024 * 1024);
    const r = await (await fetch(`${http}/readyz`)).json();
    expect(r).toMatchObject({ ready: false });
    const counted = await collector.metrics.publishesRefused.get();
    expect(counted.values).toContainEqual(
      expect.objectContaining({ labels: { code: 'BUFFER_FULL' } }),
    );
    dev.end(true);

    // The rater comes back: the outbox drains, and every acknowledged report is billed once.
    const rater = await startRater('embedded:memory', raterPort);
    cleanup.push(() => rater.close());
    cleanup.push(() => collector.close());
    await waitFor(
      () => (collector.outboxStats().records === 0 ? true : undefined),
      'outbox drained',
    );
    expect(await usageTotals(rater, 'cap-1')).toEqual({ up: acked, down: acked, records: acked });
    expect((await fetch(`${http}/readyz`)).status).toBe(200);
    const again = await device(collector.mqttPort, 'cap-1');
    await again.publishAsync(
      'usage/cap-1',
      JSON.stringify({ seq: ++seq, ts: T0 + seq, up: 1, down: 1 }),
      { qos: 1 },
    );
    await again.endAsync();
  });
});
