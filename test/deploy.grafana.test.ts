// Issue 8, the Grafana dashboards in deploy/grafana/dashboards. The metrics dashboard may only
// name metrics our registries export; the usage dashboard's SQL runs, with Grafana's macros
// expanded the way its PostgreSQL data source expands them, against a freshly migrated
// database holding known usage, and answers the sums that usage implies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CollectorMetrics } from '../collector/metrics.ts';
import { RaterMetrics } from '../rater/metrics.ts';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { dbTargets, rec, utc } from './helpers/db.ts';

const DASHBOARDS = new URL('../deploy/grafana/dashboards/', import.meta.url).pathname;

interface Target {
  expr?: string;
  rawSql?: string;
  datasource: { uid: string };
}
interface Panel {
  id: number;
  gridPos: { x: number; y: number; w: number; h: number };
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string; datasource: { uid: string } }> };
}

const load = (file: string) =>
  JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard;
const queries = (d: Dashboard) =>
  d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

/** Every metric family our two programs can export, process metrics included. */
async function exportedNames(): Promise<Set<string>> {
  const collector = new CollectorMetrics({ processMetrics: true });
  // Only the names matter here: an empty outbox stands in for the real one.
  collector.watchOutbox(
    {
      stats: () => ({ records: 0, bytes: 0, maxBytes: 1, deadLetters: 0 }),
      oldest: async () => undefined,
    },
    DASHBOARDS,
  );
  const rater = new RaterMetrics({ processMetrics: true });
  rater.watchDatabase({ driver: 'pg', timescale: true }, () => undefined);
  const names = new Set<string>();
  for (const m of [
    ...(await collector.registry.getMetricsAsJSON()),
    ...(await rater.registry.getMetricsAsJSON()),
  ]) {
    names.add(m.name);
    // prom-client types `type` as a numeric enum; at run time it is the text form.
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

describe('Grafana: both dashboards', () => {
  it.each(['edgemeter-metrics.json', 'edgemeter-usage.json'])(
    '%s has unique panel ids, fits the 24-column grid and names its data sources by uid',
    (file) => {
      const d = load(file);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of d.panels) {
        expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
        if (p.type !== 'row') expect(p.datasource?.uid, p.title).toMatch(/^edgemeter-/);
      }
    },
  );
});

describe('Grafana: the metrics dashboard', () => {
  const dash = load('edgemeter-metrics.json');

  it('names only metrics that collectors and raters export', async () => {
    const exported = await exportedNames();
    const used = new Map<string, string>();
    for (const q of queries(dash)) {
      expect(q.expr, q.panel).toBeTruthy();
      expect(q.datasource.uid).toBe('edgemeter-prometheus');
      for (const m of (q.expr as string).matchAll(/\bedgemeter_[a-z0-9_]+/g))
        used.set(m[0], q.panel);
    }
    expect(used.size).toBeGreaterThanOrEqual(25);
    const unknown = [...used].filter(([name]) => !exported.has(name));
    expect(unknown).toEqual([]);
    // Both programs' key series are on it.
    for (const name of [
      'edgemeter_collector_outbox_oldest_age_seconds',
      'edgemeter_collector_disk_free_bytes',
      'edgemeter_rater_db_pool_connections',
      'edgemeter_rater_records_total',
    ])
      expect(used.has(name), name).toBe(true);
  });
});

describe('Prometheus alert rules (deploy/prometheus/alerts.yaml)', () => {
  it('name only metrics that collectors and raters export', async () => {
    const exported = await exportedNames();
    const file = new URL('../deploy/prometheus/alerts.yaml', import.meta.url).pathname;
    const doc = parse(readFileSync(file, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      const names = [...r.expr.matchAll(/\bedgemeter_[a-z0-9_]+/g)].map((m) => m[0]);
      expect(names.length, r.alert).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exported.has(n)),
        r.alert,
      ).toEqual([]);
    }
  });
});

// The query window, and Grafana's PostgreSQL macros as its data source expands them.
const FROM = '2024-05-01T00:00:00Z';
const TO = '2024-05-02T00:00:00Z';
function expand(sql: string, devices: string[]): string {
  const out = sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN '${FROM}' AND '${TO}'`)
    .replace(
      /\$__timeGroupAlias\(([^,]+),\s*\$__interval\)/g,
      'floor(extract(epoch from $1)/300)*300 AS "time"',
    )
    .replace(/\$device\b/g, devices.map((d) => `'${d}'`).join(','));
  if (/\$\w/.test(out)) throw new Error(`unexpanded variable left in: ${out}`);
  return out;
}

describe('Grafana: the usage dashboard, against a migrated database', () => {
  const dash = load('edgemeter-usage.json');
  const sqlOf = (title: string) => {
    const q = queries(dash).find((x) => x.panel === title);
    if (!q?.rawSql) throw new Error(`no panel "${title}"`);
    return q.rawSql;
  };

  for (const target of dbTargets) {
    describe.skipIf(!target.available)(target.name, () => {
      let store: SqlUsageStore;
      let cleanup: () => Promise<void> = async () => {};
      afterAll(async () => {
        await store?.close();
        await cleanup();
      });

      it('runs every query and gets the sums of the stored usage', async () => {
        const db = await target.create();
        cleanup = db.cleanup;
        store = await openStore(db.url);
        await store.migrate();
        const at = (min: number) => utc('2024-05-01T10:00:00Z') + min * 60_000;
        await store.ingest({
          collectorId: 'gw-1',
          batchId: 'b1',
          records: [
            rec('dev-a', 1, { endMs: at(1), up: 100, down: 1000, dims: { zone: 'eu' } }),
            rec('dev-a', 2, { endMs: at(7), up: 200, down: 2000, dims: { zone: 'eu' } }),
            rec('dev-b', 1, { endMs: at(2), up: 10, down: 20, dims: { zone: 'us' } }),
            rec('dev-c', 1, { endMs: at(3), up: 1, down: 2 }),
            rec('dev-x', 1, { endMs: utc('2024-06-01T00:00:00Z'), up: 5, down: 5 }), // outside
          ],
        });
        // Same key, different content: a conflict.
        await store.ingest({
          collectorId: 'gw-2',
          batchId: 'b2',
          records: [rec('dev-b', 1, { endMs: at(2), up: 11, down: 20, dims: { zone: 'us' } })],
        });
        await store.sql.exec(`
          INSERT INTO accounts (account_id, currency, time_zone) VALUES ('acme', 'EUR', 'UTC');
          INSERT INTO device_assignments (device_id, seq, account_id, effective_at) VALUES
            ('dev-a', 1, 'acme', '2024-01-01'), ('dev-b', 1, 'acme', '2024-01-01'),
            ('dev-c', 1, 'acme', '2024-06-01');
          -- detected_at is the wall clock of the ingest; move it into the query window.
          UPDATE usage_conflicts SET detected_at = '2024-05-01T10:30:00Z';`); // dev-c joins acme after the usage
        const all = ['dev-a', 'dev-b', 'dev-c', 'dev-x'];
        const run = async (title: string, devices = all) =>
          (await store.sql.query<Record<string, unknown>>(expand(sqlOf(title), devices))).rows;

        // Every panel query and the variable's query run.
        for (const q of queries(dash)) {
          expect(q.datasource.uid, q.panel).toBe('edgemeter-timescaledb');
          await expect(run(q.panel), q.panel).resolves.toBeDefined();
        }
        const variable = dash.templating.list[0] as { query: string };
        const devices = await store.sql.query<{ device_id: string }>(expand(variable.query, all));
        expect(devices.rows.map((r) => r.device_id)).toEqual(['dev-a', 'dev-b', 'dev-c']);

        const num = (v: unknown) => Number(v);
        expect((await run('Active devices')).map((r) => num(r.devices))).toEqual([3]);
        expect((await run('Total volume')).map((r) => num(r.bytes))).toEqual([3333]);
        const top = await run('Top devices by volume');
        expect(
          top.map((r) => [r.device, num(r.up), num(r.down), num(r.total), num(r.records)]),
        ).toEqual([
          ['dev-a', 300, 3000, 3300, 2],
          ['dev-b', 10, 20, 30, 1],
          ['dev-c', 1, 2, 3, 1],
        ]);
        const byAccount = await run('Volume by account');
        expect(byAccount.map((r) => [r.account, num(r.devices), num(r.bytes)])).toEqual([
          ['acme', 2, 3330],
          ['(no account)', 1, 3],
        ]);
        const zones = await run('Volume by zone (dims.zone)');
        expect(zones.map((r) => [r.zone, num(r.bytes)])).toEqual([
          ['eu', 3300],
          ['us', 30],
          ['(none)', 3],
        ]);
        const series = await run('Data volume (bytes per interval)');
        expect(series.map((r) => [num(r.time), num(r.up), num(r.down)])).toEqual([
          [at(0) / 1000, 111, 1022],
          [at(5) / 1000, 200, 2000],
        ]);
        const conflicts = await run('Conflicts (same key, different content; first kept)');
        expect(conflicts.map((r) => [r.device, r.collector])).toEqual([['dev-b', 'gw-2']]);
        // The device variable narrows every panel.
        expect((await run('Total volume', ['dev-b'])).map((r) => num(r.bytes))).toEqual([30]);
      }, 60_000);
    });
  }
});
