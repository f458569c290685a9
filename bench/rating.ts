// Rating: a full month of 5-minute samples for N devices of one account, under a plan with
// graduated tiers, a 95th-percentile peak charge and a per-device fee, on the PostgreSQL server.
// The rollups go straight into usage_5m (generate_series); loadRatingInput (the catalog's read
// of plans, assignments and usage) and rateAccount (the pure engine) are timed separately.
import { getHeapStatistics } from 'node:v8';
import type { Benchmark } from './types.ts';
import { serverDatabase, table } from './util.ts';
import { openStore } from '../rater/storage/open.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { billingPeriod, parsePlan, rateAccount } from '../rater/rating/index.ts';

const MONTH = '2026-01';
const TZ = 'UTC';

const PLAN = `plan: bench-plan
name: Benchmark plan
currency: EUR
effective_from: 2026-01-01
charges:
  - id: data
    type: usage
    meter: total
    unit: GB
    pricing:
      model: graduated
      tiers:
        - { up_to: 1, price: "2.00" }
        - { up_to: 10, price: "1.50" }
        - { price: "1.00" }
  - id: peak95
    type: peak
    method: percentile
    percentile: 95
    direction: max
    unit: Mbps
    pricing: { model: per_unit, price: "0.50" }
  - id: device-fee
    type: fixed
    per: device
    amount: "1.00"
`;

interface Row {
  devices: number;
  rollups: number;
  seedS: number;
  loadS: number;
  rateS: number;
  totalS: number;
  heapMb: number;
  lines: number;
  /** The usage_5m query alone, executed on the server (EXPLAIN ANALYZE, no transfer). */
  serverQueryS: number;
}

const run: Benchmark = async ({ quick, log }) => {
  const sizes = quick ? [100, 300] : [100, 300, 1000];
  const db = await serverDatabase('rating');
  const store = await openStore(db.url, { poolSize: 4 });
  const rows: Row[] = [];
  const skipped: string[] = [];
  const heapLimitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  try {
    await store.migrate();
    const catalog = new SqlCatalogStore(store.sql);
    const period = billingPeriod(MONTH, TZ);
    const now = period.startMs + 3_600_000; // inside the open month: backdating is allowed
    await catalog.putPlan(parsePlan(PLAN), now);
    for (const n of sizes) {
      // The heap grows with N (every sample is held at once): skip an N that would exhaust it.
      const prev = rows[rows.length - 1];
      const projectedMb = prev ? (prev.heapMb / prev.devices) * n : 0;
      if (projectedMb > 0.9 * heapLimitMb) {
        skipped.push(
          `N = ${n} skipped: the heap would need ~${Math.round(projectedMb)} MB ` +
            `(${(prev?.heapMb ?? 0) / (prev?.devices ?? 1)} MB per device at N = ${prev?.devices}) ` +
            `and this process may use ${Math.round(heapLimitMb)} MB`,
        );
        log(`rating: ${skipped[skipped.length - 1]}`);
        continue;
      }
      const account = `acct-${n}`;
      const prefix = `r${n}-d`;
      await catalog.putAccount(
        {
          id: account,
          currency: 'EUR',
          timeZone: TZ,
          planId: 'bench-plan',
          planFromMs: period.startMs,
        },
        now,
      );
      const s0 = Date.now();
      for (let i = 0; i < n; i++)
        await catalog.putDevice(
          { id: `${prefix}${i}`, accountId: account, fromMs: period.startMs },
          now,
        );
      // Every 5-minute bucket of the month for every device, 100 devices per statement.
      for (let lo = 0; lo < n; lo += 100) {
        const hi = Math.min(n, lo + 100) - 1;
        await store.sql.query(
          `INSERT INTO usage_5m (device_id, bucket, dims_key, dims, up, down, records, meters)
           SELECT $1 || d, b, '', '{}'::jsonb,
                  (d::int8 * 7919 + i * 104729) % 3000000,
                  (d::int8 * 15485863 + i * 2750159) % 30000000, 1, '{}'::jsonb
           FROM generate_series($2::int, $3::int) AS d,
                generate_series($4::timestamptz, $5::timestamptz - interval '5 minutes',
                                interval '5 minutes') WITH ORDINALITY AS g(b, i)`,
          [
            prefix,
            lo,
            hi,
            new Date(period.startMs).toISOString(),
            new Date(period.endMs).toISOString(),
          ],
        );
      }
      await store.sql.exec('ANALYZE usage_5m');
      const seedS = (Date.now() - s0) / 1000;
      const rollups = n * ((period.endMs - period.startMs) / 300_000);
      // Rate twice; the second run is reported (the first warms the JIT and the buffer cache).
      let best: Omit<Row, 'devices' | 'rollups' | 'seedS' | 'serverQueryS'> | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const t0 = performance.now();
        const input = await catalog.loadRatingInput(account, period);
        const t1 = performance.now();
        const invoice = rateAccount(input);
        const t2 = performance.now();
        best = {
          loadS: (t1 - t0) / 1000,
          rateS: (t2 - t1) / 1000,
          totalS: (t2 - t0) / 1000,
          heapMb: process.memoryUsage().heapUsed / 2 ** 20,
          lines: invoice.lines.length,
        };
      }
      if (!best) throw new Error('no rating run');
      const explain = await store.sql.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)
         SELECT device_id, bucket, dims_key, dims, up, down, records, meters::text
         FROM usage_5m
         WHERE device_id = ANY($1::text[]) AND bucket >= $2::timestamptz AND bucket < $3::timestamptz`,
        [
          Array.from({ length: n }, (_, i) => `${prefix}${i}`),
          new Date(period.startMs).toISOString(),
          new Date(period.endMs).toISOString(),
        ],
      );
      const serverQueryS = (explain.rows[0]?.['QUERY PLAN'][0]?.['Execution Time'] ?? NaN) / 1000;
      const row: Row = { devices: n, rollups, seedS, serverQueryS, ...best };
      rows.push(row);
      log(
        `rating: ${n} devices, ${rollups.toLocaleString('en-US')} rollups: load ` +
          `${row.loadS.toFixed(2)} s + rate ${row.rateS.toFixed(2)} s = ${row.totalS.toFixed(2)} s`,
      );
    }
  } finally {
    await store.close().catch(() => {});
    await db.drop();
  }
  const big = rows.find((r) => r.devices === 1000);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const notes = [
    `rating ${MONTH} (${TZ}) for one account on PostgreSQL; each N rated twice, second run shown`,
    first && last && last !== first
      ? `growth ${first.devices} → ${last.devices} devices: ×${(last.totalS / first.totalS).toFixed(1)} ` +
        `time for ×${last.devices / first.devices} data (load ×${(last.loadS / first.loadS).toFixed(1)}, ` +
        `rate ×${(last.rateS / first.rateS).toFixed(1)})`
      : '',
    `loadRatingInput reads every sample of the month in one query into JS objects; the same ` +
      `query executed on the server alone (EXPLAIN ANALYZE) takes the "server query s" column`,
    ...skipped,
    ...(big ? [] : [`N = 1000 not rated: rating_month_1000_devices_s is not reported`]),
  ].filter((s) => s !== '');
  return {
    // One key per measured N: rating_month_1000_devices_s exists only when N = 1000 ran.
    figures: Object.fromEntries(
      rows.map((r) => [`rating_month_${r.devices}_devices_s`, round(r.totalS)]),
    ),
    table: table(
      [
        'devices',
        'rollup rows',
        'seed s',
        'server query s',
        'loadRatingInput s',
        'rateAccount s',
        'total s',
        'heap MB',
        'lines',
      ],
      rows.map((r) => [
        r.devices,
        r.rollups,
        r.seedS,
        r.serverQueryS,
        r.loadS,
        r.rateS,
        r.totalS,
        r.heapMb,
        r.lines,
      ]),
    ),
    notes,
  };
};

const round = (n: number) => Math.round(n * 1000) / 1000;

export default run;
