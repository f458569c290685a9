// A damaged outbox record, end to end: a record is corrupted on disk while the collector is
// stopped (one flipped bit in its stored bytes, as bit rot or a torn write would leave it). On
// restart the collector detects it by its checksum, quarantines it with a reason, and delivers
// every other record. Operators see the quarantine and the dead letters over HTTP and with
// `edgemeter quarantine` / `edgemeter dead-letters`.
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { OUTBOX_PREFIX, prefixRange } from '../collector/buffer/codec.ts';
import type { Collector } from '../collector/collector.ts';
import {
  cleanupAfterAll,
  device,
  freePort,
  report,
  startCollector,
  startRater,
  tempDir,
  usageTotals,
  waitFor,
} from './helpers/stack.ts';
import { runCli } from './helpers/cli.ts';

const cli = runCli;

interface Listed {
  seq: string;
  code: string;
  reason: string;
  outboxKey?: string;
  deviceId?: string;
  detectedAt?: string;
  receivedAt?: string;
  payloadBytes: number;
  payloadBase64?: string;
}

describe('a corrupted outbox record', () => {
  const cleanup = cleanupAfterAll();

  it('is quarantined with its reason on restart, and every other record is delivered', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const raterPort = await freePort(); // rater down: the records stay in the outbox
    let collector: Collector = await startCollector({ raterPort, bufferDir: dir.path });
    cleanup.push(() => collector.close());

    // Ten reports (up = seq) and one invalid report, which becomes a dead letter.
    const dev = await device(collector.mqttPort, 'q-1');
    for (let seq = 1; seq <= 10; seq++)
      await dev.publishAsync('usage/q-1', report(seq, seq, 1), { qos: 1 });
    await dev.publishAsync('usage/q-1', report(11, -5, 1), { qos: 1 });
    await dev.endAsync();
    expect(collector.outboxStats()).toMatchObject({ records: 10, deadLetters: 1 });
    await collector.close();

    // Flip one bit in the middle of the fourth record's stored bytes, straight in LevelDB.
    const raw = new ClassicLevel<string, Buffer>(dir.path, { valueEncoding: 'buffer' });
    const keys = await raw.keys(prefixRange(OUTBOX_PREFIX)).all();
    expect(keys).toHaveLength(10);
    const key = keys[3] as string;
    const damaged = Buffer.from((await raw.get(key)) as Buffer);
    const at = Math.floor(damaged.length / 2);
    damaged.writeUInt8(damaged.readUInt8(at) ^ 0x10, at);
    await raw.put(key, damaged);
    await raw.close();

    // Restart with the rater up: the damaged record is set aside, the nine others delivered.
    const rater = await startRater('embedded:memory', raterPort);
    cleanup.push(() => rater.close());
    collector = await startCollector({ raterPort, bufferDir: dir.path });
    await waitFor(
      () => (collector.outboxStats().records === 0 ? true : undefined),
      'drained',
      60_000,
    );
    expect(collector.outboxStats()).toMatchObject({ corrupt: 1, quarantined: 1, deadLetters: 1 });
    expect(await usageTotals(rater, 'q-1')).toEqual({ up: 55 - 4, down: 9, records: 9 });

    // HTTP: the quarantine holds the record with the reason and its raw stored bytes.
    const http = `http://127.0.0.1:${collector.httpPort}`;
    const q = (await (await fetch(`${http}/v1/quarantine`)).json()) as { quarantine: Listed[] };
    expect(q.quarantine).toHaveLength(1);
    const [entry] = q.quarantine;
    expect(entry).toMatchObject({
      seq: '1',
      code: 'CORRUPT_OUTBOX_ENTRY',
      outboxKey: key,
      payloadBytes: damaged.length,
      payloadBase64: damaged.toString('base64'),
    });
    expect(entry?.reason).toMatch(/CRC32 mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    expect(entry?.reason).toContain('not forwarded');
    expect(Date.parse(entry?.detectedAt ?? '')).not.toBeNaN();
    // …and the dead letters only the refused input, not the damaged record.
    const d = (await (await fetch(`${http}/v1/dead-letters`)).json()) as { deadLetters: Listed[] };
    expect(d.deadLetters.map((l) => l.code)).toEqual(['INVALID_RECORD']);
    expect((await fetch(`${http}/v1/quarantine?limit=0`)).status).toBe(400);
    expect(await (await fetch(`${http}/v1/quarantine?after=1`)).json()).toEqual({ quarantine: [] });
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/^edgemeter_collector_quarantined 1$/m);
    const ready = (await (await fetch(`${http}/readyz`)).json()) as { outbox: object };
    expect(ready.outbox).toMatchObject({ quarantined: 1 });

    // The CLI reads the same, as a table or as the API's JSON.
    const table = await cli(['quarantine', '--collector-url', http]);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toContain('Quarantined outbox entries at');
    expect(table.stdout).toMatch(/CORRUPT_OUTBOX_ENTRY .*CRC32 mismatch/);
    const json = await cli(['quarantine', '--format', 'json'], { EDGEMETER_COLLECTOR_URL: http });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(q);
    const letters = await cli(['dead-letters', '--collector-url', http, '--limit', '1']);
    expect(letters.code).toBe(0);
    expect(letters.stdout).toMatch(/INVALID_RECORD .*q-1 .*up must be an integer/);
    expect(letters.stdout).toContain('More may follow: add --after 1');

    // Mistakes: a bad option is a usage error (2), an unreachable collector a failure (1).
    expect((await cli(['quarantine', '--collector-url', http, '--format', 'csv'])).code).toBe(2);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const down = await cli(['dead-letters', '--collector-url', nobody]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach the collector at');
  }, 120_000);
});
