// The two plans that read a summed rating input (rating-cells.ts: by index; rating-scan.ts: one
// pass with sampled thresholds) must give the same input: random series — ties, zeros, values
// up to int8, few rows, many dims keys, several segments — rated both ways give the same peaks
// and the same invoice, or the same error, under a plan with a version mid-month (every device
// has two segments) and under a steady plan (a device that stays is joined by device alone).
// And a pass whose thresholds were too high reads the short devices again by index rather than
// return a cut series, as it reads a few devices that do not cover the month.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { dimsKey } from '../rater/storage/batch.ts';
import { validatePlan } from '../rater/rating/plan.ts';
import { billingPeriod } from '../rater/rating/period.ts';
import { rateAccount } from '../rater/rating/engine.ts';
import type { RatingInput } from '../rater/rating/types.ts';
import { indexCells, spanParams, type Wanted } from '../rater/storage/rating-cells.ts';
import { scanCells } from '../rater/storage/rating-scan.ts';
import { dbTargets } from './helpers/db.ts';

const JUNE = billingPeriod('2024-06', 'UTC');
const NOW = JUNE.startMs + 3_600_000;
const BUCKETS = (JUNE.endMs - JUNE.startMs) / 300_000;

/**
 * Device and account peaks of every direction, one filtered; version 2 cuts every segment. The
 * `steady` plan has version 1 only.
 */
const plan = (version: 1 | 2, id: 'peaks' | 'steady' = 'peaks') =>
  validatePlan({
    plan: id,
    currency: 'EUR',
    effective_from: version === 1 ? '2024-01-01' : '2024-06-12',
    charges: [
      { id: 'total', type: 'usage', meter: 'total', pricing: { model: 'per_unit', price: '1' } },
      {
        id: 'p95',
        type: 'peak',
        method: 'percentile',
        percentile: version === 1 ? 95 : 80,
        direction: 'max',
        unit: 'bps',
        pricing: { model: 'per_unit', price: '0.10' },
      },
      {
        id: 'p50-sum',
        type: 'peak',
        method: 'percentile',
        percentile: 50,
        direction: 'sum',
        unit: 'bps',
        pricing: { model: 'per_unit', price: '0.01' },
      },
      {
        id: 'max-eu',
        type: 'peak',
        method: 'max',
        direction: 'out',
        unit: 'bps',
        filter: { dims: { zone: 'eu' } },
        pricing: { model: 'per_unit', price: '0.01' },
      },
      {
        id: 'p90-account',
        type: 'peak',
        method: 'percentile',
        percentile: 90,
        direction: 'in',
        scope: 'account',
        unit: 'bps',
        pricing: { model: 'per_unit', price: '0.01' },
      },
    ],
  });

const ZONES: Array<Record<string, string> | undefined> = [
  undefined,
  { zone: 'eu' },
  { zone: 'us' },
  { zone: 'eu', apn: 'b' },
];
const INT8_MAX = 2n ** 63n - 1n;

/** A byte count: zeros, a few repeated values (ties), small, large, up to int8 (halved: up + down). */
const bytes = fc.oneof(
  fc.constant(0n),
  fc.constantFrom(1000n, 5000n, 5000n, 70000n),
  fc.bigInt(0n, 100_000n),
  fc.bigInt(0n, 1n << 40n),
  fc.bigInt(0n, INT8_MAX / 2n),
);
const row = fc.record({
  bucket: fc.integer({ min: 0, max: BUCKETS - 1 }),
  zone: fc.integer({ min: 0, max: ZONES.length - 1 }),
  up: bytes,
  down: bytes,
});
const device = fc.record({
  rows: fc.oneof(fc.array(row, { maxLength: 4 }), fc.array(row, { maxLength: 400 })),
  // Extra rows on a dense run of buckets, so some series are long enough for thresholds.
  dense: fc.integer({ min: 0, max: 3000 }),
  moves: fc.boolean(),
});

type DeviceRows = typeof device extends fc.Arbitrary<infer T> ? T : never;

/** What a run gave: the input's peaks and invoice, or the error's code. */
async function outcome(load: () => Promise<RatingInput>): Promise<string> {
  try {
    const input = await load();
    return JSON.stringify({ peaks: input.peaks, invoice: rateAccount(input) });
  } catch (e) {
    return `error ${(e as { code?: string }).code ?? String(e)}`;
  }
}

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`summing plans on ${target.name}`, () => {
    let store: SqlUsageStore;
    let catalog: SqlCatalogStore;
    let cleanup: () => Promise<void> = async () => {};
    let accounts = 0;

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 4 });
      await store.migrate();
      catalog = new SqlCatalogStore(store.sql, { readers: 2 });
      await catalog.putPlan(plan(1), NOW);
      await catalog.putPlan(plan(2), NOW);
      await catalog.putPlan(plan(1, 'steady'), NOW);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    /** A fresh account with these devices' rows (rows of one cell and bucket summed). */
    const seed = async (
      devices: Array<DeviceRows>,
      planId: 'peaks' | 'steady' = 'peaks',
    ): Promise<string> => {
      const account = `acct-${++accounts}`;
      await catalog.putAccount(
        {
          id: account,
          currency: 'EUR',
          timeZone: 'UTC',
          planId,
          planFromMs: JUNE.startMs,
        },
        NOW,
      );
      await catalog.putAccount(
        {
          id: `${account}-x`,
          currency: 'EUR',
          timeZone: 'UTC',
          planId: 'peaks',
          planFromMs: JUNE.startMs,
        },
        NOW,
      );
      for (const [i, d] of devices.entries()) {
        const id = `${account}-d${i}`;
        await catalog.putDevice({ id, accountId: account, fromMs: JUNE.startMs }, NOW);
        // Away for five days and back: two stays, hence more segments.
        if (d.moves) {
          await catalog.putDevice(
            { id, accountId: `${account}-x`, fromMs: JUNE.startMs + 20 * 86_400_000 },
            NOW,
          );
          await catalog.putDevice(
            { id, accountId: account, fromMs: JUNE.startMs + 25 * 86_400_000 },
            NOW,
          );
        }
        const cells = new Map<string, { bucket: number; zone: number; up: bigint; down: bigint }>();
        const rows = [
          ...d.rows,
          ...Array.from({ length: d.dense }, (_, k) => ({
            bucket: (k * 7) % BUCKETS,
            zone: k % 2,
            up: BigInt((k * 7919) % 3001),
            down: BigInt((k * 104729) % 50_000),
          })),
        ];
        for (const r of rows) {
          const key = `${r.zone}/${r.bucket}`;
          const cur = cells.get(key);
          if (!cur) cells.set(key, { ...r });
          else {
            // Summed, as ingest would; kept inside int8 (up + down must fit too).
            cur.up = (cur.up + r.up) % (INT8_MAX / 2n);
            cur.down = (cur.down + r.down) % (INT8_MAX / 2n);
          }
        }
        const list = [...cells.values()];
        await store.sql.query(
          `INSERT INTO usage_5m (device_id, bucket, dims_key, dims, up, down, records)
           SELECT $1, to_timestamp(b * 300 + $2::int8), k, d::jsonb, u, w, 1
           FROM unnest($3::int[], $4::text[], $5::text[], $6::int8[], $7::int8[])
             AS r (b, k, d, u, w)`,
          [
            id,
            JUNE.startMs / 1000,
            list.map((c) => c.bucket),
            list.map((c) => dimsKey(ZONES[c.zone])),
            list.map((c) => JSON.stringify(ZONES[c.zone] ?? {})),
            list.map((c) => c.up.toString()),
            list.map((c) => c.down.toString()),
          ],
        );
      }
      await store.sql.exec('ANALYZE usage_5m');
      return account;
    };

    for (const planId of ['peaks', 'steady'] as const)
      it(`random series: the same peaks and invoice by index and by scan (${planId})`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(device, { minLength: 1, maxLength: 4 }), async (devices) => {
            const account = await seed(devices, planId);
            const byIndex = await outcome(() =>
              catalog.loadRatingInput(account, JUNE, undefined, { plan: 'index' }),
            );
            const byScan = await outcome(() =>
              catalog.loadRatingInput(account, JUNE, undefined, { plan: 'scan' }),
            );
            expect(byScan).toBe(byIndex);
          }),
          { numRuns: target.driver === 'pg' ? 20 : 10, seed: 20261121 },
        );
      }, 600_000);

    it('a few devices not covering the month are left to the index, the rest joined by device', async () => {
      const stays = { rows: [], dense: 600, moves: false };
      const account = await seed(
        [...Array.from({ length: 12 }, () => stays), { rows: [], dense: 600, moves: true }],
        'steady',
      );
      const input = await catalog.loadRatingInput(account, JUNE, undefined, { rows: true });
      const spans = spanParams(input.devices);
      const bounds = [JUNE.startMs, JUNE.endMs].map((ms) => new Date(ms).toISOString());
      const wanted: Wanted = { dirs: ['in', 'out'], lowest: 95 };
      const readers = [<T>(fn: (tx: typeof store.sql) => Promise<T>) => fn(store.sql)];
      const scanned = await scanCells(store.sql, readers, spans, bounds, wanted);
      // The device that moved has three segments: left out, for the index; the others scanned.
      expect([...scanned.short]).toEqual([`${account}-d12`]);
      const byKey = (c: { device_id: string; seg: number; dims_key: string }) =>
        `${c.device_id}/${c.seg}/${c.dims_key}`;
      const reference = (await indexCells(store.sql, spans, bounds, wanted))
        .filter((c) => c.device_id !== `${account}-d12`)
        .sort((a, b) => byKey(a).localeCompare(byKey(b)));
      const cells = scanned.rows.sort((a, b) => byKey(a).localeCompare(byKey(b)));
      expect(cells.map(byKey)).toEqual(reference.map(byKey));
      for (const [i, c] of cells.entries()) {
        const r = reference[i];
        // The pass keeps at least the values the rank needs; the index plan exactly those.
        expect({ ...c, top: {} }).toEqual({ ...r, top: {} });
        for (const d of wanted.dirs) expect(c.top[d]).toEqual(r?.top[d]);
      }
      // And the whole input, rated: the same as by index.
      expect(
        await outcome(() => catalog.loadRatingInput(account, JUNE, undefined, { plan: 'scan' })),
      ).toBe(
        await outcome(() => catalog.loadRatingInput(account, JUNE, undefined, { plan: 'index' })),
      );
    }, 120_000);

    it('cells the thresholds cut short are reported, never returned cut', async () => {
      const account = await seed([
        { rows: [], dense: 3000, moves: false },
        { rows: [], dense: 40, moves: true },
      ]);
      const input = await catalog.loadRatingInput(account, JUNE, undefined, { rows: true });
      const spans = spanParams(input.devices);
      const bounds = [JUNE.startMs, JUNE.endMs].map((ms) => new Date(ms).toISOString());
      const wanted: Wanted = { dirs: ['in', 'out', 'sum'], lowest: 80 };
      const reference = await indexCells(store.sql, spans, bounds, wanted);
      const key = (c: { device_id: string; seg: number; dims_key: string }) =>
        `${c.device_id}/${c.seg}/${c.dims_key}`;
      const byKey = new Map(reference.map((c) => [key(c), c]));
      const readers = [<T>(fn: (tx: typeof store.sql) => Promise<T>) => fn(store.sql)];
      // Thresholds above every value: every device with a peak value to keep comes back short.
      const high = await scanCells(store.sql, readers, spans, bounds, wanted, async () => {
        const all = new Map<string, Partial<Record<'in' | 'out' | 'sum', string>>>();
        for (const id of spans.ids)
          all.set(id, { in: '1000000000', out: '1000000000', sum: '1000000000' });
        return all;
      });
      expect([...high.short].sort()).toEqual([...new Set(spans.ids)].sort());
      expect(high.rows).toEqual([]);
      // No thresholds: every value comes back, and the cells are the index plan's.
      const none = await scanCells(
        store.sql,
        readers,
        spans,
        bounds,
        wanted,
        async () => new Map(),
      );
      expect(none.short.size).toBe(0);
      expect(none.rows.length).toBe(reference.length);
      for (const c of none.rows) {
        const r = byKey.get(key(c));
        expect(c).toEqual({
          ...r,
          top: Object.fromEntries(
            Object.entries(r?.top ?? {}).map(([d, v]) => [d, v.slice(0, c.top.in?.length ?? 0)]),
          ),
        });
      }
    }, 120_000);
  });
}
