// Benchmark 2, end to end: devices (chaos/devices.ts, its own process) → a real collector → a
// real rater → PostgreSQL (a fresh database, dropped after), sustained for 30 s (quick: 10 s).
// Then devices deliver what is in flight, the outbox drains, and chaos/verify.ts checks that
// every acknowledged record is billed exactly once (lost, duplicated).
//
// Latency: a probe device (in this process, one MQTT connection, 20 publishes/s) stamps its
// record's `ts` with the wall-clock time of the publish; afterwards SQL compares each probe
// row's `ingested_at` (the rater's transaction time, `DEFAULT now()`) with that `ts`. Same host,
// same clock. `now()` is the start of the rater's transaction, so the commit itself is not in
// the figure (it is in events/s).
import { rm } from 'node:fs/promises';
import mqtt from 'mqtt';
import { Stage } from '../chaos/stage.ts';
import { checkBilling, openSql } from '../chaos/verify.ts';
import type { Benchmark } from './types.ts';
import { benchEnv, cpuSnapshot, cpuText, cpuUse, fmt, freshDatabase, table } from './util.ts';

const e2e: Benchmark = async ({ quick, log }) => {
  const sustainMs = quick ? 10_000 : 30_000;
  const db = await freshDatabase();
  const env = await benchEnv(db?.url, 'e2e');
  const prefix = 'e2e';
  const probeId = `lat-${prefix}-probe`;
  const stage = new Stage(env, 'e2e', prefix);
  const devices = quick ? 50 : 100;
  try {
    const rater = await stage.rater('rater');
    const collector = await stage.collector('collector', rater.ports.grpc ?? 0);
    log(`e2e: ${devices} devices for ${sustainMs / 1000} s …`);

    const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${collector.ports.mqtt}`, {
      clientId: probeId,
      clean: true,
    });
    let probeSeq = 0;
    const probeTimer = setInterval(() => {
      const rec = { seq: ++probeSeq, boot: 1, ts: new Date().toISOString(), up: 1, down: 1 };
      probe.publish(`usage/${probeId}`, JSON.stringify(rec), { qos: 1 }, () => {});
    }, 50);

    const t0 = Date.now();
    const before = cpuSnapshot();
    const fleet = await stage.devices([collector], {
      devices,
      window: 4,
      paceMs: 0,
      publishTimeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, sustainMs));
    const ackedAtEnd = fleet.progress.acked;
    const cpu = cpuUse(before, cpuSnapshot(), (Date.now() - t0) / 1000);
    clearInterval(probeTimer);
    const truth = await stage.settle([collector]);
    const seconds = (Date.now() - t0) / 1000;
    await probe.endAsync();

    const sql = await openSql(stage.db);
    try {
      const bill = await checkBilling(sql, prefix, truth);
      const [lat] = await sql.query<{ n: string; p50: number; p99: number; max: number }>(
        `SELECT count(*) AS n,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                max(ms) AS max
         FROM (SELECT extract(epoch FROM ingested_at - ts) * 1000 AS ms
               FROM usage_records WHERE device_id = $1) x`,
        [probeId],
      );
      const rate = bill.billed / seconds;
      const ackRate = ackedAtEnd / (sustainMs / 1000);
      return {
        figures: {
          e2e_events_s: Math.round(rate),
          e2e_p50_ms: Math.round(Number(lat?.p50 ?? NaN)),
          e2e_p99_ms: Math.round(Number(lat?.p99 ?? NaN)),
          lost: bill.lost,
          duplicated: bill.duplicated,
        },
        table: [
          `End to end: ${devices} devices × 4 QoS 1 publishes in flight, devices → collector → ` +
            `rater → ${db ? 'PostgreSQL' : 'embedded database'}, ${sustainMs / 1000} s sustained`,
          table(
            ['figure', 'value'],
            [
              ['records acknowledged', fmt(truth.acked)],
              ['records billed', fmt(bill.billed)],
              ['seconds (first publish → outbox drained)', fmt(seconds, 1)],
              ['events/s into the database', fmt(rate)],
              ['PUBACKs/s while sustained', fmt(ackRate)],
              ['latency samples (probe device)', String(lat?.n ?? 0)],
              ['latency p50 ms', fmt(Number(lat?.p50 ?? NaN), 1)],
              ['latency p99 ms', fmt(Number(lat?.p99 ?? NaN), 1)],
              ['latency max ms', fmt(Number(lat?.max ?? NaN), 1)],
              ['lost', String(bill.lost)],
              ['duplicated', String(bill.duplicated)],
              ['bytes exact', bill.bytesExact ? 'yes' : 'NO'],
            ],
          ),
        ].join('\n'),
        notes: [
          'events/s = rows billed ÷ time from the first publish until the collector outbox is ' +
            'empty (a rater that lags pays for it here)',
          'latency = ingested_at (rater transaction start, now()) − ts stamped by a probe device ' +
            'at publish time, 20 samples/s during the load',
          `CPU while sustained (share of one core): ${cpuText(cpu)}`,
          ...bill.problems.map((p) => `PROBLEM: ${p}`),
        ],
      };
    } finally {
      await sql.close();
    }
  } finally {
    await stage.cleanup();
    await db?.drop().catch(() => {});
    await rm(env.root, { recursive: true, force: true });
  }
};

export default e2e;
