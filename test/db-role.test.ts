// The least-privilege database role (docs/security.md#database-role) on the real PostgreSQL
// server: the owner migrates, then a role with only rater/storage/grants.ts's privileges starts
// the store, ingests, serves the API (catalog, invoices, audit), and is refused every DDL
// statement and every change to the audit log. Retention needs DELETE, granted separately.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { raterGrantsSql } from '../rater/storage/grants.ts';
import { openStore } from '../rater/storage/open.ts';
import { RetentionJob } from '../rater/storage/retention.ts';
import { rec } from './helpers/db.ts';
import { freshPostgresDatabase, hasPostgres, PG_URL } from './helpers/services.ts';
import { ingestEvery5m, samplePlanYaml, startApi, type TestApi } from './helpers/billing.ts';

async function asAdmin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe.skipIf(!hasPostgres)('least-privilege rater role on PostgreSQL', () => {
  const role = `edgemeter_app_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  let ownerUrl = '';
  let roleUrl = '';
  let drop: () => Promise<void> = async () => {};
  let api: TestApi;

  beforeAll(async () => {
    const db = await freshPostgresDatabase();
    ownerUrl = db.url;
    drop = db.drop;
    // The owner (here the superuser) migrates.
    const owner = await openStore(ownerUrl, { poolSize: 1 });
    await owner.migrate();
    await owner.close();

    await asAdmin(PG_URL, `CREATE ROLE ${role} LOGIN`);
    const database = new URL(ownerUrl).pathname.slice(1);
    await asAdmin(ownerUrl, raterGrantsSql(role, database));
    const u = new URL(ownerUrl);
    u.username = role;
    roleUrl = u.toString();
    // startApi opens the store and runs migrate(): with the schema current, that is no DDL.
    api = await startApi(roleUrl);
  });
  afterAll(async () => {
    await api?.close();
    await drop();
    await asAdmin(PG_URL, `DROP ROLE IF EXISTS ${role}`);
  });

  it('ingests, keeps conflicts, and serves catalog, invoices and the audit log', async () => {
    await ingestEvery5m(api.store, 'd1', '2026-02-01T00:00:00Z', 12, 1000, 9000);
    const conflict = await api.store.ingest({
      collectorId: 'gw',
      batchId: 'conflict-1',
      records: [rec('d1', 1, { up: 5 })],
    });
    expect(conflict.conflicts).toBe(1);

    const put = (url: string, payload: string, type = 'application/json') =>
      api.app.inject({ method: 'PUT', url, payload, headers: { 'content-type': type } });
    expect((await put('/v1/plans/p1', samplePlanYaml('p1'), 'application/yaml')).statusCode).toBe(
      201,
    );
    const account = { currency: 'EUR', time_zone: 'UTC', plan: 'p1', plan_from: '2026-01-01' };
    expect((await put('/v1/accounts/acme', JSON.stringify(account))).statusCode).toBe(200);
    expect(
      (await put('/v1/accounts/acme', JSON.stringify({ ...account, name: 'A' }))).statusCode,
    ).toBe(200);
    const device = JSON.stringify({ account: 'acme', from: '2026-01-01' });
    expect((await put('/v1/devices/d1', device)).statusCode).toBe(200);

    const issue = await api.app.inject({
      method: 'POST',
      url: '/v1/accounts/acme/invoices/2026-02/issue',
    });
    expect(issue.statusCode, issue.body).toBe(201);
    expect(issue.json().devices[0]).toMatchObject({ device: 'd1', up: 12_000, down: 108_000 });
    const audit = await api.app.inject({ method: 'GET', url: '/v1/audit' });
    expect(audit.json().entries.map((e: { action: string }) => e.action)).toEqual([
      'plan.version',
      'account.create',
      'account.update',
      'device.assign',
      'invoice.issue',
    ]);
    const usage = await api.app.inject({
      method: 'GET',
      url: '/v1/devices/d1/usage?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z&step=1d',
    });
    expect(usage.json().totals).toMatchObject({ up: 12_000, down: 108_000, records: 12 });
  });

  it('is refused DDL, deletes, and any change to the audit log', async () => {
    const refused = [
      'CREATE TABLE intruder (x int)',
      'DROP TABLE usage_records',
      'ALTER TABLE usage_records ADD COLUMN x int',
      'TRUNCATE usage_5m',
      'DELETE FROM usage_records',
      'UPDATE plan_versions SET version = 9',
      `UPDATE audit_log SET actor = 'me'`,
      'DELETE FROM audit_log',
      'CREATE INDEX i ON usage_records (up)',
    ];
    for (const sql of refused)
      await expect(api.store.sql.query(sql), sql).rejects.toThrow(
        /permission denied|must be owner/,
      );
  });

  it('runs retention only once DELETE on usage_records is granted', async () => {
    const job = new RetentionJob(api.store.sql, {
      days: 35,
      logger: silentLogger(),
      now: () => Date.parse('2026-06-01T00:00:00Z'),
    });
    await expect(job.runOnce()).rejects.toThrow(/permission denied/);
    const database = new URL(ownerUrl).pathname.slice(1);
    await asAdmin(ownerUrl, raterGrantsSql(role, database, { retention: true }));
    expect(await job.runOnce()).toMatchObject({ method: 'delete', removed: 12 });
  });
});
