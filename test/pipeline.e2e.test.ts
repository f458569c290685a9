// A device publishes over MQTT; the billing team reads the record back through the rater's HTTP
// API. Run on the embedded TimescaleDB and on the PostgreSQL server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../collector/collector.ts';
import { DeviceReport } from '../proto/index.ts';
import type { Rater } from '../rater/rater.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import {
  T0,
  device,
  report,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
  usageTotals,
} from './helpers/stack.ts';

const targets = [
  {
    name: 'embedded TimescaleDB (PGlite)',
    enabled: true,
    open: async () => ({ url: 'embedded:memory', drop: async () => {} }),
  },
  { name: 'PostgreSQL server (pg)', enabled: hasPostgres, open: freshPostgresDatabase },
];

for (const target of targets) {
  describe.skipIf(!target.enabled)(`pipeline on ${target.name}`, () => {
    let rater: Rater;
    let collector: Collector;
    let drop: () => Promise<void>;
    let removeDir: () => Promise<void>;

    beforeAll(async () => {
      const db = await target.open();
      drop = db.drop;
      const dir = await tempDir();
      removeDir = dir.remove;
      rater = await startRater(db.url);
      collector = await startCollector({ raterPort: rater.grpcPort, bufferDir: dir.path });
    });
    afterAll(async () => {
      await collector?.close();
      await rater?.close();
      await drop?.();
      await removeDir?.();
    });

    it('a JSON report published at QoS 1 is readable through the HTTP API', async () => {
      const dev = await device(collector.mqttPort, 'e2e-json');
      await dev.publishAsync(
        'usage/e2e-json',
        report(1, 1500, 64000, { dims: { zone: 'eu' }, meters: { sms: 2 } }),
        { qos: 1 },
      );
      await dev.endAsync();
      expect(await settledTotals(rater, 'e2e-json', 1)).toEqual({
        up: 1500,
        down: 64000,
        records: 1,
      });

      const res = await fetch(
        `http://127.0.0.1:${rater.httpPort}/v1/devices/e2e-json/usage?from=${T0}&to=${T0 + 3_600_000}&step=5m`,
      );
      const body = (await res.json()) as {
        series: Array<{ start: string; up: number; down: number; meters: Record<string, string> }>;
      };
      // ts = T0 + 1 min, no start: the whole record lands in the bucket holding its end time.
      expect(body.series).toEqual([
        expect.objectContaining({
          start: new Date(T0).toISOString(),
          up: 1500,
          down: 64000,
          meters: { sms: '2' },
        }),
      ]);
    });

    it('an array flush and the protobuf form arrive with exact totals', async () => {
      const dev = await device(collector.mqttPort, 'e2e-mixed');
      const flush = [1, 2, 3].map((s) => JSON.parse(report(s, s * 100, s * 1000)) as unknown);
      await dev.publishAsync('usage/e2e-mixed', JSON.stringify(flush), { qos: 1 });
      const pb = DeviceReport.encode({ seq: 4, tsMs: T0 + 4 * 60_000, up: 7, down: 9 }).finish();
      await dev.publishAsync('usage/e2e-mixed/pb', Buffer.from(pb), { qos: 1 });
      await dev.endAsync();
      expect(await settledTotals(rater, 'e2e-mixed', 4)).toEqual({
        up: 607,
        down: 6009,
        records: 4,
      });
    });

    it('a device retransmitting acknowledged reports changes no total', async () => {
      const dev = await device(collector.mqttPort, 'e2e-dup');
      for (let s = 1; s <= 5; s++)
        await dev.publishAsync('usage/e2e-dup', report(s, 10, 20), { qos: 1 });
      // After a reconnect the device re-sends everything it still holds, byte for byte.
      for (let s = 1; s <= 5; s++)
        await dev.publishAsync('usage/e2e-dup', report(s, 10, 20), { qos: 1 });
      await dev.publishAsync('usage/e2e-dup', report(6, 10, 20), { qos: 1 });
      await dev.endAsync();
      await settledTotals(rater, 'e2e-dup', 6);
      await collector.drained(10_000);
      expect(await usageTotals(rater, 'e2e-dup')).toEqual({ up: 60, down: 120, records: 6 });
    });
  });
}
