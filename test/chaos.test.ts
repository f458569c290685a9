// Guarantees 1 and 2 (PRODUCT.md) under real faults: a short run of the chaos harness
// (chaos/README.md, `npm run chaos`). Real `edgemeter rater` and `collector` processes are
// SIGKILLed, their network and database are cut through a proxy, devices in a separate process
// publish at QoS 1 and re-send; then the bill read back from the database must hold every
// acknowledged record exactly once, with exact byte totals per device. Every wait in the
// harness is on a condition with a hard limit; processes are killed whatever happens.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordKey, type UsageRecord } from '../common/usage.ts';
import {
  rangeBytes,
  recordBytes,
  recordText,
  type FleetConfig,
  type Truth,
} from '../chaos/fleet.ts';
import { SCENARIOS, runChaos, summary, type ChaosRun } from '../chaos/harness.ts';
import { isoTime } from '../chaos/iso-time.ts';
import { killAllChildren } from '../chaos/procs.ts';
import { PROFILES } from '../chaos/profiles.ts';
import { checkBilling, type Sql } from '../chaos/verify.ts';
import { contentHash } from '../rater/storage/fingerprint.ts';
import { openStore } from '../rater/storage/open.ts';
import { PG_URL, hasPostgres } from './helpers/services.ts';

describe('isoTime', () => {
  it('is toISOString exactly, for any millisecond of 1970-2200 and across day edges', () => {
    const edges = [0, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, 86_400_000, 86_400_001];
    for (const day of [0, 11_016, 10_957, 47_482])
      // 1970, 2000-02-29 +, 2000-01-01, 2100-01-01
      for (const e of edges) {
        const ms = day * 86_400_000 + e;
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
        expect(isoTime(ms - 1)).toBe(new Date(ms - 1).toISOString());
      }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
  });
});

// The devices write their JSON by hand (chaos/fleet.ts): it must be what JSON.stringify writes.
describe('simulated device records', () => {
  it('are JSON.stringify of {seq, boot, ts, up, down}, for any boot, seq and time', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.nat({ max: 10_000_000 }),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.nat({ max: 1000 }),
        (boot, seq, baseTsMs, stepMs, index) => {
          const cfg = { boot, baseTsMs, stepMs } as FleetConfig;
          const ts = new Date(baseTsMs + seq * stepMs).toISOString();
          const expected = JSON.stringify({ seq, boot, ts, ...recordBytes(index, seq) });
          expect(recordText(cfg, index, seq)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// A check that cannot fail proves nothing: first, the bill check against crafted databases.
describe('chaos bill check', () => {
  const record = (seq: number) => {
    const r: UsageRecord = {
      deviceId: 'vc-d0',
      seq,
      boot: '7',
      endMs: Date.now() - 600_000 + seq * 1000,
      ...recordBytes(0, seq),
      meters: {},
      dims: {},
      receivedMs: Date.now(),
    };
    return { ...r, key: recordKey(r), contentHash: contentHash(r) };
  };
  const truth: Truth = {
    sent: 3,
    acked: 3,
    resent: 0,
    faults: {},
    complete: true,
    devices: [
      {
        id: 'vc-d0',
        index: 0,
        boot: '7',
        acked: [[1, 3]],
        unacked: [],
        ...rangeBytes(0, [[1, 3]]),
      },
    ],
  };

  it('finds a lost record, a record stored twice, and accepts the exact bill', async () => {
    const store = await openStore('embedded:memory');
    await store.migrate();
    const sql: Sql = {
      query: async <T>(text: string, params?: unknown[]) =>
        (await store.sql.query<T>(text, params)).rows,
      close: () => store.close(),
    };
    try {
      const ingest = (seqs: number[]) =>
        store.ingest({ collectorId: 'c', batchId: 'b', records: seqs.map(record) });
      await ingest([1, 2]);
      const lost = await checkBilling(sql, 'vc', truth);
      expect([lost.lost, lost.duplicated, lost.bytesExact]).toEqual([1, 0, false]);

      await ingest([3, 1]); // the resent 1 is a duplicate and changes nothing
      const exact = await checkBilling(sql, 'vc', truth);
      expect(exact).toMatchObject({ billed: 3, lost: 0, duplicated: 0, bytesExact: true });
      expect(exact.problems).toEqual([]);

      // What a broken dedupe would leave behind: the same key twice in usage_records.
      await store.sql.query(
        `INSERT INTO usage_records SELECT * FROM usage_records WHERE record_key = 's:7:2'`,
      );
      const twice = await checkBilling(sql, 'vc', truth);
      expect([twice.lost, twice.duplicated, twice.bytesExact]).toEqual([0, 1, false]);
    } finally {
      await sql.close();
    }
  });
});

describe('chaos: delivery guarantees against real processes and faults', () => {
  let run: ChaosRun;

  beforeAll(async () => {
    run = await runChaos({ profile: PROFILES.test, pgAdminUrl: hasPostgres ? PG_URL : null });
    // The table is the first thing to read when an assertion below fails.
    if (!run.ok) console.log(summary(run));
  }, 300_000);

  afterAll(() => killAllChildren());

  it.each(SCENARIOS.map((s, i) => [s.id, i] as const))(
    '%s: every acknowledged record billed exactly once',
    (_id, i) => {
      const r = run.results[i];
      expect(r).toBeDefined();
      if (!r || r.skipped) return;
      expect({ scenario: r.name, problems: r.problems }).toEqual({
        scenario: r.name,
        problems: [],
      });
      expect(r.acked).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.bytesExact).toBe(true);
      // The only rejections are the bad reports the collector-kill and flaky-network fleets mix
      // in on purpose (not JSON, a negative byte count, an impossible date): dead-lettered with
      // their code, and none of them disturbed a good record.
      for (const code of Object.keys(r.rejected))
        expect(['INVALID_JSON', 'INVALID_RECORD'], `${r.name}: ${code}`).toContain(code);
      // Nothing good was refused and nothing is left: what the devices had acknowledged is the bill.
      expect(r.billed).toBe(r.acked + Number(r.measured.unackedBilled ?? 0));
    },
  );

  it('skips only the database-refusal scenario, and only without PostgreSQL', () => {
    const skipped = run.results.filter((r) => r.skipped).map((r) => r.name);
    expect(skipped).toEqual(hasPostgres ? [] : ['database refusing']);
  });
});
