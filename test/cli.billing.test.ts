// The billing-team commands as users run them: `node bin/edgemeter.js …` in a child process
// against a started rater (embedded database, clock fixed at 2026-03-10T12:00Z), checking
// output and exit status: 0 on success, 1 when the rater refuses, 2 for usage mistakes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Decimal } from 'decimal.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import type { Invoice } from '../rater/rating/types.ts';
import { ingestEvery5m, NOW, samplePlanYaml } from './helpers/billing.ts';
import { runCli } from './helpers/cli.ts';
import { freePort, tempDir } from './helpers/stack.ts';

const BAD_PLAN = `plan: broken
currency: EURO
effective_from: 2026-01-01
charges:
  - id: data
    type: usage
    meter: bytes
    pricing: { model: per_unit, price: "-0.5" }
`;

describe('edgemeter billing commands', () => {
  let rater: Rater;
  let apiUrl: string;
  let dir: { path: string; remove: () => Promise<void> };

  const cli = runCli;
  const withApi = (args: string[]) => cli([...args, '--api-url', apiUrl]);

  beforeAll(async () => {
    dir = await tempDir('edgemeter-cli-');
    const config = loadRaterConfig({
      env: {},
      flags: { db: 'embedded:memory', grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0' },
    });
    rater = await new Rater(config, { logger: silentLogger(), clock: () => NOW }).start();
    apiUrl = `http://127.0.0.1:${rater.httpPort}`;
    await writeFile(join(dir.path, 'plan.yaml'), samplePlanYaml());
    await writeFile(join(dir.path, 'broken.yaml'), BAD_PLAN);
  });
  afterAll(async () => {
    await rater?.close();
    await dir?.remove();
  });

  it('validates plan files offline, listing every problem', async () => {
    const ok = await cli(['plans', 'validate', join(dir.path, 'plan.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /plan iot-basic is valid \(3 charges, EUR, effective from 2026-01-01\)/,
    );

    const bad = await cli(['plans', 'validate', join(dir.path, 'broken.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the plan does not validate \(3 problems\)/);
    for (const path of ['currency', 'charges.0.meter', 'charges.0.pricing.price'])
      expect(bad.stderr).toContain(`  - ${path}: `);
  });

  it('applies a plan: a version, then "unchanged"; an invalid one prints every problem', async () => {
    const first = await withApi(['plans', 'apply', join(dir.path, 'plan.yaml')]);
    expect(first).toMatchObject({ code: 0, stdout: 'plan iot-basic: version 1 created\n' });
    // The API URL from the environment this time.
    const again = await cli(['plans', 'apply', join(dir.path, 'plan.yaml')], {
      EDGEMETER_API_URL: apiUrl,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('plan iot-basic: unchanged (version 1 has this document)\n');

    const bad = await withApi(['plans', 'apply', join(dir.path, 'broken.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^edgemeter: PLAN_INVALID: the plan does not validate \(3 problems\)\n/,
    );
    expect(bad.stderr).toContain('  - charges.0.meter: ');

    const got = await withApi(['plans', 'get', 'iot-basic']);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^# plan iot-basic, version 1\nplan: iot-basic\n/);
    // What `plans get` prints is a plan file again.
    await writeFile(join(dir.path, 'roundtrip.yaml'), got.stdout);
    const round = await withApi(['plans', 'apply', join(dir.path, 'roundtrip.yaml')]);
    expect(round.stdout).toMatch(/unchanged/);

    const list = await withApi(['plans', 'list']);
    expect(list.stdout).toMatch(/iot-basic\s+1\s+EUR\s+2026-01-01\s+IoT basic/);
  });

  it('sets up an account and assigns a device', async () => {
    const set = await withApi([
      'accounts',
      'set',
      'acme',
      '--plan',
      'iot-basic',
      '--currency',
      'EUR',
      '--tz',
      'Europe/Paris',
      '--name',
      'Acme',
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^account acme: updated\n/);
    expect(set.stdout).toMatch(/time zone Europe\/Paris/);
    // Without --name the name stays: nothing changes.
    const again = await withApi([
      'accounts',
      'set',
      'acme',
      '--plan',
      'iot-basic',
      '--currency',
      'EUR',
      '--tz',
      'Europe/Paris',
    ]);
    expect(again.stdout).toMatch(/^account acme: unchanged\n\naccount {3}acme \(Acme\)\n/);

    const assign = await withApi([
      'devices',
      'assign',
      'd1',
      '--account',
      'acme',
      '--from',
      '2026-01-01',
    ]);
    expect(assign.code).toBe(0);
    expect(assign.stdout).toMatch(/^device d1: updated\n/);
    const json = await withApi(['devices', 'get', 'd1', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ device: 'd1', account: 'acme', plan: null });

    const conflict = await withApi([
      'accounts',
      'set',
      'acme',
      '--plan',
      'iot-basic',
      '--currency',
      'USD',
      '--tz',
      'Europe/Paris',
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^edgemeter: CONFLICT: account acme has currency EUR/);
  });

  it('shows charges as JSON, CSV and tables', async () => {
    await ingestEvery5m(rater.usageStore, 'd1', '2026-02-10T00:00:00Z', 300, 1_000_000, 4_000_000);
    const feb = ['charges', '--period', '2026-02'];
    // Independent reads: run side by side (each CLI start costs a second or two).
    const [json, csv, table, all, allTable, device, deviceTable] = await Promise.all([
      withApi([...feb, '--account', 'acme', '--format', 'json']),
      withApi([...feb, '--account', 'acme', '--format', 'csv']),
      withApi([...feb, '--account', 'acme']),
      withApi([...feb, '--format', 'csv']),
      withApi(feb),
      withApi([...feb, '--device', 'd1', '--format', 'json']),
      withApi([...feb, '--device', 'd1']),
    ]);
    expect(json.code).toBe(0);
    const inv = JSON.parse(json.stdout) as Invoice;
    expect(inv).toMatchObject({ account: 'acme', period: '2026-02', status: 'closed' });
    const total = inv.lines.reduce((a, l) => a.plus(l.amount), new Decimal(0)).toFixed(2);
    expect(inv.total).toBe(total);

    expect(csv.code).toBe(0);
    const rows = csv.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^account,period,currency,line,/);
    expect(rows).toHaveLength(inv.lines.length + 2);

    expect(table.stdout).toMatch(/^Invoice acme, 2026-02 \(Europe\/Paris\), EUR, closed/);
    expect(table.stdout).toContain(`Total: EUR ${inv.total}`);

    expect(all.stdout).toBe(csv.stdout); // one account: the export is its invoice
    expect(allTable.stdout).toMatch(/Invoices for 2026-02/);

    const dc = JSON.parse(device.stdout) as { charges: Array<{ account: string; total: string }> };
    expect(dc.charges).toEqual([expect.objectContaining({ account: 'acme', total: inv.total })]);
    expect(deviceTable.stdout).toMatch(/^Charges of d1 in account acme, 2026-02, EUR, closed/);
  });

  it('issues a closed month: "issued now", then "already issued" with the same total', async () => {
    const first = await withApi(['invoices', 'issue', '--period', '2026-02']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/acme\s+issued now\s+2026-03-10T12:00:00\.000Z\s+EUR \d+\.\d{2}/);
    const again = await withApi(['invoices', 'issue', '--period', '2026-02', '--account', 'acme']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/acme\s+already issued/);
    const open = await withApi(['invoices', 'issue', '--period', '2026-03', '--account', 'acme']);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/^edgemeter: CONFLICT: period 2026-03 has not ended/);
    const json = await withApi([
      'charges',
      '--period',
      '2026-02',
      '--account',
      'acme',
      '--format',
      'json',
    ]);
    expect((JSON.parse(json.stdout) as Invoice).status).toBe('issued');
  });

  it('prints API errors as CODE: message (exit 1) and usage mistakes with exit 2', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [missing, both, format, noPeriod, noOptions, down] = await Promise.all([
      withApi(['charges', '--period', '2026-02', '--account', 'nobody']),
      withApi(['charges', '--account', 'a', '--device', 'b']),
      withApi(['charges', '--format', 'xml', '--period', '2026-02']),
      withApi(['charges']), // every invoice of a period needs --period
      withApi(['accounts', 'set', 'acme']), // required options missing
      cli(['plans', 'list', '--api-url', closed]),
    ]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'edgemeter: NOT_FOUND: unknown account nobody\n',
    });
    expect(both).toMatchObject({
      code: 2,
      stderr: 'edgemeter: give --account or --device, not both\n',
    });
    expect(format).toMatchObject({
      code: 2,
      stderr: 'edgemeter: --format must be table, json, csv\n',
    });
    expect(noPeriod.code).toBe(2);
    expect(noOptions.code).toBe(2);
    expect(noOptions.stderr).toMatch(/required option '--plan <plan>' not specified/);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`edgemeter: cannot reach the rater at ${closed}: ECONNREFUSED\n`);
  });
});
