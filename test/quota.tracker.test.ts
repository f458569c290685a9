// The quota tracker on both drivers, fed by the real ingest service: crossings fire exactly once
// (duplicate batches, a restarted tracker), a pooled quota sums the account's devices and moves
// every device of the account, zero-rated usage counts only past its allowance, a rolling
// window decays and re-arms; on the PostgreSQL server two trackers evaluating the same device at
// once produce one crossing and one delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { QuotaTracker } from '../rater/quota/tracker.ts';
import { parsePlan } from '../rater/rating/plan.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import type { SqlClient } from '../rater/storage/sql.ts';
import { dbTargets } from './helpers/db.ts';
import {
  changes,
  crossings,
  deliveryCount,
  quotaRig,
  type QuotaRig,
} from './helpers/quota-rater.ts';

const ALL = ['quota.threshold_crossed', 'bill.projected_total_over'] as const;

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`quota tracker on ${target.name}`, () => {
    let rig: QuotaRig;
    let cleanup: () => Promise<void> = async () => {};

    /** Moves a device to the account `free`, whose plan has no quotas (made on first use). */
    async function moveToFree(id: string): Promise<void> {
      if (!(await rig.catalog.getAccount('free', rig.clock.now))) {
        await rig.catalog.putPlan(parsePlan(NO_QUOTA_PLAN), rig.clock.now);
        await rig.catalog.putAccount(
          { id: 'free', currency: 'EUR', timeZone: 'UTC', planId: 'free' },
          rig.clock.now,
        );
      }
      rig.clock.now += 60_000;
      await rig.catalog.putDevice({ id, accountId: 'free' }, rig.clock.now);
      rig.clock.now += 60_000;
    }

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      rig = await quotaRig(db.url);
      await rig.alerts.putEndpoint({ id: 'hook', url: 'http://127.0.0.1:9/x', events: [...ALL] });
    });
    afterAll(async () => {
      await rig?.close();
      await cleanup();
    });

    it('a crossing fires once: not again for a duplicate batch, nor after a restart', async () => {
      await rig.send('b1', [{ deviceId: 'd1', up: 300_000, down: 550_000 }]);
      expect(await crossings(rig.store)).toEqual([
        { rule_key: 'q1/cap', subject: 'device:d1', level: 0 },
        { rule_key: 'q1/cap', subject: 'device:d1', level: 1 },
        { rule_key: 'q1/hourly', subject: 'device:d1', level: 0 },
      ]);
      expect(await deliveryCount(rig.store)).toBe(3);
      let log = await changes(rig.store, 'd1');
      expect(log).toHaveLength(1);
      const first = log[0]!;
      expect(first.state).toBe('throttled');
      expect(first.throttleBps).toBe(64_000);
      expect(first.source).toBe('rater');
      expect(first.events?.map((e) => `${e.id}:${e.level}:${e.action}`)).toEqual([
        'cap:0:notify',
        'cap:1:throttle',
        'hourly:0:notify',
      ]);
      const cap = first.quotas.find((q) => q.id === 'cap')!;
      expect([cap.used, cap.limit, cap.pct, cap.state]).toEqual([
        '850000',
        '1000000',
        '85.00',
        'throttled',
      ]);
      expect(cap.windowStart).toBe('2026-11-01T00:00:00.000Z');
      expect(cap.windowEnd).toBe('2026-12-01T00:00:00.000Z');

      // The same batch again: duplicates, no new usage, nothing fires.
      await rig.send('b1', [{ deviceId: 'd1', up: 300_000, down: 550_000 }]);
      rig.tracker.onCommitted(['d1'], 0);
      await rig.tracker.flush();
      // A restarted rater reconciles (sweep of non-ok quotas) and decides the same: no new rows.
      const restarted = rig.newTracker();
      await restarted.sweep();
      await restarted.flush();
      expect(await crossings(rig.store)).toHaveLength(3);
      expect(await deliveryCount(rig.store)).toBe(3);
      expect(await changes(rig.store, 'd1')).toHaveLength(1);

      // More usage reaches 100 %: only the new level fires.
      await rig.send('b2', [{ deviceId: 'd1', down: 200_000 }]);
      expect((await crossings(rig.store)).map((c) => `${c.rule_key}:${c.level}`)).toEqual([
        'q1/cap:0',
        'q1/cap:1',
        'q1/cap:2',
        'q1/hourly:0',
      ]);
      log = await changes(rig.store, 'd1');
      expect(log.at(-1)!.state).toBe('blocked');
      expect(log.at(-1)!.throttleBps).toBeUndefined();
      expect(log.at(-1)!.events?.map((e) => `${e.id}:${e.level}`)).toEqual(['cap:2']);
    });

    it('zero-rated usage counts only past its allowance', async () => {
      await rig.send('z1', [
        { deviceId: 'd2', down: 150_000, dims: { apn: 'free' } },
        { deviceId: 'd2', up: 400_000 },
      ]);
      let cap = (await rig.tracker.deviceQuotas('d2')).quotas.find((q) => q.id === 'cap')!;
      // 400 KB counted + (150 KB − 100 KB allowance) zero-rated.
      expect([cap.used, cap.zeroRated, cap.state]).toEqual(['450000', '150000', 'ok']);
      await rig.send('z2', [{ deviceId: 'd2', down: 100_000, dims: { apn: 'free' } }]);
      cap = (await rig.tracker.deviceQuotas('d2')).quotas.find((q) => q.id === 'cap')!;
      expect([cap.used, cap.zeroRated, cap.state]).toEqual(['550000', '250000', 'warning']);
      expect((await changes(rig.store, 'd2')).at(-1)!.state).toBe('warning');
    });

    it("a pooled quota sums the account's devices and changes every device's status", async () => {
      // up so far: d1 300 KB, d2 400 KB; d3 adds 2.4 MB → 3.1 MB of the 3 MB pool.
      await rig.send('p1', [
        { deviceId: 'd3', up: 1_200_000 },
        { deviceId: 'd3', up: 1_200_000 },
      ]);
      const pool = (await rig.tracker.accountQuotas('acme'))!.quotas.find((q) => q.id === 'pool')!;
      expect([pool.used, pool.state, pool.accountId]).toEqual(['3100000', 'blocked', 'acme']);
      expect((await crossings(rig.store)).filter((c) => c.rule_key === 'q1/pool')).toEqual([
        { rule_key: 'q1/pool', subject: 'account:acme', level: 0 },
      ]);
      // d2 sent nothing, yet its latest status carries the blocked pool.
      const d2 = (await changes(rig.store, 'd2')).at(-1)!;
      expect(d2.state).toBe('blocked');
      expect(d2.quotas.find((q) => q.id === 'pool')!.used).toBe('3100000');
      expect(d2.events).toBeUndefined();
    });

    it('a rolling window decays in the sweep and fires again after it was ok', async () => {
      rig.clock.now += 2 * 3600_000;
      await rig.tracker.sweep();
      await rig.tracker.flush();
      const hourly = (await changes(rig.store, 'd1'))
        .at(-1)!
        .quotas.find((q) => q.id === 'hourly')!;
      expect([hourly.used, hourly.state]).toEqual(['0', 'ok']);
      await rig.send('r1', [{ deviceId: 'd1', down: 600_000 }]);
      expect((await crossings(rig.store)).filter((c) => c.rule_key === 'q1/hourly')).toHaveLength(
        2,
      );
    });

    it('counts late usage for a settled bucket (kept sums are dropped for that device)', async () => {
      const before = (await rig.tracker.deviceQuotas('d2')).quotas.find((q) => q.id === 'cap')!;
      const late = rig.clock.now - 3 * 86_400_000;
      await rig.send('late', [{ deviceId: 'd2', up: 10_000, endMs: late, receivedMs: late }]);
      const after = (await rig.tracker.deviceQuotas('d2')).quotas.find((q) => q.id === 'cap')!;
      expect(Number(after.used) - Number(before.used)).toBe(10_000);
    });

    it('a device without quotas gets no status, and one that loses its quotas is cleared', async () => {
      await rig.send('stray', [{ deviceId: 'stray-1', up: 900_000 }]);
      expect(await changes(rig.store, 'stray-1')).toEqual([]);

      await rig.catalog.putDevice({ id: 'mover', accountId: 'acme' }, rig.clock.now);
      await rig.send('mover-1', [{ deviceId: 'mover', up: 100_000 }]);
      expect((await changes(rig.store, 'mover')).at(-1)?.quotas.length).toBeGreaterThan(0);
      await moveToFree('mover');
      await rig.send('mover-2', [{ deviceId: 'mover', up: 1 }]);
      const last = (await changes(rig.store, 'mover')).at(-1)!;
      expect(last.quotas).toEqual([]);
      expect(last.state).toBe('ok');
    });

    it('a tick of many devices: those without quotas cost one catalog read and one log query together', async () => {
      await rig.catalog.putDevice({ id: 'mover-b', accountId: 'acme' }, rig.clock.now);
      await rig.send('mover-b-1', [{ deviceId: 'mover-b', up: 100_000 }]);
      expect((await changes(rig.store, 'mover-b')).at(-1)?.quotas.length).toBeGreaterThan(0);
      await moveToFree('mover-b');

      // Every statement and transaction the tracker (and its catalog) starts, counted.
      let calls = 0;
      const sql = rig.store.sql;
      const counted: SqlClient = {
        query: (text, params) => (calls++, sql.query(text, params)),
        exec: (text) => (calls++, sql.exec(text)),
        transaction: (fn) => (calls++, sql.transaction(fn)),
        close: async () => {},
      };
      const tracker = new QuotaTracker(
        {
          sql: counted,
          catalog: new SqlCatalogStore(counted),
          logger: silentLogger(),
          now: () => rig.clock.now,
        },
        { evalIntervalMs: 50, sweepIntervalMs: 60_000, rulesTtlMs: 0 },
      );
      const strays = Array.from({ length: 40 }, (_, i) => `stray-many-${i}`);
      tracker.onCommitted([...strays, 'mover-b'], rig.clock.now - 60_000);
      await tracker.flush();
      // One device each way: 40 strays skipped together (one read, one query; two per device
      // before), the device that lost its quotas evaluated on its own and cleared.
      expect(calls).toBeLessThan(10);
      for (const d of strays.slice(0, 3)) expect(await changes(rig.store, d)).toEqual([]);
      const last = (await changes(rig.store, 'mover-b')).at(-1)!;
      expect(last.quotas).toEqual([]);
      expect(last.state).toBe('ok');
    });
  });
}

const NO_QUOTA_PLAN = `
plan: free
currency: EUR
effective_from: '2020-01-01'
charges:
  - { id: fee, type: fixed, per: account, amount: '1.00' }
`;

const pg = dbTargets.find((t) => t.driver === 'pg')!;
describe.skipIf(!pg.available)('two trackers on one PostgreSQL database', () => {
  it('evaluating the same device at once: one crossing, one delivery, one event', async () => {
    const db = await pg.create();
    const rig = await quotaRig(db.url);
    try {
      await rig.alerts.putEndpoint({ id: 'hook', url: 'http://127.0.0.1:9/x', events: [...ALL] });
      const other = rig.newTracker();
      await rig.store.ingest({
        collectorId: 'gw1',
        batchId: 'x',
        records: [
          (await import('./helpers/db.ts')).rec('d1', 1, {
            endMs: rig.clock.now - 60_000,
            receivedMs: rig.clock.now - 60_000,
            up: 600_000,
            down: 0,
          }),
        ],
      });
      for (let round = 0; round < 5; round++) {
        rig.tracker.onCommitted(['d1'], 0);
        other.onCommitted(['d1'], 0);
        await Promise.all([rig.tracker.flush(), other.flush()]);
      }
      expect(await crossings(rig.store)).toEqual([
        { rule_key: 'q1/cap', subject: 'device:d1', level: 0 },
      ]);
      expect(await deliveryCount(rig.store)).toBe(1);
      const log = await changes(rig.store, 'd1');
      expect(log.filter((s) => s.events)).toHaveLength(1);
      expect(log).toHaveLength(1);
      await other.stop();
    } finally {
      await rig.close();
      await db.cleanup();
    }
  });
});
