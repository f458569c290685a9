// The usage store against real databases: the same behavioural suite on embedded PGlite (with
// TimescaleDB) and on the PostgreSQL server (plain tables). No mocks.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { CopyBinaryWriter, encodedJsonb, encodedText } from '../rater/storage/copy-binary.ts';
import { openStore } from '../rater/storage/open.ts';
import { PgSqlClient } from '../rater/storage/pg-client.ts';
import { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { atomic } from '../rater/storage/sql.ts';
import type { IngestBatchInput, StoredRecordInput } from '../rater/storage/store.ts';
import { ARRAYS_WITH_NULLS, ARRAYS_WITH_NULLS_ROW, dbTargets, rec, utc } from './helpers/db.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';

let batchNo = 0;
const batch = (records: StoredRecordInput[], collectorId = 'c1'): IngestBatchInput => ({
  collectorId,
  batchId: `b${++batchNo}`,
  records,
});

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`usage store on ${target.name}`, () => {
    let store: SqlUsageStore;
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 6 });
      await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    const day = (dev: string, fromIso: string, toIso: string, timeZone?: string) =>
      store.usageSeries({
        deviceId: dev,
        fromMs: utc(fromIso),
        toMs: utc(toIso),
        step: '1d',
        timeZone,
      });
    const fiveMin = (dev: string) =>
      store.usageSeries({
        deviceId: dev,
        fromMs: utc('2024-05-01T00:00:00Z'),
        toMs: utc('2024-05-02T00:00:00Z'),
        step: '5m',
      });

    it('reports its capabilities; TimescaleDB hypertables exactly when the extension is there', async () => {
      expect(store.capabilities.driver).toBe(target.driver);
      expect(store.capabilities.timescale).toBe(target.driver === 'pglite');
      if (store.capabilities.timescale) {
        const { rows } = await store.sql.query<{ hypertable_name: string }>(
          `SELECT hypertable_name FROM timescaledb_information.hypertables ORDER BY 1`,
        );
        expect(rows.map((r) => r.hypertable_name)).toEqual(['usage_5m', 'usage_records']);
      }
    });

    // Every index of usage_records and of its chunks, as "index name: key columns".
    const recordIndexes = async () => {
      const { rows } = await store.sql.query<{ t: string; i: string; cols: string }>(
        `SELECT c.relname AS t, ic.relname AS i,
                regexp_replace(pg_get_indexdef(x.indexrelid), '^.* USING btree ', '') AS cols
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class ic ON ic.oid = x.indexrelid
         WHERE c.oid = 'usage_records'::regclass
            OR c.oid IN (SELECT inhrelid FROM pg_inherits
                         WHERE inhparent = 'usage_records'::regclass)`,
      );
      const chunks = await store.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'usage_records'::regclass`,
      );
      return { rows, tables: 1 + (chunks.rows[0]?.n ?? 0) };
    };

    it('usage_records has one index, (device_id, ts), on the table and on every chunk', async () => {
      // Records on three days: three chunks where TimescaleDB is there.
      await store.ingest(
        batch([
          rec('dev-idx', 1, { endMs: utc('2024-06-01T10:00:00Z') }),
          rec('dev-idx', 2, { endMs: utc('2024-06-02T10:00:00Z') }),
          rec('dev-idx', 3, { endMs: utc('2024-06-03T10:00:00Z') }),
        ]),
      );
      const { rows, tables } = await recordIndexes();
      expect(tables).toBeGreaterThanOrEqual(store.capabilities.timescale ? 4 : 1);
      expect(new Set(rows.map((r) => r.cols))).toEqual(new Set(['(device_id, ts)']));
      expect(rows.length).toBe(tables);
    });

    it('an older schema: version 8 drops the time-only index TimescaleDB made, on every chunk', async () => {
      // As migration 001 left a hypertable before version 8: its default index on ts alone, on
      // the hypertable and on every chunk created since. On plain PostgreSQL edgemeter never
      // made one: an index of that name is somebody else's, and stays.
      await store.sql.exec(`CREATE INDEX usage_records_ts_idx ON usage_records (ts DESC)`);
      await store.sql.exec(`DELETE FROM schema_migrations WHERE version = 8`);
      await store.ingest(batch([rec('dev-idx', 4, { endMs: utc('2024-06-04T10:00:00Z') })]));
      const before = await recordIndexes();
      expect(before.rows.filter((r) => r.cols === '(ts DESC)').length).toBe(before.tables);
      await store.migrate();
      const { rows, tables } = await recordIndexes();
      expect(rows.filter((r) => r.cols === '(ts DESC)').length).toBe(
        store.capabilities.timescale ? 0 : 1,
      );
      expect(rows.filter((r) => r.cols === '(device_id, ts)').length).toBe(tables);
      await store.ready();
      if (!store.capabilities.timescale) await store.sql.exec(`DROP INDEX usage_records_ts_idx`);
    });

    it('migrate() again is a no-op, also when called concurrently', async () => {
      await Promise.all([store.migrate(), store.migrate()]);
      const { rows } = await store.sql.query<{ version: number; name: string }>(
        `SELECT version, name FROM schema_migrations ORDER BY version`,
      );
      expect(rows).toEqual([
        { version: 1, name: 'initial' },
        { version: 2, name: 'catalog' },
        { version: 3, name: 'clock_skew' },
        { version: 4, name: 'issued_invoices' },
        { version: 5, name: 'audit_log' },
        { version: 6, name: 'quota_log' },
        { version: 7, name: 'quotas' },
        { version: 8, name: 'records_time_index' },
      ]);
      await store.ready();
    });

    it('a fresh database: not ready, migrated by concurrent raters, persistent', async () => {
      const db = await target.create();
      // Two rater processes on one server; PGlite allows one instance per directory.
      const raters = [await openStore(db.url)];
      if (target.driver === 'pg') raters.push(await openStore(db.url));
      try {
        for (const r of raters)
          await expect(r.ready()).rejects.toMatchObject({ code: 'NOT_MIGRATED' });
        await Promise.all([...raters, ...raters].map((r) => r.migrate()));
        for (const r of raters) await r.ready();
        const first = raters[0] as SqlUsageStore;
        await first.ingest(batch([rec('dev-persist', 1)]));
        for (const r of raters) await r.close();
        raters.length = 0;
        raters.push(await openStore(db.url));
        await (raters[0] as SqlUsageStore).ready();
        const series = await (raters[0] as SqlUsageStore).usageSeries({
          deviceId: 'dev-persist',
          fromMs: utc('2024-05-01T00:00:00Z'),
          toMs: utc('2024-05-02T00:00:00Z'),
          step: '1d',
        });
        expect(series.map((b) => b.up)).toEqual([100]);
      } finally {
        for (const r of raters) await r.close();
        await db.cleanup();
      }
    });

    it('stores new records once; a replayed batch is all duplicates and changes nothing', async () => {
      const dev = 'dev-new';
      const records = [
        rec(dev, 1, { endMs: utc('2024-05-01T10:01:00Z'), up: 10, down: 100 }),
        rec(dev, 2, { endMs: utc('2024-05-01T10:04:00Z'), up: 20, down: 200 }),
        rec(dev, 3, { endMs: utc('2024-05-01T10:05:00Z'), up: 30, down: 300 }), // 10:00 bucket
        rec(dev, 4, { endMs: utc('2024-05-01T10:07:00Z'), up: 40, down: 400 }),
      ];
      expect(await store.ingest(batch(records))).toEqual({
        accepted: 4,
        duplicates: 0,
        conflicts: 0,
      });
      const expected = [
        { startMs: utc('2024-05-01T10:00:00Z'), up: 60, down: 600, records: 3, meters: {} },
        { startMs: utc('2024-05-01T10:05:00Z'), up: 40, down: 400, records: 1, meters: {} },
      ];
      expect(await fiveMin(dev)).toEqual(expected);
      // Same batch again, even through another collector and later.
      const again = records.map((r) => ({ ...r, receivedMs: r.receivedMs + 60_000 }));
      expect(await store.ingest(batch(again, 'c2'))).toEqual({
        accepted: 0,
        duplicates: 4,
        conflicts: 0,
      });
      expect(await fiveMin(dev)).toEqual(expected);
      const raw = await store.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM usage_records WHERE device_id = $1`,
        [dev],
      );
      expect(raw.rows[0]?.n).toBe('4');
    });

    it('same key with different content: the first stays and the conflict is listed once', async () => {
      const dev = 'dev-conflict';
      const first = rec(dev, 7, { up: 5, down: 5 });
      const second = rec(dev, 7, { up: 999, down: 5 });
      await store.ingest(batch([first]));
      expect(await store.ingest(batch([second]))).toEqual({
        accepted: 0,
        duplicates: 0,
        conflicts: 1,
      });
      // A replay of the conflicting batch is still reported, but not stored twice.
      expect(await store.ingest(batch([second]))).toEqual({
        accepted: 0,
        duplicates: 0,
        conflicts: 1,
      });
      expect((await fiveMin(dev)).map((b) => b.up)).toEqual([5]);
      const conflicts = await store.listConflicts(dev);
      expect(conflicts).toHaveLength(1);
      expect(conflicts[0]).toMatchObject({
        deviceId: dev,
        key: first.key,
        collectorId: 'c1',
        existingHash: first.contentHash,
        incomingHash: second.contentHash,
        incoming: { deviceId: dev, seq: 7, up: 999 },
      });
      expect(Math.abs((conflicts[0]?.detectedAtMs ?? 0) - Date.now())).toBeLessThan(600_000);
      expect((await store.listConflicts()).length).toBeGreaterThanOrEqual(1);
    });

    it('a batch mixing stored and new keys stores and rolls up only the new records', async () => {
      const dev = 'dev-mixed';
      const t = utc('2024-05-01T10:01:00Z');
      const old = rec(dev, 1, { endMs: t, up: 1, down: 1 });
      await store.ingest(batch([old]));
      const outcome = await store.ingest(
        batch([
          old,
          rec(dev, 1, { endMs: t, up: 50, down: 1 }), // conflict with the stored one
          rec(dev, 2, { endMs: t, up: 10, down: 10 }),
          rec(dev, 3, { endMs: t + 300_000, up: 100, down: 100, meters: { sms: 2 } }),
        ]),
      );
      expect(outcome).toEqual({ accepted: 2, duplicates: 1, conflicts: 1 });
      expect(await fiveMin(dev)).toEqual([
        { startMs: utc('2024-05-01T10:00:00Z'), up: 11, down: 11, records: 2, meters: {} },
        {
          startMs: utc('2024-05-01T10:05:00Z'),
          up: 100,
          down: 100,
          records: 1,
          meters: { sms: '2' },
        },
      ]);
      expect(await store.listConflicts(dev)).toHaveLength(1);
    });

    it('keeps text with quotes, backslashes, commas and braces exact', async () => {
      const dev = 'dev-text';
      const odd = 'a"b\\c,{d} NULL';
      const r1 = rec(dev, 1, { boot: odd, dims: { zone: odd } });
      const r2 = { ...rec(dev, 0), seq: undefined, id: `NULL`, key: 'i:NULL' };
      expect(await store.ingest(batch([r1, r2]))).toEqual({
        accepted: 2,
        duplicates: 0,
        conflicts: 0,
      });
      const { rows } = await store.sql.query<{ record_key: string; dims: unknown }>(
        `SELECT record_key, dims FROM usage_records WHERE device_id = $1 ORDER BY record_key`,
        [dev],
      );
      expect(rows).toEqual([
        { record_key: 'i:NULL', dims: {} },
        { record_key: `s:${odd}:1`, dims: { zone: odd } },
      ]);
      expect(await store.ingest(batch([r1, r2]))).toMatchObject({ accepted: 0, duplicates: 2 });
    });

    // Keys and records travel as COPY text, where tab, newline, carriage return and backslash
    // are syntax and an unescaped \N is NULL.
    it('keeps text with tabs, newlines, carriage returns and COPY escapes exact', async () => {
      const dev = 'dev-copy-text';
      const odd = 'a\tb\nc\rd\\N\\t\\\\e\\.f😀';
      const r1 = rec(dev, 1, { boot: odd, dims: { zone: odd, 'z-2': '\\N' } });
      const r2 = { ...rec(dev, 0), seq: undefined, id: '\\N', key: 'i:\\N' };
      const b = { collectorId: 'c\t1\\N', batchId: `b\n${++batchNo}\\.`, records: [r1, r2] };
      expect(await store.ingest(b)).toEqual({ accepted: 2, duplicates: 0, conflicts: 0 });
      const { rows } = await store.sql.query<Record<string, unknown>>(
        `SELECT r.record_key, r.dims, r.collector_id, r.batch_id, r.content_hash,
                k.content_hash AS key_hash
         FROM usage_records r JOIN usage_record_keys k USING (device_id, record_key)
         WHERE r.device_id = $1 ORDER BY r.record_key`,
        [dev],
      );
      const stored = (r: typeof r1, dims: unknown) => ({
        record_key: r.key,
        dims,
        collector_id: b.collectorId,
        batch_id: b.batchId,
        content_hash: r.contentHash,
        key_hash: r.contentHash,
      });
      expect(rows).toEqual([stored(r2, {}), stored(r1, { zone: odd, 'z-2': '\\N' })]);
      const [bucket] = await fiveMin(dev);
      expect(bucket).toMatchObject({ up: 200, down: 2000, records: 2 });
      expect(await store.ingest(batch([r1, r2]))).toMatchObject({ accepted: 0, duplicates: 2 });
    });

    it('dedupes inside one batch: first occurrence wins', async () => {
      const dev = 'dev-inbatch';
      const a = rec(dev, 1, { up: 1, down: 1 });
      const outcome = await store.ingest(
        batch([a, a, rec(dev, 1, { up: 2, down: 1 }), rec(dev, 2)]),
      );
      expect(outcome).toEqual({ accepted: 2, duplicates: 1, conflicts: 1 });
      const [b] = await fiveMin(dev);
      expect(b).toMatchObject({ up: 101, down: 1001, records: 2 });
      expect(await store.listConflicts(dev)).toHaveLength(1);
    });

    it('splits records spanning buckets exactly; meters and the count go to the last bucket', async () => {
      const dev = 'dev-split';
      await store.ingest(
        batch([
          rec(dev, 1, {
            startMs: utc('2024-05-01T10:02:00Z'),
            endMs: utc('2024-05-01T10:08:00Z'),
            up: 600,
            down: 7,
            meters: { sessions: 1 },
          }),
        ]),
      );
      expect(await fiveMin(dev)).toEqual([
        { startMs: utc('2024-05-01T10:00:00Z'), up: 300, down: 4, records: 0, meters: {} },
        {
          startMs: utc('2024-05-01T10:05:00Z'),
          up: 300,
          down: 3,
          records: 1,
          meters: { sessions: '1' },
        },
      ]);
    });

    it('sums meters exactly, within a batch, across batches and across buckets', async () => {
      const dev = 'dev-meters';
      const t1 = utc('2024-05-01T10:01:00Z');
      const t2 = utc('2024-05-01T10:11:00Z');
      await store.ingest(batch([rec(dev, 1, { endMs: t1, meters: { sms: 0.1, big: 1e21 } })]));
      await store.ingest(batch([rec(dev, 2, { endMs: t1, meters: { sms: 0.2 } })])); // SQL merge
      await store.ingest(
        batch([
          rec(dev, 3, { endMs: t2, meters: { sms: 0.1, x: 1.5 } }),
          rec(dev, 4, { endMs: t2, meters: { sms: 0.2, x: 1.5 } }), // JS merge
        ]),
      );
      const five = await fiveMin(dev);
      expect(five.map((b) => b.meters)).toEqual([
        { sms: '0.3', big: '1000000000000000000000' },
        { sms: '0.3', x: '3' },
      ]);
      const hour = await store.usageSeries({
        deviceId: dev,
        fromMs: t1 - 60_000,
        toMs: t2,
        step: '1h',
      });
      expect(hour).toEqual([
        {
          startMs: utc('2024-05-01T10:00:00Z'),
          up: 400,
          down: 4000,
          records: 4,
          meters: { sms: '0.6', big: '1000000000000000000000', x: '3' },
        },
      ]);
    });

    it('1h and 1d steps follow the time zone, including a DST change day', async () => {
      const dev = 'dev-tz';
      // Paris switches to summer time on 2024-03-31: that day is 23 hours long.
      const ends = [
        '2024-03-30T22:30:00Z', // Paris 30th 23:30
        '2024-03-30T23:30:00Z', // Paris 31st 00:30
        '2024-03-31T21:30:00Z', // Paris 31st 23:30 (CEST)
        '2024-03-31T22:30:00Z', // Paris 1st 00:30
      ];
      await store.ingest(batch(ends.map((e, i) => rec(dev, i, { endMs: utc(e), up: 10 ** i }))));
      const paris = await day(dev, '2024-03-29T23:00:00Z', '2024-04-01T22:00:00Z', 'Europe/Paris');
      expect(paris.map((b) => [new Date(b.startMs).toISOString(), b.up])).toEqual([
        ['2024-03-29T23:00:00.000Z', 1],
        ['2024-03-30T23:00:00.000Z', 110],
        ['2024-03-31T22:00:00.000Z', 1000],
      ]);
      const inUtc = await day(dev, '2024-03-30T00:00:00Z', '2024-04-02T00:00:00Z');
      expect(inUtc.map((b) => [new Date(b.startMs).toISOString(), b.up])).toEqual([
        ['2024-03-30T00:00:00.000Z', 11],
        ['2024-03-31T00:00:00.000Z', 1100],
      ]);
      // fromMs is inclusive and toMs exclusive on the bucket start.
      const only31 = await day(dev, '2024-03-30T23:00:00Z', '2024-03-31T22:00:00Z', 'Europe/Paris');
      expect(only31.map((b) => b.up)).toEqual([110]);
      // A half-hour zone: hours start at :30 UTC.
      const hours = await store.usageSeries({
        deviceId: dev,
        fromMs: utc('2024-03-30T21:00:00Z'),
        toMs: utc('2024-03-31T00:00:00Z'),
        step: '1h',
        timeZone: 'Asia/Kolkata',
      });
      expect(hours.map((b) => new Date(b.startMs).toISOString())).toEqual([
        '2024-03-30T21:30:00.000Z',
        '2024-03-30T22:30:00.000Z',
      ]);
      await expect(
        store.usageSeries({ deviceId: dev, fromMs: 0, toMs: 1, step: '1d', timeZone: 'Mars/Base' }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('concurrent overlapping ingests end with exact totals and no error', async () => {
      const devs = ['dev-cc-a', 'dev-cc-b', 'dev-cc-c'];
      const all = devs.flatMap((d) =>
        Array.from({ length: 300 }, (_, i) =>
          rec(d, i, {
            startMs: utc('2024-05-01T10:00:00Z') + i * 7_000,
            endMs: utc('2024-05-01T10:00:00Z') + i * 7_000 + 400_000,
            up: 1000 + i,
            down: 3,
            meters: { sms: 0.1 },
          }),
        ),
      );
      // Several raters receiving overlapping resends, in different orders.
      const slices = [
        all.slice(0, 600),
        all.slice(300, 900),
        [...all].reverse(),
        all.slice(100, 700),
      ];
      const outcomes = await Promise.all(slices.map((s) => store.ingest(batch(s))));
      expect(outcomes.reduce((a, o) => a + o.accepted, 0)).toBe(900);
      expect(outcomes.reduce((a, o) => a + o.duplicates, 0)).toBe(2700 - 900);
      expect(outcomes.every((o) => o.conflicts === 0)).toBe(true);
      for (const d of devs) {
        const [total] = await day(d, '2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z');
        expect(total).toEqual({
          startMs: utc('2024-05-01T00:00:00Z'),
          up: 300 * 1000 + (299 * 300) / 2,
          down: 900,
          records: 300,
          meters: { sms: '30' },
        });
      }
    });

    it('ingests a large batch with one statement per table', async () => {
      const n = 5000;
      const records = Array.from({ length: n }, (_, i) =>
        rec(`dev-big-${i % 50}`, i, {
          endMs: utc('2024-05-02T00:00:00Z') + i * 1000,
          up: i,
          dims: { zone: 'eu' },
        }),
      );
      expect(await store.ingest(batch(records))).toEqual({
        accepted: n,
        duplicates: 0,
        conflicts: 0,
      });
      const { rows } = await store.sql.query<{ up: string; records: string }>(
        `SELECT sum(up)::text AS up, sum(records)::text AS records FROM usage_5m
         WHERE device_id LIKE 'dev-big-%'`,
      );
      expect(rows[0]).toEqual({ up: String((n * (n - 1)) / 2), records: String(n) });
    });

    it('refuses to round sums beyond Number.MAX_SAFE_INTEGER', async () => {
      await store.sql.query(
        `INSERT INTO usage_5m (device_id, bucket, up) VALUES ('dev-huge', '2024-05-01T10:00Z', 9007199254740993)`,
      );
      await expect(fiveMin('dev-huge')).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    });

    it('gives NULL elements of arrays as null, as pg does (PGlite’s own parser did not)', async () => {
      expect((await store.sql.query(ARRAYS_WITH_NULLS)).rows).toEqual([ARRAYS_WITH_NULLS_ROW]);
      const inTx = await store.sql.transaction(
        async (tx) => (await tx.query(ARRAYS_WITH_NULLS)).rows,
      );
      expect(inTx).toEqual([ARRAYS_WITH_NULLS_ROW]);
    });

    it('atomic(): COPYs and statements commit together, or nothing of them stays', async () => {
      await store.sql.exec(
        `CREATE TABLE IF NOT EXISTS atomic_probe (k int PRIMARY KEY, v text);
         CREATE TABLE IF NOT EXISTS atomic_log (n int)`,
      );
      const run = (data: string, n: number) =>
        atomic(
          store.sql,
          [{ target: 'atomic_probe (k, v)', data }],
          [{ text: `INSERT INTO atomic_log VALUES ($1::int)`, params: [n] }],
        );
      const state = async () => ({
        probe: (await store.sql.query(`SELECT k, v FROM atomic_probe ORDER BY k`)).rows,
        log: (await store.sql.query(`SELECT n FROM atomic_log ORDER BY n`)).rows,
      });
      await run('1\ta\n2\tb\n', 1);
      const committed = {
        probe: [
          { k: 1, v: 'a' },
          { k: 2, v: 'b' },
        ],
        log: [{ n: 1 }],
      };
      expect(await state()).toEqual(committed);
      // A key that exists: the COPY is refused with its own error (not the 25P02 of the
      // statement behind it), and neither its new row nor the statement stays.
      await expect(run('3\tc\n2\tb\n', 2)).rejects.toMatchObject({ code: '23505' });
      // The COPY succeeds and the statement after it fails: the COPY's rows go too.
      await expect(run('4\td\n', 2 ** 31)).rejects.toMatchObject({ code: '22003' });
      expect(await state()).toEqual(committed);
      // Other work goes on on the same connection.
      await run('5\te\n', 5);
      expect((await state()).log).toEqual([{ n: 1 }, { n: 5 }]);
    });

    it('COPY in a transaction: a bad row fails it whole, and the connection serves what follows', async () => {
      await store.sql.exec(`CREATE TABLE IF NOT EXISTS copy_probe (k int PRIMARY KEY, v text)`);
      const copy = (...data: string[]) =>
        store.sql.transaction(async (tx) => {
          await tx.copyFrom?.(data.map((d) => ({ target: 'copy_probe (k, v)', data: d })));
          return (await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM copy_probe`))
            .rows[0]?.n;
        });
      // The second COPY fails after the first stored its row: none of it stays.
      await expect(copy('1\ta\n', '2\tb\nx\tc\n')).rejects.toMatchObject({ code: '22P02' });
      // A failing first COPY: the second one's data, already sent, must be skipped cleanly.
      await expect(copy('y\ta\n', '3\tb\n')).rejects.toMatchObject({ code: '22P02' });
      for (let i = 0; i < 8; i++)
        expect((await store.sql.query(`SELECT 1 AS one`)).rows).toHaveLength(1);
      expect(await copy('1\ta\n', '2\t\\N\n3\tc\\td\n')).toBe('3');
      const { rows } = await store.sql.query(`SELECT k, v FROM copy_probe ORDER BY k`);
      expect(rows).toEqual([
        { k: 1, v: 'a' },
        { k: 2, v: null },
        { k: 3, v: 'c\td' },
      ]);
    });

    it('binary COPY: text, bigint, timestamptz and jsonb arrive exactly; a bad value fails it whole', async () => {
      await store.sql.exec(
        `CREATE TABLE IF NOT EXISTS copy_bin (t text, n bigint, at timestamptz, j jsonb)`,
      );
      // What the text format had to escape, non-ASCII text, the int64 halves' edges (negative,
      // 2^32 ± 1, 2^53 − 1), times on both sides of PostgreSQL's 2000-01-01 epoch, a NULL.
      const values: Array<[string, number, number | null, string]> = [
        ['tab\there\nnew\\line\r', -1, Date.UTC(2000, 0, 1), '{}'],
        ['Zürich 東京 🚀', -4_294_967_297, Date.UTC(1999, 11, 31, 23, 59, 59, 999), '{"a":1}'],
        ['', 4_294_967_295, Date.UTC(2099, 11, 31, 23, 59, 59, 999), '{"r":"x\\ty"}'],
        ['max', Number.MAX_SAFE_INTEGER, null, '{"m":0.1}'],
        ['min', -Number.MAX_SAFE_INTEGER, 1, '{"n":{"d":[1,2]}}'],
      ];
      const w = new CopyBinaryWriter(16); // smaller than the data: the buffer has to grow
      for (const [i, [t, n, at, j]] of values.entries()) {
        // Every other tuple's text and jsonb encoded beforehand (what the rater does with values
        // a whole batch repeats): the same bytes.
        if (i % 2) w.tuple(4).encoded(encodedText(t)).int8(n);
        else w.tuple(4).text(t).int8(n);
        if (at === null) w.null();
        else w.timestamptz(at);
        if (i % 2) w.encoded(encodedJsonb(j));
        else w.jsonb(j);
      }
      await store.sql.transaction((tx) =>
        tx.copyFrom!([{ target: 'copy_bin (t, n, at, j)', data: w.finish() }]),
      );
      const { rows } = await store.sql.query<{
        t: string;
        n: string;
        ms: string | null;
        j: string;
      }>(
        `SELECT t, n::text AS n, (extract(epoch FROM at) * 1000)::bigint::text AS ms, j::text AS j
         FROM copy_bin ORDER BY copy_bin.n`,
      );
      const expected = [...values]
        .sort((a, b) => a[1] - b[1])
        .map(([t, n, at, j]) => ({
          t,
          n: String(n),
          ms: at === null ? null : String(at),
          j: JSON.parse(j) as unknown,
        }));
      expect(rows.map((r) => ({ ...r, j: JSON.parse(r.j) as unknown }))).toEqual(expected);
      // jsonb that does not parse: the whole COPY fails, nothing of it stays.
      const bad = new CopyBinaryWriter();
      bad.tuple(4).text('ok').int8(1).timestamptz(0).jsonb('{}');
      bad.tuple(4).text('bad').int8(2).timestamptz(0).jsonb('{nope');
      await expect(
        store.sql.transaction((tx) =>
          tx.copyFrom!([{ target: 'copy_bin (t, n, at, j)', data: bad.finish() }]),
        ),
      ).rejects.toMatchObject({ code: '22P02' });
      expect((await store.sql.query(`SELECT count(*)::int AS c FROM copy_bin`)).rows).toEqual([
        { c: values.length },
      ]);
    });

    it('rolls a failed transaction back', async () => {
      await store.sql.exec(`CREATE TABLE IF NOT EXISTS tx_probe (v int)`);
      await expect(
        store.sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO tx_probe VALUES (1)`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const { rows } = await store.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM tx_probe`,
      );
      expect(rows[0]?.n).toBe('0');
    });
  });
}

describe('storage errors', () => {
  it('rejects unknown database URLs with the accepted forms', async () => {
    await expect(openStore('mysql://u:secret@h/db')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/embedded:<directory>.*/),
    });
    await expect(openStore('mysql://u:secret@h/db')).rejects.toThrow(/u:\*\*\*@h/);
    await expect(openStore('embedded:')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports an unreachable server as DB_UNAVAILABLE', async () => {
    const url = 'postgres://postgres@127.0.0.1:1/nothing';
    await expect(openStore(url)).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
    const store = new SqlUsageStore(new PgSqlClient(url), { driver: 'pg', timescale: false });
    try {
      await expect(store.ready()).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
      await expect(store.ingest(batch([rec('d', 1)]))).rejects.toMatchObject({
        code: 'DB_UNAVAILABLE',
      });
    } finally {
      await store.close();
    }
  });

  it.skipIf(!hasPostgres)('reports a database that went away as DB_UNAVAILABLE', async () => {
    const db = await freshPostgresDatabase();
    const store = await openStore(db.url);
    await store.migrate();
    await store.ingest(batch([rec('d', 1)])); // leaves an idle pooled connection behind
    await db.drop(); // terminates the connections and removes the database
    await expect(store.ingest(batch([rec('d', 2)]))).rejects.toMatchObject({
      code: 'DB_UNAVAILABLE',
    });
    await expect(store.ready()).rejects.toMatchObject({ code: 'DB_UNAVAILABLE' });
    await store.close();
  });
});
