// `edgemeter usage`: a billing team's view of one device's usage, read from the rater's HTTP API.
import type { Command } from 'commander';
import { groupDigits, renderTable } from '../common/table.ts';
import { ApiClient, formatOption, seg, withClientOptions } from './api-client.ts';

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
  withClientOptions(
    program
      .command('usage')
      .description("Show a device's usage from the rater (table, JSON or CSV)")
      .requiredOption('-d, --device <id>', 'device id')
      .option('--from <time>', 'start (RFC 3339 or epoch ms); default: 24 h before --to')
      .option('--to <time>', 'end, exclusive (RFC 3339 or epoch ms); default: now')
      .option('--step <step>', '5m, 1h or 1d', '1h')
      .option('--tz <zone>', 'IANA time zone for 1h/1d buckets', 'UTC')
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (o: Record<string, string | undefined>) => {
    const format = formatOption(o.format, ['table', 'json', 'csv'] as const);
    const api = ApiClient.from(o);
    const q = new URLSearchParams();
    for (const k of ['from', 'to', 'step', 'tz'] as const) if (o[k]) q.set(k, o[k] as string);
    const { body } = await api.text(`/v1/devices/${seg(o.device ?? '')}/usage?${q}`, {
      accept: format === 'csv' ? 'text/csv' : 'application/json',
    });
    if (format !== 'table') {
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
