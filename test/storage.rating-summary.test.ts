// The summed rating input (rollups summed and peak series reduced in SQL, rating-summary.ts)
// against the reference, the rollups row by row: on a generated month with plan versions, a
// device override, a device moving between accounts, several dims keys per device, meters with
// decimals and peaks of every scope and direction, the engine must print the same invoice from
// both, closed and open, whichever plan reads the sums (by index or by one scan). Plans that
// look at the time of day keep the row form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import type { SqlClient } from '../rater/storage/sql.ts';
import { dimsKey } from '../rater/storage/batch.ts';
import { validatePlan } from '../rater/rating/plan.ts';
import { billingPeriod } from '../rater/rating/period.ts';
import { rateAccount } from '../rater/rating/engine.ts';
import { Dec } from '../rater/rating/money.ts';
import type { RatingInput } from '../rater/rating/types.ts';
import type { SummaryPlan } from '../rater/storage/rating-summary.ts';
import { dbTargets, utc } from './helpers/db.ts';

const JUNE = billingPeriod('2024-06', 'UTC');
const NOW = JUNE.startMs + 3_600_000; // inside June: versions and moves may take effect in it
const JUNE10 = utc('2024-06-10T00:00:00Z');
const JUNE16 = utc('2024-06-16T00:00:00Z');
const JUNE20 = utc('2024-06-20T00:00:00Z');

/** Every kind of usage and peak charge the summed form carries, and limits on top. */
function mixPlan(version: 1 | 2) {
  return validatePlan({
    plan: 'mix',
    name: `mix v${version}`,
    currency: 'EUR',
    effective_from: version === 1 ? '2024-01-01' : '2024-06-16',
    charges: [
      {
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'MB',
        scope: 'account',
        included: { quantity: '50 MB', pooled: true },
        pricing: {
          model: 'graduated',
          tiers: [{ up_to: 100, price: version === 1 ? '0.02' : '0.03' }, { price: '0.01' }],
        },
      },
      {
        id: 'eu',
        type: 'usage',
        meter: 'down',
        unit: 'KB',
        filter: { dims: { zone: 'eu' } },
        rounding: { per_period: { increment: '10 KB', mode: 'up' } },
        pricing: { model: 'per_unit', price: '0.0001' },
      },
      {
        id: 'sms',
        type: 'usage',
        meter: 'meters.sms',
        pricing: { model: 'per_unit', price: '0.05' },
      },
      {
        id: 'p95',
        type: 'peak',
        method: 'percentile',
        percentile: 95,
        direction: 'max',
        unit: 'kbps',
        pricing: { model: 'per_unit', price: '0.10' },
      },
      {
        id: 'p90-account',
        type: 'peak',
        method: 'percentile',
        percentile: 90,
        direction: 'sum',
        scope: 'account',
        unit: 'kbps',
        committed: '5 kbps',
        pricing: { model: 'per_unit', price: '0.20' },
      },
      {
        id: 'high-water',
        type: 'peak',
        method: 'max',
        direction: 'in',
        unit: 'kbps',
        filter: { exclude_dims: { zone: 'eu' } },
        pricing: { model: 'per_unit', price: '0.01' },
      },
      { id: 'fee', type: 'fixed', per: 'device', amount: '1.00' },
    ],
    minimum: [{ per: 'device', amount: '0.50' }],
    cap: [{ per: 'account', amount: '100000' }],
  });
}

/** A device override: its own peak on the eu traffic only, out direction, p99. */
const OVERRIDE = validatePlan({
  plan: 'ovr',
  currency: 'EUR',
  effective_from: '2024-01-01',
  charges: [
    {
      id: 'p99-eu',
      type: 'peak',
      method: 'percentile',
      percentile: 99,
      direction: 'out',
      unit: 'kbps',
      filter: { dims: { zone: 'eu' } },
      pricing: { model: 'per_unit', price: '0.30' },
    },
    {
      id: 'data',
      type: 'usage',
      meter: 'up',
      unit: 'MB',
      pricing: { model: 'per_unit', price: '0.5' },
    },
  ],
});

/** A plan pricing by time of day: the summed form cannot rate it. */
const WINDOWED = validatePlan({
  plan: 'night',
  currency: 'EUR',
  effective_from: '2024-01-01',
  windows: {
    night: [
      { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '06:00' },
    ],
  },
  charges: [
    {
      id: 'night-data',
      type: 'usage',
      meter: 'total',
      unit: 'MB',
      filter: { window: 'night' },
      pricing: { model: 'per_unit', price: '0.01' },
    },
  ],
});

const json = (v: unknown) => JSON.stringify(v);

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`summed rating input on ${target.name}`, () => {
    let store: SqlUsageStore;
    let catalog: SqlCatalogStore;
    let cleanup: () => Promise<void> = async () => {};

    /**
     * A month of 5-minute rollups straight into usage_5m: pseudo-random byte counts (a few
     * equal values, so ranks meet ties), `dims` on every `every`-th bucket, meters with decimals
     * on every 11th bucket.
     */
    const seed = async (device: string, salt: number, dims?: Record<string, string>, every = 1) => {
      await store.sql.query(
        `INSERT INTO usage_5m (device_id, bucket, dims_key, dims, up, down, records, meters)
         SELECT $1, b, $2, $3::jsonb,
                (i * 7919 + $4::int8 * 104729) % 50000, ((i * 15485863 + $4::int8) % 97) * 1000,
                1 + i % 3,
                CASE WHEN i % 11 = 0 THEN jsonb_build_object('sms', (i % 7) / 10.0) ELSE '{}' END
         FROM generate_series($5::timestamptz, $6::timestamptz - interval '5 minutes',
                              interval '5 minutes') WITH ORDINALITY AS g (b, i)
         WHERE i % $7 = 0`,
        [
          device,
          dimsKey(dims),
          JSON.stringify(dims ?? {}),
          salt,
          new Date(JUNE.startMs).toISOString(),
          new Date(JUNE.endMs).toISOString(),
          every,
        ],
      );
    };

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 4 });
      await store.migrate();
      catalog = new SqlCatalogStore(store.sql);
      await catalog.putPlan(mixPlan(1), NOW);
      await catalog.putPlan(OVERRIDE, NOW);
      await catalog.putPlan(WINDOWED, NOW);
      for (const id of ['acct-a', 'acct-b'])
        await catalog.putAccount(
          { id, currency: 'EUR', timeZone: 'UTC', planId: 'mix', planFromMs: JUNE.startMs },
          NOW,
        );
      await catalog.putPlan(mixPlan(2), NOW); // mix v2 from June 16: every segment is cut there
      for (let i = 0; i < 6; i++) {
        const id = `dev-${i}`;
        await catalog.putDevice({ id, accountId: 'acct-a', fromMs: JUNE.startMs }, NOW);
        await seed(id, i);
        // Half the devices also report eu traffic (a second dims key), some of it sparse.
        if (i % 2 === 0) await seed(id, i + 100, { zone: 'eu' }, i === 0 ? 1 : 7);
      }
      // dev-4 runs under the override from June 10; dev-2 moves to acct-b on June 20.
      await catalog.putDevice(
        { id: 'dev-4', accountId: 'acct-a', planId: 'ovr', fromMs: JUNE10 },
        NOW,
      );
      await catalog.putDevice({ id: 'dev-2', accountId: 'acct-b', fromMs: JUNE20 }, NOW);
      // A device with nothing reported, and one reporting only zeros: active or not alike.
      await catalog.putDevice({ id: 'dev-idle', accountId: 'acct-a', fromMs: JUNE.startMs }, NOW);
      await catalog.putDevice({ id: 'dev-zero', accountId: 'acct-b', fromMs: JUNE.startMs }, NOW);
      await store.sql.query(
        `INSERT INTO usage_5m (device_id, bucket, up, down, records) VALUES ($1, $2, 0, 0, 0)`,
        ['dev-zero', new Date(JUNE16).toISOString()],
      );
      // The night plan's account: rated from rows.
      await catalog.putAccount(
        {
          id: 'acct-night',
          currency: 'EUR',
          timeZone: 'UTC',
          planId: 'night',
          planFromMs: JUNE.startMs,
        },
        NOW,
      );
      await catalog.putDevice(
        { id: 'dev-night', accountId: 'acct-night', fromMs: JUNE.startMs },
        NOW,
      );
      await seed('dev-night', 7);
    }, 120_000);
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    const both = async (account: string, asOfMs?: number, plan?: SummaryPlan) => {
      const summed = await catalog.loadRatingInput(account, JUNE, asOfMs, plan ? { plan } : {});
      const rows = await catalog.loadRatingInput(account, JUNE, asOfMs, { rows: true });
      return { summed, rows };
    };
    const sampleCount = (input: RatingInput) =>
      input.devices.reduce((n, d) => n + d.samples.length, 0);

    for (const plan of ['index', 'scan'] as const)
      for (const [account, asOf] of [
        ['acct-a', undefined],
        ['acct-b', undefined],
        ['acct-a', utc('2024-06-18T07:35:00Z')],
        ['acct-b', utc('2024-06-25T00:00:00Z')],
      ] as const)
        it(`${account}, ${asOf === undefined ? 'closed month' : `open as of ${new Date(asOf).toISOString()}`}, summed by ${plan}: the same invoice from both forms`, async () => {
          const { summed, rows } = await both(account, asOf, plan);
          expect(summed.peaks).toBeDefined();
          expect(rows.peaks).toBeUndefined();
          // The summed form is small: one sample per device, segment and dims key.
          expect(sampleCount(summed)).toBeLessThan(40);
          expect(sampleCount(rows)).toBeGreaterThan(1000);
          const invoice = rateAccount(summed);
          expect(json(invoice)).toBe(json(rateAccount(rows)));
          // The month is not trivial: every kind of line is there.
          const kinds = new Set(invoice.lines.map((l) => `${l.kind}:${l.charge}`));
          for (const k of [
            'usage:data',
            'usage:sms',
            'peak:p95',
            'peak:p90-account',
            'peak:high-water',
            'fixed:fee',
          ])
            expect(kinds).toContain(k);
          if (account === 'acct-a') {
            expect(kinds).toContain('peak:p99-eu');
            expect(kinds).toContain('usage:eu');
            expect(invoice.plans.map((p) => `${p.plan}@${p.version}`).sort()).toEqual([
              'mix@1',
              'mix@2',
              'ovr@1',
            ]);
          }
        });

    for (const plan of ['index', 'scan'] as const)
      it(`peak series arrive cut to exactly what the rank needs, largest first (${plan})`, async () => {
        const { summed, rows } = await both('acct-a', undefined, plan);
        // The reference: the device's rows under the plan version, summed per interval.
        const seriesOf = (device: string, plan: string) => {
          const d = rows.devices.find((x) => x.deviceId === device);
          const spans = (d?.segments ?? []).filter((g) => `${g.planId}@${g.planVersion}` === plan);
          const perBucket = new Map<number, { in: number; out: number }>();
          for (const s of d?.samples ?? [])
            if (spans.some((g) => s.bucketMs >= g.fromMs && s.bucketMs < g.toMs)) {
              const cur = perBucket.get(s.bucketMs) ?? { in: 0, out: 0 };
              perBucket.set(s.bucketMs, { in: cur.in + s.down, out: cur.out + s.up });
            }
          return [...perBucket.values()];
        };
        const p95 = summed.peaks?.filter((p) => p.charge === 'p95') ?? [];
        // Both kinds: devices with one dims key (sorted with their sums) and with two (summed
        // per interval first), under both versions of the plan.
        expect(p95.length).toBeGreaterThan(8);
        for (const p of p95) {
          const series = seriesOf(p.device ?? '', p.plan);
          const n = series.length;
          expect(p.summary.observed).toBe(n);
          const needed = n - Math.ceil((95 * n) / 100) + 1;
          for (const dir of ['in', 'out'] as const) {
            const largest = series.map((v) => v[dir]).sort((a, b) => b - a);
            expect(p.summary.top[dir]).toEqual(largest.slice(0, needed));
          }
        }
        // A maximum needs one value.
        for (const p of summed.peaks?.filter((x) => x.charge === 'high-water') ?? [])
          expect(p.summary.top.in).toHaveLength(1);
      });

    for (const plan of ['index', 'scan'] as const)
      it(`meters summed in SQL stay exact decimals (${plan})`, async () => {
        const { summed, rows } = await both('acct-b', undefined, plan);
        const total = (input: RatingInput) => {
          let t = new Dec(0);
          for (const d of input.devices)
            for (const s of d.samples) {
              const v = s.meters.sms;
              // The row form holds the whole month; what is rated is inside the segments.
              const inSegment = d.segments.some(
                (g) => s.bucketMs >= g.fromMs && s.bucketMs < g.toMs,
              );
              if (v === undefined || !inSegment) continue;
              expect(v).toMatch(/^\d+(\.\d+)?$/);
              t = t.plus(v);
            }
          return t.toFixed();
        };
        // Hundreds of tenths summed: any trip through a double would show in the last digits.
        expect(total(summed)).toBe(total(rows));
        expect(total(summed)).toMatch(/^\d{2,}\.\d$/);
      });

    it('several readers share out the devices on one snapshot: the same invoice', async () => {
      // Counts the transactions the catalog starts: one read, plus one per extra reader.
      let transactions = 0;
      const sql = store.sql;
      const counted: SqlClient = {
        query: (text, params) => sql.query(text, params),
        exec: (text) => sql.exec(text),
        transaction: (fn) => {
          transactions++;
          return sql.transaction(fn);
        },
        close: () => sql.close(),
        ...(sql.spareConnections ? { spareConnections: () => sql.spareConnections?.() ?? 0 } : {}),
      };
      const parallel = new SqlCatalogStore(counted, { readers: 3 });
      const summed = await parallel.loadRatingInput('acct-a', JUNE);
      // PGlite is one connection: it reads alone. The pool lends two more, to each of the scan
      // plan's two steps (the sampled thresholds, then the pass): acct-a is most of the table.
      expect(transactions).toBe(target.driver === 'pg' ? 1 + 2 * 2 : 1);
      const rows = await catalog.loadRatingInput('acct-a', JUNE, undefined, { rows: true });
      expect(json(rateAccount(summed))).toBe(json(rateAccount(rows)));
    });

    it('a plan with a time window keeps the rows, and rates as before', async () => {
      const { summed, rows } = await both('acct-night');
      expect(summed.peaks).toBeUndefined();
      expect(sampleCount(summed)).toBe(sampleCount(rows));
      expect(json(rateAccount(summed))).toBe(json(rateAccount(rows)));
    });
  });
}
