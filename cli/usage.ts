// `edgemeter usage`: a billing team's view of one device's usage, read from the rater's HTTP API.
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, option } from '../common/config.ts';
import { groupDigits, renderTable } from '../common/table.ts';

export const clientOptions = {
  apiUrl: option(
    z.string().url('must be a URL such as http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
    {
      doc: 'Base URL of the rater HTTP API used by the billing-team commands.',
      arg: '<url>',
    },
  ),
};

interface UsageResponse {
  deviceId: string;
  from: string;
  to: string;
  step: string;
  timeZone: string;
  totals: {
    up: number;
    down: number;
    total: number;
    records: number;
    meters: Record<string, string>;
  };
  series: Array<{
    start: string;
    up: number;
    down: number;
    total: number;
    records: number;
    meters: Record<string, string>;
  }>;
}

export function registerUsageCommand(program: Command): void {
  program
    .command('usage')
    .description("Show a device's usage from the rater (table, JSON or CSV)")
    .requiredOption('-d, --device <id>', 'device id')
    .option('--from <time>', 'start (RFC 3339 or epoch ms); default: 24 h before --to')
    .option('--to <time>', 'end, exclusive (RFC 3339 or epoch ms); default: now')
    .option('--step <step>', '5m, 1h or 1d', '1h')
    .option('--tz <zone>', 'IANA time zone for 1h/1d buckets', 'UTC')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--api-url <url>', `${clientOptions.apiUrl.doc} (env EDGEMETER_API_URL)`)
    .option('-c, --config <file>', 'YAML or JSON config file (env EDGEMETER_CONFIG)')
    .action(async (o: Record<string, string | undefined>) => {
      const { apiUrl } = loadConfig(clientOptions, {
        file: o.config,
        flags: o.apiUrl ? { apiUrl: o.apiUrl } : {},
      });
      if (!['table', 'json', 'csv'].includes(o.format ?? ''))
        throw new Error('--format must be table, json or csv');
      const url = new URL(`/v1/devices/${encodeURIComponent(o.device ?? '')}/usage`, apiUrl);
      for (const k of ['from', 'to', 'step', 'tz'] as const)
        if (o[k]) url.searchParams.set(k, o[k] as string);
      const res = await fetch(url, {
        headers: { accept: o.format === 'csv' ? 'text/csv' : 'application/json' },
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`rater answered ${res.status}: ${body}`);
      if (o.format !== 'table') {
        process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
        return;
      }
      const u = JSON.parse(body) as UsageResponse;
      console.log(`Usage of ${u.deviceId}, ${u.from} to ${u.to}, step ${u.step} (${u.timeZone})\n`);
      const rows = u.series.map((b) => [
        b.start,
        groupDigits(b.up),
        groupDigits(b.down),
        groupDigits(b.total),
        b.records,
      ]);
      rows.push([
        'total',
        groupDigits(u.totals.up),
        groupDigits(u.totals.down),
        groupDigits(u.totals.total),
        u.totals.records,
      ]);
      console.log(
        renderTable(['start', 'up (B)', 'down (B)', 'total (B)', 'records'], rows, [
          false,
          true,
          true,
          true,
          true,
        ]),
      );
    });
}
