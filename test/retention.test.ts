// Retention of raw usage records (docs/security.md#retention) on both databases: records older
// than the cutoff go (TimescaleDB: whole chunks dropped; plain tables: deleted), while the
// rollups bills are rated from and the dedupe keys stay, so a replay of a pruned record is
// still a duplicate and no total changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { ConfigError } from '../common/config.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { openStore } from '../rater/storage/open.ts';
import { RetentionJob } from '../rater/storage/retention.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import type { StoredRecordInput } from '../rater/storage/store.ts';
import { dbTargets, rec } from './helpers/db.ts';

/** 12 five-minute records of d1 from `startIso`, seq from `firstSeq`. */
function records(startIso: string, firstSeq: number): StoredRecordInput[] {
  const start = Date.parse(startIso);
  return Array.from({ length: 12 }, (_, i) =>
    rec('d1', firstSeq + i, {
      startMs: start + i * 300_000,
      endMs: start + (i + 1) * 300_000,
      up: 100,
      down: 900,
      receivedMs: start + (i + 1) * 300_000,
    }),
  );
}

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`retention on ${target.name}`, () => {
    let store: SqlUsageStore;
    let cleanup: () => Promise<void> = async () => {};
    const old = records('2026-01-10T00:00:00Z', 1);
    const recent = records('2026-05-20T00:00:00Z', 100);

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 2 });
      await store.migrate();
      await store.ingest({ collectorId: 'gw', batchId: 'old', records: old });
      await store.ingest({ collectorId: 'gw', batchId: 'recent', records: recent });
    });
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    const count = async (table: string) =>
      (await store.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;
    const rolledUp = async () =>
      (await store.sql.query<{ b: string }>(`SELECT sum(up + down)::text AS b FROM usage_5m`))
        .rows[0]?.b;

    it('removes raw records older than the cutoff and keeps rollups and dedupe keys', async () => {
      expect(await count('usage_records')).toBe(24);
      const before = await rolledUp();
      expect(before).toBe('24000');
      const job = new RetentionJob(store.sql, {
        days: 35,
        logger: silentLogger(),
        now: () => Date.parse('2026-06-01T00:00:00Z'),
      });
      const run = await job.runOnce();
      expect(run.cutoff).toBe('2026-04-27T00:00:00.000Z');
      if (store.capabilities.timescale) expect(run).toMatchObject({ method: 'drop_chunks' });
      else expect(run).toMatchObject({ method: 'delete', removed: 12 });
      expect(run.removed).toBeGreaterThan(0);
      expect(await count('usage_records')).toBe(12);
      expect(await count('usage_record_keys')).toBe(24);
      expect(await rolledUp()).toBe(before);
      // Nothing more to do on a second run.
      expect((await job.runOnce()).removed).toBe(0);
    });

    it('still counts a replay of a pruned record as a duplicate: no total changes', async () => {
      const replay = await store.ingest({ collectorId: 'gw', batchId: 'old', records: old });
      expect(replay).toEqual({ accepted: 0, duplicates: 12, conflicts: 0 });
      expect(await rolledUp()).toBe('24000');
      expect(await count('usage_records')).toBe(12);
    });
  });
}

describe('retentionDays', () => {
  it('is 0 (forever) by default and refuses a retention shorter than a billing month', () => {
    expect(loadRaterConfig({ env: {} }).retentionDays).toBe(0);
    expect(loadRaterConfig({ env: { EDGEMETER_RETENTION_DAYS: '400' } }).retentionDays).toBe(400);
    expect(() => loadRaterConfig({ env: { EDGEMETER_RETENTION_DAYS: '7' } })).toThrow(ConfigError);
    expect(() => loadRaterConfig({ env: { EDGEMETER_RETENTION_DAYS: '7' } })).toThrow(
      /EDGEMETER_RETENTION_DAYS: must be 0 \(keep raw records forever\) or at least 35 days/,
    );
  });
});
