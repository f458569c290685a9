// The audit log (docs/security.md#audit-log) on both databases: every change to plans, accounts,
// devices and every issued invoice is one row with who, when, before and after, written in the
// change's own transaction; a no-op or refused change writes nothing; the table refuses UPDATE,
// DELETE and TRUNCATE; GET /v1/audit filters and pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing, keyId, parseApiKeys } from '../rater/api/keys.ts';
import { dbTargets } from './helpers/db.ts';
import { samplePlanYaml, startApi, type TestApi } from './helpers/billing.ts';

const ADMIN = 'audit-admin-0123456789abcdef01234567';
const BILLING = 'audit-bill-0123456789abcdef012345678';

interface Entry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`audit log on ${target.name}`, () => {
    let api: TestApi;
    let cleanup: () => Promise<void> = async () => {};
    const startedAt = new Date(Date.now() - 1000).toISOString();

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      api = await startApi(db.url, undefined, {
        keys: new KeyRing(parseApiKeys(`${ADMIN}:admin,${BILLING}:billing`).keys),
      });
    });
    afterAll(async () => {
      await api?.close();
      await cleanup();
    });

    const send = async (method: 'PUT' | 'POST', url: string, payload?: string, key = ADMIN) => {
      const type = url.startsWith('/v1/plans') ? 'application/yaml' : 'application/json';
      return api.app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload !== undefined ? { 'content-type': type } : {}),
        },
        ...(payload !== undefined ? { payload } : {}),
      });
    };
    const audit = async (query = ''): Promise<{ entries: Entry[]; next: number | null }> => {
      const res = await api.app.inject({
        method: 'GET',
        url: `/v1/audit${query}`,
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const account = (name: string) =>
      JSON.stringify({ name, currency: 'EUR', time_zone: 'UTC', plan: 'p1' });

    it('records each change with the key id, before and after; a no-op records nothing', async () => {
      expect((await send('PUT', '/v1/plans/p1', samplePlanYaml('p1'))).statusCode).toBe(201);
      const v2 = samplePlanYaml('p1', { firstGb: '3.00' });
      expect((await send('PUT', '/v1/plans/p1', v2)).statusCode).toBe(201);
      expect((await send('PUT', '/v1/plans/p1', v2)).statusCode).toBe(200); // unchanged
      expect((await send('PUT', '/v1/accounts/acme', account('ACME'))).statusCode).toBe(200);
      expect((await send('PUT', '/v1/accounts/acme', account('ACME'))).statusCode).toBe(200);
      expect((await send('PUT', '/v1/accounts/acme', account('ACME Ltd'))).statusCode).toBe(200);
      const assign = JSON.stringify({ account: 'acme' });
      expect((await send('PUT', '/v1/devices/d1', assign)).statusCode).toBe(200);
      const leave = JSON.stringify({ account: null });
      expect((await send('PUT', '/v1/devices/d1', leave)).statusCode).toBe(200);

      const { entries, next } = await audit();
      expect(next).toBeNull();
      expect(entries.map((e) => [e.action, e.entity, e.entity_id])).toEqual([
        ['plan.version', 'plan', 'p1'],
        ['plan.version', 'plan', 'p1'],
        ['account.create', 'account', 'acme'],
        ['account.update', 'account', 'acme'],
        ['device.assign', 'device', 'd1'],
        ['device.assign', 'device', 'd1'],
      ]);
      for (const e of entries) {
        expect(e.actor).toBe(keyId(ADMIN));
        expect(e.at >= startedAt, e.at).toBe(true);
      }
      const [p1, p2, created, renamed, joined, left] = entries as [
        Entry,
        Entry,
        Entry,
        Entry,
        Entry,
        Entry,
      ];
      expect(p1.before).toBeNull();
      expect(p1.after).toMatchObject({ id: 'p1', version: 1 });
      expect(p2.before).toMatchObject({ version: 1 });
      expect(p2.after).toMatchObject({ version: 2 });
      expect(JSON.stringify(p2.after)).toContain('3.00');
      expect(created.before).toBeNull();
      expect(created.after).toMatchObject({ id: 'acme', name: 'ACME', currency: 'EUR' });
      expect(renamed.before).toMatchObject({ name: 'ACME' });
      expect(renamed.after).toMatchObject({ name: 'ACME Ltd' });
      expect(joined.before).toBeNull();
      expect(joined.after).toMatchObject({ id: 'd1', assignments: [{ accountId: 'acme' }] });
      expect(left.before).toEqual(joined.after);
      expect((left.after as { assignments: unknown[] }).assignments).toHaveLength(2);
    });

    it('writes nothing for a refused change: the audit row shares its transaction', async () => {
      const before = (await audit()).entries.length;
      // A currency change is a CONFLICT; an unknown plan a BAD_REQUEST.
      const euro = JSON.stringify({ currency: 'USD', time_zone: 'UTC', plan: 'p1' });
      expect((await send('PUT', '/v1/accounts/acme', euro)).statusCode).toBe(409);
      const nope = JSON.stringify({ currency: 'EUR', time_zone: 'UTC', plan: 'nope' });
      expect((await send('PUT', '/v1/accounts/other', nope)).statusCode).toBe(400);
      expect((await audit()).entries).toHaveLength(before);
    });

    it('records an issued invoice once, naming the billing key that issued it', async () => {
      const url = '/v1/accounts/acme/invoices/2026-02/issue';
      expect((await send('POST', url, undefined, BILLING)).statusCode).toBe(201);
      expect((await send('POST', url, undefined, BILLING)).statusCode).toBe(200);
      const { entries } = await audit('?entity=invoice');
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: keyId(BILLING),
        action: 'invoice.issue',
        entity_id: 'acme/2026-02',
        before: { status: 'closed' },
        after: { status: 'issued', currency: 'EUR' },
      });
    });

    it('filters by entity, id and time, and pages with next', async () => {
      expect((await audit('?entity=plan&id=p1')).entries).toHaveLength(2);
      expect((await audit('?entity=device')).entries.every((e) => e.entity === 'device')).toBe(
        true,
      );
      expect((await audit('?since=2099-01-01T00:00:00Z')).entries).toEqual([]);
      const all = (await audit()).entries;
      const first = await audit('?limit=4');
      expect(first.entries).toEqual(all.slice(0, 4));
      expect(first.next).toBe(all[3]?.id);
      const rest = await audit(`?limit=4&after=${first.next}`);
      expect(rest.entries).toEqual(all.slice(4, 8));
      for (const bad of ['?entity=user', '?limit=0', '?since=yesterday', '?after=x', '?who=me']) {
        const res = await api.app.inject({
          method: 'GET',
          url: `/v1/audit${bad}`,
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        expect(res.statusCode, bad).toBe(400);
        expect(res.json().error.code).toBe('BAD_REQUEST');
      }
    });

    it('refuses UPDATE, DELETE and TRUNCATE of audit rows, even to the table owner', async () => {
      const count = async () =>
        (await api.store.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log'))
          .rows[0]?.n;
      const n = await count();
      expect(n).toBeGreaterThan(0);
      await expect(api.store.sql.query(`UPDATE audit_log SET actor = 'someone'`)).rejects.toThrow(
        /append-only: UPDATE refused/,
      );
      await expect(api.store.sql.query('DELETE FROM audit_log')).rejects.toThrow(
        /append-only: DELETE refused/,
      );
      await expect(api.store.sql.query('TRUNCATE audit_log')).rejects.toThrow(
        /append-only: TRUNCATE refused/,
      );
      expect(await count()).toBe(n);
      const actors = await api.store.sql.query<{ actor: string }>(
        'SELECT DISTINCT actor FROM audit_log ORDER BY actor',
      );
      expect(actors.rows.map((r) => r.actor).sort()).toEqual([keyId(ADMIN), keyId(BILLING)].sort());
    });
  });
}
