// Guarantee 3: the collector's disk use is capped. At the cap it refuses new publishes (no PUBACK,
// the device keeps them), reports not-ready, and accepts again once forwarding frees space. With
// bufferFullPolicy drop-oldest it keeps accepting and drops the oldest unsent records instead,
// counted and logged, never a record in flight to the rater.
import { pino } from 'pino';
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

  it('with drop-oldest, keeps acknowledging at the cap and drops the oldest unsent records, counted', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const raterPort = await freePort(); // rater down: the first batch stays in flight
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const cap = 1024 * 1024;
    const collector = await startCollector(
      {
        raterPort,
        bufferDir: dir.path,
        bufferMaxBytes: cap,
        config: { bufferFullPolicy: 'drop-oldest' },
      },
      { logger },
    );
    cleanup.push(() => collector.close());
    const http = `http://127.0.0.1:${collector.httpPort}`;

    // Far more than fits (records of about 250 bytes): every publish is still acknowledged.
    const dev = await device(collector.mqttPort, 'drop-1');
    let closed = false;
    dev.on('close', () => (closed = true));
    const total = 12_000;
    const pad = 'p'.repeat(200);
    for (let seq = 0; seq < total;) {
      const batch = Array.from({ length: 250 }, () => {
        seq++;
        return { seq, ts: T0 + seq, up: seq, down: 1, dims: { pad } };
      });
      await dev.publishAsync('usage/drop-1', JSON.stringify(batch), { qos: 1 });
    }
    expect(closed).toBe(false);
    await dev.endAsync();

    const stats = collector.outboxStats();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.bytes).toBeLessThanOrEqual(cap);
    expect(stats.records + stats.dropped).toBe(total);
    const counted = await collector.metrics.recordsDropped.get();
    expect(counted.values).toContainEqual(
      expect.objectContaining({ labels: { reason: 'buffer_full' }, value: stats.dropped }),
    );
    const text = await (await fetch(`${http}/metrics`)).text();
    expect(text).toContain(
      `edgemeter_collector_records_dropped_total{reason="buffer_full"} ${stats.dropped}`,
    );
    // Still ready (it accepts), and says it is full and dropping.
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      outbox: { fullPolicy: 'drop-oldest', full: true, dropped: stats.dropped },
    });
    // One log line per drop event, with counts, not one per record.
    const dropLogs = logs.filter((l) => String(l.msg).includes('dropped the oldest'));
    expect(dropLogs.length).toBeGreaterThan(0);
    expect(dropLogs.length).toBeLessThanOrEqual(total / 250);
    expect(dropLogs.reduce((n, l) => n + Number(l.dropped), 0)).toBe(stats.dropped);

    // The rater comes back: what was not dropped is billed once. `up` is the seq, so the
    // missing sum shows which were dropped: one run of consecutive seqs after the batch that
    // was in flight, which itself was delivered.
    const rater = await startRater('embedded:memory', raterPort);
    cleanup.push(() => rater.close());
    await waitFor(
      () => (collector.outboxStats().records === 0 ? true : undefined),
      'outbox drained',
    );
    const kept = total - stats.dropped;
    const billed = await usageTotals(rater, 'drop-1');
    expect(billed).toMatchObject({ records: kept, down: kept });
    const missing = (total * (total + 1)) / 2 - billed.up;
    const d = stats.dropped;
    const runStart = (missing - (d * (d + 1)) / 2) / d; // dropped seqs are runStart+1 … runStart+d
    expect(Number.isInteger(runStart)).toBe(true);
    expect(runStart).toBeGreaterThanOrEqual(250); // the first publish was in flight: kept
    expect(runStart + d).toBeLessThan(total); // the newest were kept
  });
});
