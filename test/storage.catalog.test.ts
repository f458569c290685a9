// The billing catalog against real databases (embedded PGlite + TimescaleDB, and the PostgreSQL
// server when present): plan versions, account and device histories, the closed-period and
// fixed-once-set rules, atomic writes, and the RatingInput gathered for the rating engine.
// Every call gets a fixed `nowMs`; no test depends on the clock.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { SqlCatalogStore } from '../rater/storage/catalog-store.ts';
import { parseMetersText } from '../rater/storage/meters-text.ts';
import { validatePlan, type Plan } from '../rater/rating/plan.ts';
import { billingPeriod } from '../rater/rating/period.ts';
import { rateAccount } from '../rater/rating/engine.ts';
import { dimsKey } from '../rater/storage/batch.ts';
import type { StoredRecordInput } from '../rater/storage/store.ts';
import { dbTargets, rec, utc } from './helpers/db.ts';

const NOW = utc('2024-06-15T12:00:00Z');
const JUNE = billingPeriod('2024-06', 'UTC');
/** The rollups as stored rows (the reference form), for the tests that look at the rows. */
const ROWS = { rows: true };

function plan(id: string, extra: Record<string, unknown> = {}): Plan {
  return validatePlan({
    plan: id,
    currency: 'EUR',
    effective_from: '2024-01-01',
    charges: [
      {
        id: 'data',
        type: 'usage',
        meter: 'total',
        unit: 'GB',
        pricing: { model: 'per_unit', price: '0.5' },
      },
    ],
    ...extra,
  });
}

/** A plan rounding every record up to 1 KB (the engine then needs the raw records). */
function perRecordPlan(id: string): Plan {
  return plan(id, {
    charges: [
      {
        id: 'sessions',
        type: 'usage',
        meter: 'total',
        unit: 'KB',
        rounding: { per_record: { increment: '1 KB' } },
        pricing: { model: 'per_unit', price: '0.001' },
      },
    ],
  });
}

let batchNo = 0;

describe('meter values read back from jsonb text', () => {
  it('are exact decimal strings, trailing zeros of numeric sums dropped', () => {
    expect(parseMetersText('{}')).toEqual({});
    expect(parseMetersText('{"sms": 0.1, "calls": 2, "x.y:z": 0.40, "n": 10}')).toEqual({
      sms: '0.1',
      calls: '2',
      'x.y:z': '0.4',
      n: '10',
    });
    expect(
      parseMetersText('{"big": 123456789012345678901234567890.000000000000000000001}'),
    ).toEqual({ big: '123456789012345678901234567890.000000000000000000001' });
  });

  it('take the general path for anything unusual, and refuse what is not a number', () => {
    expect(parseMetersText('{"a\\"b": 1.50, "c": 2}')).toEqual({ 'a"b': '1.5', c: '2' });
    expect(() => parseMetersText('{"a": "x"}')).toThrow(/not a number/);
  });
});

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`billing catalog on ${target.name}`, () => {
    let store: SqlUsageStore;
    let catalog: SqlCatalogStore;
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      store = await openStore(db.url, { poolSize: 4 });
      await store.migrate();
      catalog = new SqlCatalogStore(store.sql);
    });
    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    const ingest = (records: StoredRecordInput[]) =>
      store.ingest({ collectorId: 'c1', batchId: `b${++batchNo}`, records });
    const account = (id: string, planId: string, more: Record<string, unknown> = {}) =>
      catalog.putAccount({ id, currency: 'EUR', timeZone: 'UTC', planId, ...more }, NOW);
    const count = async (table: string, where: string, params: unknown[]) => {
      const { rows } = await store.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${table} WHERE ${where}`,
        params,
      );
      return Number(rows[0]?.n);
    };

    describe('plans', () => {
      it('a changed document is a new version; the same one (any key order) changes nothing', async () => {
        const v1 = await catalog.putPlan(plan('basic'), NOW);
        expect(v1).toMatchObject({ changed: true, value: { id: 'basic', version: 1 } });
        // Same content, keys written in another order: still the same document.
        const reordered = validatePlan({
          charges: [
            {
              pricing: { price: '0.5', model: 'per_unit' },
              unit: 'GB',
              meter: 'total',
              type: 'usage',
              id: 'data',
            },
          ],
          effective_from: '2024-01-01',
          currency: 'EUR',
          plan: 'basic',
        });
        const again = await catalog.putPlan(reordered, NOW);
        expect(again).toMatchObject({ changed: false, value: { version: 1 } });

        const v2 = await catalog.putPlan(plan('basic', { name: 'Basic' }), NOW);
        expect(v2).toMatchObject({ changed: true, value: { version: 2 } });
        expect((await catalog.putPlan(plan('basic', { name: 'Basic' }), NOW)).changed).toBe(false);
        // Back to the first document: a new version (only the latest counts).
        expect((await catalog.putPlan(plan('basic'), NOW)).value.version).toBe(3);

        expect((await catalog.getPlan('basic'))?.version).toBe(3);
        expect((await catalog.getPlan('basic', 2))?.plan).toEqual(plan('basic', { name: 'Basic' }));
        expect(await catalog.getPlan('basic', 9)).toBeUndefined();
        expect(await catalog.getPlan('nope')).toBeUndefined();
        expect((await catalog.listPlanVersions('basic')).map((v) => v.version)).toEqual([1, 2, 3]);
        await catalog.putPlan(plan('another'), NOW);
        const latest = await catalog.listPlans();
        expect(latest.filter((p) => ['another', 'basic'].includes(p.id))).toMatchObject([
          { id: 'another', version: 1 },
          { id: 'basic', version: 3 },
        ]);
      });

      it('a version taking effect in a closed period of an account using the plan: CONFLICT', async () => {
        await catalog.putPlan(plan('berlin-plan'), NOW);
        await catalog.putAccount(
          { id: 'acct-berlin', currency: 'EUR', timeZone: 'Europe/Berlin', planId: 'berlin-plan' },
          NOW,
        );
        const put = (effective_from: string) =>
          catalog.putPlan(plan('berlin-plan', { effective_from, name: effective_from }), NOW);
        const err = await put('2024-05-10').catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'CONFLICT' });
        expect((err as Error).message).toMatch(/acct-berlin/);
        expect((err as Error).message).toMatch(/closed billing period 2024-05/);
        // June starts at 2024-05-31T22:00Z in Berlin: one millisecond before is May.
        await expect(put('2024-05-31T21:59:59.999Z')).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(put('2024-05-31T22:00:00Z')).resolves.toMatchObject({ changed: true });
        await expect(put('2024-06-01')).resolves.toMatchObject({ changed: true });
        expect((await catalog.listPlanVersions('berlin-plan')).length).toBe(3);

        // Nobody uses this one: any effective date, any currency.
        await catalog.putPlan(plan('unused'), NOW);
        await expect(
          catalog.putPlan(plan('unused', { effective_from: '2020-01-01', currency: 'USD' }), NOW),
        ).resolves.toMatchObject({ changed: true, value: { version: 2 } });
      });

      it('a plan used only as a device override is guarded too; its currency is fixed', async () => {
        await catalog.putPlan(plan('base-o'), NOW);
        await catalog.putPlan(plan('override'), NOW);
        await account('acct-o', 'base-o');
        await catalog.putDevice({ id: 'dev-o', accountId: 'acct-o', planId: 'override' }, NOW);
        await expect(
          catalog.putPlan(plan('override', { effective_from: '2024-04-01' }), NOW),
        ).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/acct-o/) });
        await expect(
          catalog.putPlan(plan('override', { effective_from: '2024-07-01', currency: 'USD' }), NOW),
        ).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/EUR/) });
        expect((await catalog.listPlanVersions('override')).length).toBe(1);
      });
    });

    describe('accounts', () => {
      it('creates an account with its first plan from its current month, or from when the plan starts', async () => {
        await catalog.putPlan(plan('old', { effective_from: '1970-01-01' }), NOW);
        const r = await catalog.putAccount(
          { id: 'acct-new', name: 'New', currency: 'EUR', timeZone: 'UTC', planId: 'old' },
          NOW,
        );
        // Now is 2024-06-15: the account's plan starts with June (no fees for earlier months).
        expect(r).toEqual({
          changed: true,
          value: {
            id: 'acct-new',
            name: 'New',
            currency: 'EUR',
            timeZone: 'UTC',
            plans: [{ planId: 'old', fromMs: utc('2024-06-01T00:00:00Z') }],
            devices: [],
          },
        });
        // The current month in the account's zone: June in Tokyo began 2024-05-31T15:00Z.
        await catalog.putPlan(plan('from-2024'), NOW);
        const tokyo = await catalog.putAccount(
          { id: 'acct-tokyo', currency: 'EUR', timeZone: 'Asia/Tokyo', planId: 'from-2024' },
          NOW,
        );
        expect(tokyo.value.plans).toEqual([
          { planId: 'from-2024', fromMs: utc('2024-05-31T15:00:00Z') },
        ]);
        // A plan that starts later than the current month: from when it starts, 2024-09-01
        // midnight in the account's zone.
        await catalog.putPlan(plan('from-sep', { effective_from: '2024-09-01' }), NOW);
        const later = await catalog.putAccount(
          { id: 'acct-tokyo-sep', currency: 'EUR', timeZone: 'Asia/Tokyo', planId: 'from-sep' },
          NOW,
        );
        expect(later.value.plans).toEqual([
          { planId: 'from-sep', fromMs: utc('2024-08-31T15:00:00Z') },
        ]);
        // Backdated on purpose: an explicit time reaches back, to when the plan starts at the
        // earliest (2024-01-01 midnight in Tokyo).
        const backdated = await catalog.putAccount(
          {
            id: 'acct-tokyo-old',
            currency: 'EUR',
            timeZone: 'Asia/Tokyo',
            planId: 'from-2024',
            planFromMs: utc('2023-12-31T15:00:00Z'),
          },
          NOW,
        );
        expect(backdated.value.plans).toEqual([
          { planId: 'from-2024', fromMs: utc('2023-12-31T15:00:00Z') },
        ]);
        // An explicit time before the plan exists is refused, saying from when it applies.
        await expect(
          account('acct-early', 'from-2024', { planFromMs: utc('2023-06-01T00:00:00Z') }),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/takes effect only from 2024-01-01T00:00:00.000Z/),
        });
        expect(await catalog.getAccount('acct-early', NOW)).toBeUndefined();
      });

      it('refuses unknown plans, other currencies, bad zones and currencies: INVALID_ARGUMENT', async () => {
        await catalog.putPlan(plan('usd', { currency: 'USD' }), NOW);
        await catalog.putPlan(plan('eur'), NOW);
        for (const input of [
          { planId: 'no-such-plan' },
          { planId: 'usd' },
          { planId: 'eur', timeZone: 'Mars/Olympus' },
          { planId: 'eur', timeZone: '+03:00' },
          { planId: 'eur', currency: 'EURO' },
        ])
          await expect(account('acct-bad', 'eur', input)).rejects.toMatchObject({
            code: 'INVALID_ARGUMENT',
          });
        expect(await catalog.getAccount('acct-bad', NOW)).toBeUndefined();
        await expect(account('acct-bad', 'usd')).rejects.toThrow(/priced in USD .* EUR/);
      });

      it('currency and time zone are fixed once set; the name is not', async () => {
        await catalog.putPlan(plan('fixed'), NOW);
        await account('acct-fixed', 'fixed', { name: 'A' });
        await expect(account('acct-fixed', 'fixed', { currency: 'USD' })).rejects.toMatchObject({
          code: 'CONFLICT',
          message: expect.stringMatching(/fixed once set/),
        });
        await expect(
          account('acct-fixed', 'fixed', { timeZone: 'Europe/Paris' }),
        ).rejects.toMatchObject({ code: 'CONFLICT' });
        expect(await account('acct-fixed', 'fixed', { name: 'A' })).toMatchObject({
          changed: false,
        });
        const renamed = await account('acct-fixed', 'fixed', { name: 'B' });
        expect(renamed).toMatchObject({ changed: true, value: { name: 'B' } });
        expect(renamed.value.plans).toHaveLength(1);
        // PUT replaces: no name is no name.
        expect((await account('acct-fixed', 'fixed')).value.name).toBeUndefined();
      });

      it('a plan change appends from now, or from a time in the open period; never in a closed one', async () => {
        await catalog.putPlan(plan('p1'), NOW);
        await catalog.putPlan(plan('p2'), NOW);
        // Backdated to when the plans start, so the history reaches into closed periods.
        const jan1 = utc('2024-01-01T00:00:00Z');
        await account('acct-change', 'p1', { planFromMs: jan1 });
        const changed = await account('acct-change', 'p2');
        expect(changed.value.plans).toEqual([
          { planId: 'p1', fromMs: jan1 },
          { planId: 'p2', fromMs: NOW },
        ]);
        expect((await account('acct-change', 'p2')).changed).toBe(false);
        // Already p1 at that time: nothing to change, whatever the period.
        expect((await account('acct-change', 'p1', { planFromMs: jan1 })).changed).toBe(false);

        const err = await account('acct-change', 'p2', {
          planFromMs: utc('2024-05-31T23:59:59.999Z'),
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'CONFLICT' });
        expect((err as Error).message).toMatch(
          /2024-05 of account acct-change.*2024-06-01T00:00:00.000Z/,
        );
        // From the start of the open period is allowed: it re-rates the open period only.
        const back = await account('acct-change', 'p2', { planFromMs: JUNE.startMs });
        expect(back.changed).toBe(true);
        expect((await catalog.getAccount('acct-change', NOW))?.plans).toEqual([
          { planId: 'p1', fromMs: jan1 },
          { planId: 'p2', fromMs: JUNE.startMs },
          { planId: 'p2', fromMs: NOW },
        ]);
      });

      it('a failed change leaves nothing half-written', async () => {
        await catalog.putPlan(plan('atomic'), NOW);
        await catalog.putPlan(plan('atomic-usd', { currency: 'USD' }), NOW);
        await account('acct-atomic', 'atomic', { name: 'Before' });
        // The rename is written first, then the plan check fails: both are rolled back.
        await expect(account('acct-atomic', 'atomic-usd', { name: 'After' })).rejects.toMatchObject(
          { code: 'INVALID_ARGUMENT' },
        );
        await expect(
          account('acct-atomic', 'other', { name: 'After', planFromMs: utc('2024-01-01') }),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        const view = await catalog.getAccount('acct-atomic', NOW);
        expect(view).toMatchObject({
          name: 'Before',
          plans: [{ planId: 'atomic', fromMs: JUNE.startMs }],
        });

        // The database itself fails after the account row is written (a trigger on the plan
        // history): no account without a plan is left behind.
        await store.sql.exec(`
          CREATE FUNCTION fail_boom() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.account_id = 'acct-boom' THEN RAISE EXCEPTION 'boom'; END IF;
            RETURN NEW;
          END $$;
          CREATE TRIGGER fail_boom BEFORE INSERT ON account_plans
            FOR EACH ROW EXECUTE FUNCTION fail_boom();
        `);
        try {
          await expect(account('acct-boom', 'atomic')).rejects.toMatchObject({
            code: 'DB_ERROR',
            message: expect.stringMatching(/boom/),
          });
          expect(await count('accounts', 'account_id = $1', ['acct-boom'])).toBe(0);
        } finally {
          await store.sql.exec(
            `DROP TRIGGER fail_boom ON account_plans; DROP FUNCTION fail_boom();`,
          );
        }
      });
    });

    describe('devices', () => {
      it('assigns, moves and leaves; the same assignment again changes nothing', async () => {
        await catalog.putPlan(plan('dev-plan'), NOW);
        await account('acct-d1', 'dev-plan');
        await account('acct-d2', 'dev-plan');
        await expect(
          catalog.putDevice({ id: 'dev-1', accountId: 'no-such-account' }, NOW),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(
          catalog.putDevice({ id: 'dev-1', accountId: 'acct-d1', planId: 'no-such-plan' }, NOW),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(await catalog.getDevice('dev-1')).toBeUndefined();

        // A first assignment without a time starts with the account's current period: it
        // cannot reach into a closed one (an invoice already issued).
        const first = await catalog.putDevice({ id: 'dev-1', accountId: 'acct-d1' }, NOW);
        expect(first).toEqual({
          changed: true,
          value: {
            id: 'dev-1',
            assignments: [{ accountId: 'acct-d1', planId: null, fromMs: JUNE.startMs }],
          },
        });
        expect(
          (await catalog.putDevice({ id: 'dev-1', accountId: 'acct-d1', planId: null }, NOW))
            .changed,
        ).toBe(false);
        expect((await catalog.getAccount('acct-d1', NOW))?.devices).toEqual(['dev-1']);

        const later = NOW + 3_600_000;
        await catalog.putDevice({ id: 'dev-1', accountId: 'acct-d2' }, later);
        expect((await catalog.getAccount('acct-d1', NOW))?.devices).toEqual(['dev-1']);
        expect((await catalog.getAccount('acct-d1', later))?.devices).toEqual([]);
        expect((await catalog.getAccount('acct-d2', later))?.devices).toEqual(['dev-1']);
        await catalog.putDevice({ id: 'dev-1', accountId: null }, later + 1);
        expect((await catalog.getDevice('dev-1'))?.assignments).toEqual([
          { accountId: 'acct-d1', planId: null, fromMs: JUNE.startMs },
          { accountId: 'acct-d2', planId: null, fromMs: later },
          { accountId: null, planId: null, fromMs: later + 1 },
        ]);
        const listed = await catalog.listAccounts(later + 1);
        expect(listed.find((a) => a.id === 'acct-d2')?.devices).toEqual([]);
        expect(await catalog.accountsOfDevice('dev-1', 0, later + 2)).toEqual([
          'acct-d1',
          'acct-d2',
        ]);
        expect(await catalog.accountsOfDevice('dev-1', later + 1, later + 2)).toEqual([]);
      });

      it('a first assignment starts with the current period in the account zone, unless backdated explicitly', async () => {
        await catalog.putPlan(plan('first-plan'), NOW);
        await catalog.putAccount(
          {
            id: 'acct-first-akl',
            currency: 'EUR',
            timeZone: 'Pacific/Auckland',
            planId: 'first-plan',
          },
          NOW,
        );
        await account('acct-first-utc', 'first-plan');
        // June in Auckland began 2024-05-31T12:00Z.
        const auckland = await catalog.putDevice(
          { id: 'dev-first-1', accountId: 'acct-first-akl' },
          NOW,
        );
        expect(auckland.value.assignments).toEqual([
          { accountId: 'acct-first-akl', planId: null, fromMs: utc('2024-05-31T12:00:00Z') },
        ]);
        expect(
          (
            await catalog.loadRatingInput(
              'acct-first-akl',
              billingPeriod('2024-05', 'Pacific/Auckland'),
            )
          ).devices,
        ).toEqual([]);
        // Onboarding a device that reported before it was assigned: an explicit time may reach
        // into closed periods, for a first assignment only.
        const march = utc('2024-03-01T00:00:00Z');
        const backdated = await catalog.putDevice(
          { id: 'dev-first-2', accountId: 'acct-first-utc', fromMs: march },
          NOW,
        );
        expect(backdated.value.assignments).toEqual([
          { accountId: 'acct-first-utc', planId: null, fromMs: march },
        ]);
        await expect(
          catalog.putDevice(
            { id: 'dev-first-2', accountId: 'acct-first-akl', fromMs: utc('2024-04-01') },
            NOW,
          ),
        ).rejects.toMatchObject({ code: 'CONFLICT' });
        // No account (a device that was never assigned): nothing to write.
        expect(await catalog.putDevice({ id: 'dev-first-3', accountId: null }, NOW)).toEqual({
          changed: false,
          value: { id: 'dev-first-3', assignments: [] },
        });
      });

      it('a move into a closed period of the account left or joined: CONFLICT, nothing written', async () => {
        // At 2024-07-01T05:00Z it is already July in Auckland (July began 2024-06-30T12:00Z)
        // but still June in Los Angeles.
        const now = utc('2024-07-01T05:00:00Z');
        const moveAt = utc('2024-06-30T10:00:00Z');
        await catalog.putPlan(plan('tz-plan'), now);
        for (const [id, timeZone] of [
          ['acct-akl', 'Pacific/Auckland'],
          ['acct-lax', 'America/Los_Angeles'],
        ] as const)
          await catalog.putAccount({ id, currency: 'EUR', timeZone, planId: 'tz-plan' }, now);
        // Onboarded (backdated) to May, so both were in their accounts at moveAt.
        const may = utc('2024-05-01T00:00:00Z');
        await catalog.putDevice({ id: 'dev-akl', accountId: 'acct-akl', fromMs: may }, now);
        await catalog.putDevice({ id: 'dev-lax', accountId: 'acct-lax', fromMs: may }, now);

        // Leaving Auckland at moveAt reaches into its closed June.
        await expect(
          catalog.putDevice({ id: 'dev-akl', accountId: 'acct-lax', fromMs: moveAt }, now),
        ).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/acct-akl/) });
        // Joining Auckland at moveAt too.
        await expect(
          catalog.putDevice({ id: 'dev-lax', accountId: 'acct-akl', fromMs: moveAt }, now),
        ).rejects.toMatchObject({
          code: 'CONFLICT',
          message: expect.stringMatching(/acct-akl \(Pacific\/Auckland\)/),
        });
        expect(
          await count('device_assignments', 'device_id = ANY($1::text[])', [
            ['dev-akl', 'dev-lax'],
          ]),
        ).toBe(2);
        // Once July has begun in both zones the same move is fine.
        await expect(
          catalog.putDevice({ id: 'dev-lax', accountId: 'acct-akl', fromMs: now }, now),
        ).resolves.toMatchObject({ changed: true });
      });

      it('a plan override must be in the account currency and in force', async () => {
        await catalog.putPlan(plan('ov-base'), NOW);
        await catalog.putPlan(plan('ov-usd', { currency: 'USD' }), NOW);
        await catalog.putPlan(plan('ov-late', { effective_from: '2024-09-01' }), NOW);
        await account('acct-ov', 'ov-base');
        await catalog.putDevice({ id: 'dev-ov', accountId: 'acct-ov' }, NOW);
        await expect(
          catalog.putDevice({ id: 'dev-ov', accountId: 'acct-ov', planId: 'ov-usd' }, NOW),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/USD/),
        });
        await expect(
          catalog.putDevice({ id: 'dev-ov', accountId: 'acct-ov', planId: 'ov-late' }, NOW),
        ).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/takes effect only from 2024-09-01/),
        });
        await expect(
          catalog.putDevice({ id: 'dev-ov', accountId: null, planId: 'ov-base' }, NOW),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        const ok = await catalog.putDevice(
          { id: 'dev-ov', accountId: 'acct-ov', planId: 'ov-late', fromMs: utc('2024-09-01') },
          NOW,
        );
        expect(ok.value.assignments).toEqual([
          { accountId: 'acct-ov', planId: null, fromMs: JUNE.startMs },
          { accountId: 'acct-ov', planId: 'ov-late', fromMs: utc('2024-09-01') },
        ]);
        // A first assignment without a time to a plan that starts later waits for the plan.
        const waits = await catalog.putDevice(
          { id: 'dev-ov-2', accountId: 'acct-ov', planId: 'ov-late' },
          NOW,
        );
        expect(waits.value.assignments).toEqual([
          { accountId: 'acct-ov', planId: 'ov-late', fromMs: utc('2024-09-01') },
        ]);
      });
    });

    describe('loadRatingInput', () => {
      it('NOT_FOUND for an unknown account', async () => {
        await expect(catalog.loadRatingInput('acct-missing', JUNE)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        });
      });

      it('a device moved mid-period is rated in both accounts, each for its own stretch', async () => {
        // Plan "move" gets a second version from June 20 (stored on June 5, in the open period).
        const june5 = utc('2024-06-05T00:00:00Z');
        const june10 = utc('2024-06-10T00:00:00Z');
        const june20 = utc('2024-06-20T00:00:00Z');
        await catalog.putPlan(plan('move'), june5);
        await catalog.putAccount(
          { id: 'acct-from', currency: 'EUR', timeZone: 'UTC', planId: 'move' },
          june5,
        );
        // acct-to's plan is backdated to when the plan starts; acct-from's starts with June.
        await catalog.putAccount(
          {
            id: 'acct-to',
            currency: 'EUR',
            timeZone: 'UTC',
            planId: 'move',
            planFromMs: utc('2024-01-01T00:00:00Z'),
          },
          june5,
        );
        await catalog.putPlan(plan('move', { effective_from: '2024-06-20', name: 'v2' }), june5);
        await catalog.putDevice({ id: 'dev-move', accountId: 'acct-from' }, june5);
        await catalog.putDevice({ id: 'dev-stay', accountId: 'acct-from' }, june5);
        await catalog.putDevice({ id: 'dev-move', accountId: 'acct-to' }, june10);

        await ingest([
          rec('dev-move', 1, { endMs: utc('2024-06-02T10:01:00Z'), up: 1, down: 2 }),
          rec('dev-move', 2, { endMs: utc('2024-06-12T10:01:00Z'), up: 3, down: 4 }),
          rec('dev-move', 3, { endMs: utc('2024-06-25T10:01:00Z'), up: 5, down: 6 }),
          rec('dev-move', 4, { endMs: utc('2024-07-01T00:01:00Z'), up: 7, down: 8 }),
          rec('dev-stay', 1, { endMs: utc('2024-06-03T00:01:00Z'), up: 9, down: 9 }),
        ]);

        const from = await catalog.loadRatingInput('acct-from', JUNE, undefined, ROWS);
        expect(from.account).toEqual({ id: 'acct-from', currency: 'EUR', timeZone: 'UTC' });
        expect(from.period).toEqual(JUNE);
        expect(from.asOfMs).toBeUndefined();
        // The account's own timeline: cut by the plan's new version only, not by the move.
        expect(from.accountSegments).toEqual([
          { fromMs: JUNE.startMs, toMs: june20, planId: 'move', planVersion: 1 },
          { fromMs: june20, toMs: JUNE.endMs, planId: 'move', planVersion: 2 },
        ]);
        expect(from.devices.map((d) => [d.deviceId, d.segments])).toEqual([
          ['dev-move', [{ fromMs: JUNE.startMs, toMs: june10, planId: 'move', planVersion: 1 }]],
          [
            'dev-stay',
            [
              { fromMs: JUNE.startMs, toMs: june20, planId: 'move', planVersion: 1 },
              { fromMs: june20, toMs: JUNE.endMs, planId: 'move', planVersion: 2 },
            ],
          ],
        ]);
        expect(Object.keys(from.plans).sort()).toEqual(['move@1', 'move@2']);
        expect(from.plans['move@2']).toMatchObject({
          id: 'move',
          version: 2,
          plan: { name: 'v2' },
        });
        // The whole period's rows, also those outside the device's segments: the engine clips.
        const moved = from.devices[0];
        expect(moved?.samples.map((s) => [s.bucketMs, s.up, s.down]).sort()).toEqual([
          [utc('2024-06-02T10:00:00Z'), 1, 2],
          [utc('2024-06-12T10:00:00Z'), 3, 4],
          [utc('2024-06-25T10:00:00Z'), 5, 6],
        ]);
        expect(moved?.records).toBeUndefined();

        const to = await catalog.loadRatingInput('acct-to', JUNE);
        expect(to.accountSegments).toEqual(from.accountSegments);
        expect(to.devices.map((d) => [d.deviceId, d.segments])).toEqual([
          [
            'dev-move',
            [
              { fromMs: june10, toMs: june20, planId: 'move', planVersion: 1 },
              { fromMs: june20, toMs: JUNE.endMs, planId: 'move', planVersion: 2 },
            ],
          ],
        ]);

        // The open period as of June 22: segments and rows end there.
        const asOf = utc('2024-06-22T00:00:00Z');
        const open = await catalog.loadRatingInput('acct-to', JUNE, asOf, ROWS);
        expect(open.asOfMs).toBe(asOf);
        expect(open.devices[0]?.segments.at(-1)).toEqual({
          fromMs: june20,
          toMs: asOf,
          planId: 'move',
          planVersion: 2,
        });
        expect(open.devices[0]?.samples.map((s) => s.up).sort()).toEqual([1, 3]);
        expect(open.accountSegments?.at(-1)).toEqual({
          fromMs: june20,
          toMs: asOf,
          planId: 'move',
          planVersion: 2,
        });
        // An "as of" after the period's end: the period is closed, rated whole.
        expect((await catalog.loadRatingInput('acct-to', JUNE, utc('2024-08-01'))).asOfMs).toBe(
          undefined,
        );
        // Before the move, acct-to had nothing of this device; the account itself was under its
        // plan (backdated to when the plan first takes effect).
        const mayPeriod = billingPeriod('2024-05', 'UTC');
        const may = await catalog.loadRatingInput('acct-to', mayPeriod);
        expect(may.devices).toEqual([]);
        expect(may.accountSegments).toEqual([
          { fromMs: mayPeriod.startMs, toMs: mayPeriod.endMs, planId: 'move', planVersion: 1 },
        ]);
        expect(Object.keys(may.plans)).toEqual(['move@1']);
        // acct-from, created in June without a time, has nothing in May: no account segment.
        expect(await catalog.loadRatingInput('acct-from', mayPeriod)).toMatchObject({
          accountSegments: [],
          plans: {},
          devices: [],
        });
        // A period before the plan took effect: no segment at all, but the field is set.
        const dec = await catalog.loadRatingInput('acct-to', billingPeriod('2023-12', 'UTC'));
        expect(dec).toMatchObject({ accountSegments: [], plans: {}, devices: [] });

        expect(await catalog.accountsOfDevice('dev-move', JUNE.startMs, JUNE.endMs)).toEqual([
          'acct-from',
          'acct-to',
        ]);
        expect(await catalog.accountsOfDevice('dev-move', june10, JUNE.endMs)).toEqual(['acct-to']);
        expect(await catalog.accountsOfDevice('dev-move', JUNE.startMs, june10)).toEqual([
          'acct-from',
        ]);
      });

      it('samples and raw records are exact: meter decimals, dims, byte counts', async () => {
        await catalog.putPlan(perRecordPlan('per-record'), NOW);
        await catalog.putPlan(plan('override-x'), NOW);
        await account('acct-exact', 'per-record');
        await catalog.putDevice({ id: 'dev-exact', accountId: 'acct-exact' }, NOW);
        await catalog.putDevice(
          { id: 'dev-ovr', accountId: 'acct-exact', planId: 'override-x' },
          NOW,
        );
        const big = Number.MAX_SAFE_INTEGER - 100;
        const t = utc('2024-06-03T08:02:00Z');
        await ingest([
          rec('dev-exact', 1, { endMs: t, up: big, meters: { sms: 0.1 }, dims: { zone: 'eu' } }),
          rec('dev-exact', 2, { endMs: t + 1000, up: 0, down: 5, meters: { sms: 0.2, calls: 3 } }),
          rec('dev-exact', 3, {
            endMs: t + 2000,
            down: 7,
            meters: { sms: 0.2 },
            dims: { zone: 'eu' },
          }),
          rec('dev-exact', 4, { endMs: t + 3000, meters: { tiny: 1e-7, huge: 1e21 } }),
          // Usage of June 1 in UTC ends the interval exactly at the period start: in the period.
          rec('dev-exact', 5, { endMs: JUNE.startMs, up: 11, down: 0 }),
          rec('dev-exact', 6, { endMs: JUNE.endMs, up: 13, down: 0 }),
          rec('dev-ovr', 1, { endMs: t, up: 1, down: 1, meters: { sms: 1.5 } }),
        ]);

        const input = await catalog.loadRatingInput('acct-exact', JUNE, undefined, ROWS);
        expect(Object.keys(input.plans).sort()).toEqual(['override-x@1', 'per-record@1']);
        const dev = input.devices.find((d) => d.deviceId === 'dev-exact');
        const bucket = utc('2024-06-03T08:00:00Z');
        const inBucket = (dev?.samples ?? []).filter((s) => s.bucketMs === bucket);
        const byDims = (x: { dims: Record<string, string> }) => JSON.stringify(x.dims);
        expect(inBucket.find((x) => byDims(x) === '{}')).toEqual({
          bucketMs: bucket,
          dims: {},
          dimsKey: '',
          up: 100,
          down: 1005,
          records: 2,
          meters: { sms: '0.2', calls: '3', tiny: '0.0000001', huge: '1000000000000000000000' },
        });
        // 0.1 + 0.2 stays 0.3; the byte sum reaches Number.MAX_SAFE_INTEGER exactly.
        expect(inBucket.find((x) => x.dims.zone === 'eu')).toEqual({
          bucketMs: bucket,
          dims: { zone: 'eu' },
          dimsKey: '[["zone","eu"]]',
          up: Number.MAX_SAFE_INTEGER,
          down: 1007,
          records: 2,
          meters: { sms: '0.3' },
        });
        expect(inBucket).toHaveLength(2);
        // usage_5m.dims_key is the canonical key of the row's dims.
        for (const x of dev?.samples ?? []) expect(x.dimsKey).toBe(dimsKey(x.dims));
        // Rollups follow the bucket rule (an interval ending at 00:00 belongs to the bucket
        // before): the record ending at June 1 00:00 is May's, the one ending July 1 00:00 June's.
        expect(dev?.samples.filter((s) => s.bucketMs !== bucket)).toEqual([
          {
            bucketMs: JUNE.endMs - 300_000,
            dims: {},
            dimsKey: '',
            up: 13,
            down: 0,
            records: 1,
            meters: {},
          },
        ]);

        // Raw records: the device's plan rounds per record. Interval ends in (start, end], the
        // rollups' rule: the record ending June 1 00:00 is May's, the one ending July 1 June's.
        expect([...(dev?.records ?? [])].sort((a, b) => a.tsMs - b.tsMs)).toEqual([
          { tsMs: t, dims: { zone: 'eu' }, up: big, down: 1000, meters: { sms: '0.1' } },
          { tsMs: t + 1000, dims: {}, up: 0, down: 5, meters: { sms: '0.2', calls: '3' } },
          { tsMs: t + 2000, dims: { zone: 'eu' }, up: 100, down: 7, meters: { sms: '0.2' } },
          {
            tsMs: t + 3000,
            dims: {},
            up: 100,
            down: 1000,
            meters: { tiny: '0.0000001', huge: '1000000000000000000000' },
          },
          { tsMs: JUNE.endMs, dims: {}, up: 13, down: 0, meters: {} },
        ]);
        const ovr = input.devices.find((d) => d.deviceId === 'dev-ovr');
        expect(ovr?.segments).toEqual([
          { fromMs: JUNE.startMs, toMs: JUNE.endMs, planId: 'override-x', planVersion: 1 },
        ]);
        expect(ovr?.samples).toMatchObject([{ meters: { sms: '1.5' } }]);
        // Its override does not round per record: no raw records loaded for it.
        expect(ovr?.records).toBeUndefined();
      });

      it('raw records only inside segments under a version rounding per record', async () => {
        // Plan "rr" rounds per record until June 10, then a version that does not; device
        // rr-b moves to an override that rounds per record on June 20.
        const june5 = utc('2024-06-05T00:00:00Z');
        const june10 = utc('2024-06-10T00:00:00Z');
        const june20 = utc('2024-06-20T00:00:00Z');
        await catalog.putPlan(perRecordPlan('rr'), june5);
        await catalog.putPlan(perRecordPlan('rr-ovr'), june5);
        await catalog.putAccount(
          { id: 'acct-rr', currency: 'EUR', timeZone: 'UTC', planId: 'rr' },
          june5,
        );
        await catalog.putPlan(plan('rr', { effective_from: '2024-06-10' }), june5);
        await catalog.putDevice({ id: 'rr-a', accountId: 'acct-rr' }, june5);
        await catalog.putDevice({ id: 'rr-b', accountId: 'acct-rr' }, june5);
        await catalog.putDevice({ id: 'rr-b', accountId: 'acct-rr', planId: 'rr-ovr' }, june20);
        const at = (iso: string) => utc(`2024-06-${iso}Z`);
        await ingest([
          rec('rr-a', 1, { endMs: at('02T00:00:00'), up: 1 }),
          rec('rr-a', 2, { endMs: june10, up: 2 }), // placed at june10 - 1 ms: still v1
          rec('rr-a', 3, { endMs: june10 + 1, up: 3 }),
          rec('rr-a', 4, { endMs: at('25T00:00:00'), up: 4 }),
          rec('rr-b', 1, { endMs: at('03T00:00:00'), up: 5 }),
          rec('rr-b', 2, { endMs: at('15T00:00:00'), up: 6 }),
          rec('rr-b', 3, { endMs: at('21T00:00:00'), up: 7 }),
        ]);

        const input = await catalog.loadRatingInput('acct-rr', JUNE, undefined, ROWS);
        expect(Object.keys(input.plans).sort()).toEqual(['rr-ovr@1', 'rr@1', 'rr@2']);
        const ups = (id: string) =>
          input.devices
            .find((d) => d.deviceId === id)
            ?.records?.map((r) => r.up)
            .sort((a, b) => a - b);
        expect(ups('rr-a')).toEqual([1, 2]);
        expect(ups('rr-b')).toEqual([5, 7]);
        // Samples are still the whole period's.
        expect(input.devices.find((d) => d.deviceId === 'rr-a')?.samples).toHaveLength(4);

        // After June 10 no segment rounds per record for rr-a: it gets no records at all.
        const late = await catalog.loadRatingInput('acct-rr', JUNE, june20);
        expect(late.devices.map((d) => [d.deviceId, d.records?.length])).toEqual([
          ['rr-a', 2],
          ['rr-b', 1],
        ]);
      });

      it('an account without devices has its own timeline, and the engine bills its fee', async () => {
        // Fee per account; the account changes plan mid-June; a device override elsewhere
        // in the catalog does not cut the account's timeline.
        const withFee = (id: string, more: Record<string, unknown> = {}) =>
          plan(id, {
            charges: [{ id: 'platform', type: 'fixed', amount: '30', per: 'account' }],
            ...more,
          });
        const june16 = utc('2024-06-16T00:00:00Z');
        await catalog.putPlan(withFee('fee-a'), NOW);
        await catalog.putPlan(withFee('fee-b'), NOW);
        await account('acct-fee', 'fee-a');
        await account('acct-fee', 'fee-b', { planFromMs: june16 });

        const input = await catalog.loadRatingInput('acct-fee', JUNE);
        expect(input.devices).toEqual([]);
        expect(input.accountSegments).toEqual([
          { fromMs: JUNE.startMs, toMs: june16, planId: 'fee-a', planVersion: 1 },
          { fromMs: june16, toMs: JUNE.endMs, planId: 'fee-b', planVersion: 1 },
        ]);
        expect(Object.keys(input.plans).sort()).toEqual(['fee-a@1', 'fee-b@1']);
        const invoice = rateAccount(input);
        expect(invoice.lines.map((l) => [l.plan, l.kind, l.amount, l.prorated_days])).toEqual([
          ['fee-a', 'fixed', '15.00', 15],
          ['fee-b', 'fixed', '15.00', 15],
        ]);
        expect(invoice.total).toBe('30.00');
      });
    });
  });
}
