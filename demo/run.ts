// `edgemeter demo`: a rater on the embedded TimescaleDB, a collector, and a fleet of simulated
// devices on free local ports; runs briefly, then prints per-device usage and charges.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { silentLogger } from '../common/logger.ts';
import { groupDigits, humanBytes, renderTable } from '../common/table.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { Collector } from '../collector/collector.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { Simulator, fleet } from './simulator.ts';

export interface DemoOptions {
  devices: number;
  seconds: number;
  dataDir?: string;
  out?: (line: string) => void;
}

/** Until the rating engine lands, the demo prices all traffic at one flat rate. */
const DEMO_PRICE_PER_GB = new Decimal('2.00');
const GB = new Decimal(1_000_000_000);

export async function runDemo(
  o: DemoOptions,
): Promise<{ acked: number; stored: number; ok: boolean }> {
  const out = o.out ?? ((l: string) => console.log(l));
  const dir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'edgemeter-demo-')));
  const logger = silentLogger();
  out(`edgemeter demo — ${o.devices} simulated devices for ${o.seconds} s (data in ${dir})\n`);

  out('  starting rater (embedded TimescaleDB)…');
  const rater = await new Rater(
    loadRaterConfig({
      env: {},
      flags: {
        db: `embedded:${join(dir, 'rater')}`,
        grpcListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
      },
    }),
    { logger },
  ).start();
  out(`  rater: gRPC 127.0.0.1:${rater.grpcPort}, HTTP http://127.0.0.1:${rater.httpPort}`);
  const collector = await new Collector(
    loadCollectorConfig({
      env: {},
      flags: {
        collectorId: 'demo-gw-1',
        mqttListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        rater: `127.0.0.1:${rater.grpcPort}`,
        bufferDir: join(dir, 'collector'),
      },
    }),
    { logger },
  ).start();
  out(
    `  collector demo-gw-1: MQTT 127.0.0.1:${collector.mqttPort}, outbox ${join(dir, 'collector')}\n`,
  );

  const devices = fleet(o.devices);
  // Device time: the run covers the hours up to now, one 5-minute interval per tick.
  const ticksPerSecond = 2;
  const totalTicks = o.seconds * ticksPerSecond;
  const startMs = Math.floor(Date.now() / 300_000) * 300_000 - totalTicks * 300_000;
  const sim = new Simulator(`mqtt://127.0.0.1:${collector.mqttPort}`, devices, startMs);
  await sim.connect();

  const began = Date.now();
  let rejectedAnswer = '';
  for (let t = 1; t <= totalTicks; t++) {
    await sim.tick();
    if (t === Math.floor(totalTicks / 2)) {
      // Two things a real fleet does: a device re-sends reports after a reconnect, and a
      // device with buggy firmware sends a report the collector must refuse.
      await sim.resendLast(devices[0]?.id ?? '', 3);
      rejectedAnswer = await sim.sendInvalid(devices[1]?.id ?? '');
    }
    if (t % (ticksPerSecond * 5) === 0) {
      const acked = [...sim.truth.values()].reduce((s, x) => s + x.acked, 0);
      out(
        `  t=${String(Math.round((Date.now() - began) / 1000)).padStart(2)}s  reports acknowledged: ${acked}  waiting in outbox: ${collector.outboxStats().records}`,
      );
    }
    const due = began + (t * 1000) / ticksPerSecond;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  await sim.close();
  await collector.drained(15_000);

  const store = rater.usageStore;
  const rows: Array<Array<string | number>> = [];
  let stored = 0;
  let acked = 0;
  let totalCharge = new Decimal(0);
  let mismatches = 0;
  for (const d of devices) {
    const truth = sim.truth.get(d.id);
    if (!truth) continue;
    const series = await store.usageSeries({
      deviceId: d.id,
      fromMs: startMs - 300_000,
      toMs: sim.deviceNowMs + 300_000,
      step: '5m',
    });
    const up = series.reduce((s, b) => s + b.up, 0);
    const down = series.reduce((s, b) => s + b.down, 0);
    const records = series.reduce((s, b) => s + b.records, 0);
    const peakBps = series.reduce((m, b) => Math.max(m, ((b.up + b.down) * 8) / 300), 0);
    const charge = new Decimal(up + down)
      .div(GB)
      .mul(DEMO_PRICE_PER_GB)
      .toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN);
    totalCharge = totalCharge.plus(charge);
    stored += records;
    acked += truth.acked;
    if (records !== truth.acked || up !== truth.up || down !== truth.down) mismatches++;
    const note =
      d.profile === 'quiet'
        ? 'went quiet'
        : truth.resent
          ? `${truth.resent} resent, ignored`
          : truth.invalidSent
            ? `${truth.invalidSent} invalid, rejected`
            : '';
    rows.push([
      d.id,
      d.profile,
      d.protobuf ? 'protobuf' : 'json',
      records,
      humanBytes(up),
      humanBytes(down),
      humanBytes(up + down),
      `${(peakBps / 1e6).toFixed(2)} Mbit/s`,
      `EUR ${charge.toFixed(2)}`,
      note,
    ]);
  }
  out('');
  out(
    renderTable(
      [
        'device',
        'profile',
        'format',
        'records',
        'up',
        'down',
        'total',
        'peak 5-min',
        'charge',
        'note',
      ],
      rows,
      [false, false, false, true, true, true, true, true, true, false],
    ),
  );
  out('');
  out(
    `Charges use a flat demo price of EUR ${DEMO_PRICE_PER_GB.toFixed(2)} per GB (1 GB = 10^9 bytes), rounded half-even to the cent.`,
  );
  out(`Total: EUR ${totalCharge.toFixed(2)} for ${groupDigits(stored)} records.`);
  if (rejectedAnswer)
    out(
      `\nThe invalid report was dead-lettered; the device was told on usage/${devices[1]?.id}/rejected:\n  ${rejectedAnswer}`,
    );
  const ok = mismatches === 0 && stored === acked;
  out(
    ok
      ? `\n✔ Every acknowledged report (${groupDigits(acked)}) is stored exactly once; re-sent reports changed no total.`
      : `\n✘ ${mismatches} device(s) differ from what was acknowledged (acknowledged ${acked}, stored ${stored}).`,
  );
  out('\nNext: run a rater and a collector of your own — see "Run it for real" in README.md.');

  await collector.close();
  await rater.close();
  if (!o.dataDir) await rm(dir, { recursive: true, force: true });
  return { acked, stored, ok };
}
