// `edgemeter demo`: a rater on the embedded TimescaleDB, a collector, and a fleet of simulated
// devices on free local ports. It applies the example plan through the rater's HTTP API (as a
// billing team would), runs the devices briefly, then prints per-device usage and the real
// invoices the rating engine produces.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../common/logger.ts';
import { groupDigits, humanBytes, renderTable } from '../common/table.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { Collector } from '../collector/collector.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { periodAt } from '../rater/rating/period.ts';
import type { Invoice } from '../rater/rating/types.ts';
import { renderInvoice } from '../cli/charges.ts';
import { Simulator, fleet, type SimDevice } from './simulator.ts';

export interface DemoOptions {
  devices: number;
  seconds: number;
  dataDir?: string;
  out?: (line: string) => void;
}

export const DEMO_PLAN_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'examples',
  'plans',
  'iot-standard.yaml',
);

/** Two customers: a logistics fleet (routers, cameras) in Berlin, a utility's meters in Lisbon. */
const ACCOUNTS = [
  { id: 'acme-logistics', name: 'ACME Logistics', currency: 'EUR', time_zone: 'Europe/Berlin' },
  { id: 'lisbon-utility', name: 'Lisbon Utility', currency: 'EUR', time_zone: 'Europe/Lisbon' },
] as const;
const accountOf = (d: SimDevice) => (d.profile === 'sensor' ? ACCOUNTS[1] : ACCOUNTS[0]);

async function api(base: string, method: string, path: string, body?: string, type?: string) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'content-type': type ?? 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

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
  const base = `http://127.0.0.1:${rater.httpPort}`;
  const planText = await readFile(DEMO_PLAN_FILE, 'utf8');
  const applied = (await api(
    base,
    'PUT',
    '/v1/plans/iot-standard',
    planText,
    'application/yaml',
  )) as {
    version: number;
  };
  // Device time: the run covers the hours up to now, one 5-minute interval per tick.
  const ticksPerSecond = 2;
  const totalTicks = o.seconds * ticksPerSecond;
  const startMs = Math.floor(Date.now() / 300_000) * 300_000 - totalTicks * 300_000;
  // The accounts and devices are onboarded with the usage they are about to report: their
  // first plan and assignment start with the device time (an explicit, deliberate backdate; by
  // default they would start with the current month).
  const onboardedFrom = new Date(startMs - 300_000).toISOString();
  for (const a of ACCOUNTS)
    await api(
      base,
      'PUT',
      `/v1/accounts/${a.id}`,
      JSON.stringify({
        name: a.name,
        currency: a.currency,
        time_zone: a.time_zone,
        plan: 'iot-standard',
        plan_from: onboardedFrom,
      }),
    );
  for (const d of devices)
    await api(
      base,
      'PUT',
      `/v1/devices/${d.id}`,
      JSON.stringify({ account: accountOf(d).id, from: onboardedFrom }),
    );
  out(
    `  plan iot-standard v${applied.version} applied (examples/plans/iot-standard.yaml); ` +
      `accounts ${ACCOUNTS.map((a) => a.id).join(', ')}; ${devices.length} devices assigned\n`,
  );
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
      accountOf(d).id,
      d.zone,
      d.protobuf ? 'protobuf' : 'json',
      records,
      humanBytes(up),
      humanBytes(down),
      truth.sms,
      note,
    ]);
  }
  out('');
  out(
    renderTable(
      ['device', 'account', 'zone', 'format', 'records', 'up', 'down', 'sms', 'note'],
      rows,
      [false, false, false, false, true, true, true, true, false],
    ),
  );

  // The invoices, as a billing team gets them: every period the device time touched.
  const invoices: Invoice[] = [];
  for (const a of ACCOUNTS) {
    const labels = new Set([
      periodAt(startMs, a.time_zone).label,
      periodAt(sim.deviceNowMs, a.time_zone).label,
    ]);
    for (const label of labels)
      invoices.push((await api(base, 'GET', `/v1/accounts/${a.id}/invoices/${label}`)) as Invoice);
  }
  for (const inv of invoices) {
    out('');
    out(renderInvoice(inv));
  }
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
  out(
    '  The invoices above are open (the month is still running): "so far" plus a projection to month end.',
  );
  out('\nNext: run a rater and a collector of your own — see "Run it for real" in README.md.');

  await collector.close();
  await rater.close();
  if (!o.dataDir) await rm(dir, { recursive: true, force: true });
  return { acked, stored, ok };
}
