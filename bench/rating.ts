// Rating: a full month of 5-minute samples for N devices of one account, under a plan with
// graduated tiers, a 95th-percentile peak charge and a per-device fee, on the PostgreSQL server.
// The rollups go straight into usage_5m (generate_series), in time order as ingest writes them;
// loadRatingInput (the catalog's read of plans, assignments and usage — summed in SQL,
// rater/storage/rating-summary.ts, here by its scan plan: every account rated is most of the
// table) and rateAccount (the pure engine) are timed separately, with the CPU time of the database backends
// and of this process beside the wall time (the machine is shared: CPU time is what the work
// costs, wall time what it took here). At the smallest N the reference row-by-row input is
// loaded too, and its invoice compared with the summed one.
import { readFileSync } from 'node:fs';
import type { Benchmark } from './types.ts';
import { serverDatabase, table } from './util.ts';
import { openStore } from '../rater/storage/open.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { billingPeriod, parsePlan, rateAccount } from '../rater/rating/index.ts';
import type { SqlClient } from '../rater/storage/sql.ts';

const MONTH = '2026-01';
/** Connections one rating reads with (the rater's ratingReaders default). */
const READERS = 2;
const TZ = 'UTC';
/** The largest size the row-by-row reference is loaded at. */
const REFERENCE_MAX_DEVICES = 300;

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

interface Timing {
  loadS: number;
  rateS: number;
  totalS: number;
  /** CPU seconds of the database backend and of this process during load + rate. */
  pgCpuS: number;
  nodeCpuS: number;
  heapMb: number;
  lines: number;
  json: string;
}

interface Row extends Omit<Timing, 'json'> {
  devices: number;
  rollups: number;
  seedS: number;
}

/** CPU seconds so far of one process (utime + stime), NaN when /proc cannot tell. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

const run: Benchmark = async ({ quick, log }) => {
  // BENCH_RATING_DEVICES=100,1000 rates other sizes (seeding 5,000 devices takes minutes).
  const asked = process.env.BENCH_RATING_DEVICES?.split(',').map(Number);
  const sizes = asked?.every((n) => Number.isInteger(n) && n > 0)
    ? asked
    : quick
      ? [100, 300]
      : [100, 1000, 5000];
  const db = await serverDatabase('rating');
  // The rater's default: two connections read at once (ratingReaders); a third stays spare.
  const store = await openStore(db.url, { poolSize: 3 });
  const rows: Row[] = [];
  let reference: { loadS: number; rateS: number; same: boolean } | undefined;
  try {
    await store.migrate();
    const catalog = new SqlCatalogStore(store.sql, { readers: READERS });
    // CPU seconds so far of this database's backends (the pool's connections, by pid).
    const backends = async () => {
      const { rows } = await store.sql.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
      );
      return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
    };
    const period = billingPeriod(MONTH, TZ);
    const now = period.startMs + 3_600_000; // inside the open month: backdating is allowed
    await catalog.putPlan(parsePlan(PLAN), now);
    for (const n of sizes) {
      const account = `acct-${n}`;
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
      await seed(store.sql, catalog, account, n, period, now);
      const seedS = (Date.now() - s0) / 1000;
      const rollups = n * ((period.endMs - period.startMs) / 300_000);
      const rate = async (form: { rows?: boolean }): Promise<Timing> => {
        const pg0 = await backends();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const input = await catalog.loadRatingInput(account, period, undefined, form);
        const t1 = performance.now();
        const invoice = rateAccount(input);
        const t2 = performance.now();
        const cpu = process.cpuUsage(cpu0);
        // Connections opened during the run count whole; the pool keeps them 30 s when idle.
        let pgCpuS = 0;
        for (const [pid, after] of await backends()) pgCpuS += after - (pg0.get(pid) ?? 0);
        return {
          loadS: (t1 - t0) / 1000,
          rateS: (t2 - t1) / 1000,
          totalS: (t2 - t0) / 1000,
          pgCpuS,
          nodeCpuS: (cpu.user + cpu.system) / 1e6,
          heapMb: process.memoryUsage().heapUsed / 2 ** 20,
          lines: invoice.lines.length,
          json: JSON.stringify(invoice),
        };
      };
      // Rated twice; the second run is reported (the first warms the JIT and the buffer cache).
      await rate({});
      const { json, ...timing } = await rate({});
      rows.push({ devices: n, rollups, seedS, ...timing });
      log(
        `rating: ${n} devices, ${rollups.toLocaleString('en-US')} rollups: load ` +
          `${timing.loadS.toFixed(2)} s + rate ${timing.rateS.toFixed(2)} s = ` +
          `${timing.totalS.toFixed(2)} s (database CPU ${timing.pgCpuS.toFixed(2)} s)`,
      );
      // The reference loads every row into this process: only at a size that fits in its heap
      // (1,000 devices' 8.9 M rows ran it out of 4 GB).
      if (n === sizes[0] && n <= REFERENCE_MAX_DEVICES) {
        const r = await rate({ rows: true });
        reference = { loadS: r.loadS, rateS: r.rateS, same: r.json === json };
        log(
          `rating: ${n} devices from rows: ${r.totalS.toFixed(2)} s, same invoice: ${reference.same}`,
        );
      }
    }
  } finally {
    await store.close().catch(() => {});
    await db.drop();
  }
  const key = quick ? 300 : 1000;
  const reported = rows.find((r) => r.devices === key);
  const first = rows[0];
  const growth = rows
    .slice(1)
    .map(
      (r) =>
        `${first?.devices} → ${r.devices} devices: ×${(r.totalS / (first?.totalS ?? NaN)).toFixed(1)} ` +
        `time (database CPU ×${(r.pgCpuS / (first?.pgCpuS ?? NaN)).toFixed(1)}) for ` +
        `×${r.devices / (first?.devices ?? NaN)} data`,
    );
  const notes = [
    `rating ${MONTH} (${TZ}) for one account on PostgreSQL; each N rated twice, second run shown`,
    quick
      ? `quick run: rating_month_1000_devices_s holds the ${key}-device figure (a full run rates 1,000)`
      : '',
    ...growth,
    reference
      ? `reference at ${first?.devices} devices, every rollup row loaded into JS: load ` +
        `${reference.loadS.toFixed(2)} s + rate ${reference.rateS.toFixed(2)} s; same invoice ` +
        `as the summed input: ${reference.same ? 'yes' : 'NO'}`
      : '',
    `loadRatingInput sums in SQL on ${READERS} connections at once (ratingReaders): each reads ` +
      `one range of usage_5m's pages (scan plan: the account is most of the table), summing per ` +
      `device and dims key and keeping only the values above a threshold sampled from 2 % of ` +
      `the pages; "database CPU" adds up those backends, and wall time beyond ` +
      `(database CPU / ${READERS} + node CPU) is waiting for a core on this shared machine`,
  ].filter((s) => s !== '');
  return {
    figures: Object.fromEntries(
      reported ? [['rating_month_1000_devices_s', round(reported.totalS)]] : [],
    ) as Record<string, number>,
    table: table(
      [
        'devices',
        'rollup rows',
        'seed s',
        'loadRatingInput s',
        'rateAccount s',
        'total s',
        'database CPU s',
        'node CPU s',
        'heap MB',
        'lines',
      ],
      rows.map((r) => [
        r.devices,
        r.rollups,
        r.seedS,
        r.loadS,
        r.rateS,
        r.totalS,
        r.pgCpuS,
        r.nodeCpuS,
        r.heapMb,
        r.lines,
      ]),
    ),
    notes,
  };
};

/** N devices assigned for the whole month, and every 5-minute bucket of it for each. */
async function seed(
  sql: SqlClient,
  catalog: SqlCatalogStore,
  account: string,
  n: number,
  period: { startMs: number; endMs: number },
  now: number,
): Promise<void> {
  const prefix = `${account}-d`;
  for (let i = 0; i < n; i++)
    await catalog.putDevice(
      { id: `${prefix}${i}`, accountId: account, fromMs: period.startMs },
      now,
    );
  // 100 devices per statement, in time order as ingest writes them: a device's rows of the month
  // are spread over the table, interleaved with the other devices'.
  for (let lo = 0; lo < n; lo += 100) {
    await sql.query(
      `INSERT INTO usage_5m (device_id, bucket, dims_key, dims, up, down, records, meters)
       SELECT $1 || d, b, '', '{}'::jsonb,
              (d::int8 * 7919 + i * 104729) % 3000000,
              (d::int8 * 15485863 + i * 2750159) % 30000000, 1, '{}'::jsonb
       FROM generate_series($2::int, $3::int) AS d,
            generate_series($4::timestamptz, $5::timestamptz - interval '5 minutes',
                            interval '5 minutes') WITH ORDINALITY AS g(b, i)
       ORDER BY b, d`,
      [
        prefix,
        lo,
        Math.min(n, lo + 100) - 1,
        new Date(period.startMs).toISOString(),
        new Date(period.endMs).toISOString(),
      ],
    );
  }
  // A closed month, as autovacuum leaves it (PostgreSQL 13+ vacuums after inserts too): pages
  // marked all-visible, so a scan skips each row's visibility check. Freshly inserted and only
  // analyzed, the 1,000-device month took 5.22 s (database CPU 8.11 s) against 4.52 s (7.42 s).
  await sql.exec('VACUUM (ANALYZE) usage_5m');
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export default run;
