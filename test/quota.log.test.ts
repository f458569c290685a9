// The quota change log on both drivers: appends get increasing seqs, `after` pages in order,
// `latest` gives each device's newest status; on the PostgreSQL server, concurrent appenders and
// a reader tailing `after(seq)` — the reader sees every committed row, in seq order, none skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../rater/storage/open.ts';
import { SqlQuotaLog } from '../rater/storage/quota-log.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { dbTargets } from './helpers/db.ts';
import { quota, rule, status } from './helpers/quota.ts';

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`quota change log on ${target.name}`, () => {
    let store: SqlUsageStore;
    let log: SqlQuotaLog;
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 8 });
      await store.migrate();
      log = new SqlQuotaLog(store.sql);
    });
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    it('appends in order, pages with after(), and gives the latest status per device', async () => {
      expect(await log.head()).toBe(0n);
      let woken = 0;
      const off = log.onAppend(() => woken++);
      const r = rule();
      const a = await log.append([status('d-a', [quota(r, 100)]), status('d-b', [quota(r, 600)])]);
      const b = await log.append([status('d-a', [quota(r, 900)])]);
      off();
      expect(woken).toBe(2);
      expect(a.map((c) => c.deviceId)).toEqual(['d-a', 'd-b']);
      const seqs = [...a, ...b].map((c) => c.seq);
      expect(seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!).toBe(true);
      expect(b[0]!.status.seq).toBe(String(b[0]!.seq));
      expect(await log.head()).toBe(seqs[2]);

      const all = await log.after(0n, 100);
      expect(all.map((c) => [c.deviceId, c.status.state])).toEqual([
        ['d-a', 'ok'],
        ['d-b', 'warning'],
        ['d-a', 'throttled'],
      ]);
      expect(all[2]!.status.quotas[0]!.used).toBe('900');
      expect((await log.after(seqs[0]!, 1)).map((c) => c.seq)).toEqual([seqs[1]]);
      expect(await log.after(seqs[2]!, 10)).toEqual([]);

      const latest = await log.latest(undefined, 10);
      expect(latest.map((c) => [c.deviceId, c.seq])).toEqual([
        ['d-a', seqs[2]],
        ['d-b', seqs[1]],
      ]);
      expect((await log.latest(undefined, 1)).map((c) => c.deviceId)).toEqual(['d-a']);
      expect((await log.latest('d-a', 10)).map((c) => c.deviceId)).toEqual(['d-b']);
      expect(await log.append([])).toEqual([]);
    });

    it('keeps the seq in its column: a seq in the appended payload is ignored', async () => {
      const s = { ...status('d-c', [quota(rule(), 10)]), seq: '999999' };
      const [c] = await log.append([s]);
      const [read] = await log.after(c!.seq - 1n, 1);
      expect(read!.status.seq).toBe(String(c!.seq));
      expect(read!.status.seq).not.toBe('999999');
    });

    it.skipIf(target.driver !== 'pg')(
      'concurrent appenders: a tailing reader never misses a committed row',
      async () => {
        const start = await log.head();
        const writers = 6;
        const perWriter = 25;
        let done = false;
        const seen: bigint[] = [];
        const reader = (async () => {
          let cursor = start;
          // Tail until the writers are done and one more read finds nothing new.
          for (;;) {
            const finished = done;
            const page = await log.after(cursor, 7);
            for (const c of page) seen.push(c.seq);
            if (page.length > 0) cursor = page[page.length - 1]!.seq;
            else if (finished) break;
          }
        })();
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++)
              await log.append([
                status(`w${w}`, [quota(rule(), i)]),
                status(`w${w}-x`, [quota(rule(), i)]),
              ]);
          }),
        );
        done = true;
        await reader;
        const committed = (await log.after(start, 100_000)).map((c) => c.seq);
        expect(committed).toHaveLength(writers * perWriter * 2);
        // Everything committed was seen, once, in increasing order.
        expect(seen).toEqual(committed);
        expect([...seen].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(seen);
      },
    );
  });
}
