// `edgemeter charges`: invoices and device charges from the rater, as readable tables, JSON or
// CSV. JSON and CSV are the rater's answer passed through unchanged; the table is for people.
import type { Command } from 'commander';
import { groupDigits, renderTable } from '../common/table.ts';
import type { DeviceCharges, Invoice, InvoiceLine } from '../rater/rating/types.ts';
import { ApiClient, UsageError, formatOption, seg, withClientOptions } from './api-client.ts';

import { PERIOD_RE } from '../rater/rating/period.ts';

const quantity = (l: InvoiceLine) => `${l.rated_quantity} ${l.unit}`;

function lineRows(lines: InvoiceLine[], withDevice: boolean): Array<Array<string | number>> {
  return lines.map((l) => [
    l.line,
    ...(withDevice ? [l.device ?? '(account)'] : []),
    l.charge,
    l.tier ? `${l.description} (${l.tier})` : l.description,
    quantity(l),
    l.unit_price,
    l.amount,
  ]);
}

const LINE_HEADERS = ['#', 'charge', 'description', 'quantity', 'unit price', 'amount'];
const LINE_RIGHT = [true, false, false, true, true, true];

export function renderInvoice(inv: Invoice): string {
  const out: string[] = [];
  out.push(
    `Invoice ${inv.account}, ${inv.period} (${inv.time_zone}), ${inv.currency}, ${inv.status}`,
  );
  out.push(
    `  ${inv.period_start} to ${inv.period_end}; plans: ${
      inv.plans.map((p) => `${p.plan} v${p.version}`).join(', ') || '(none)'
    }`,
  );
  out.push('');
  if (inv.lines.length === 0) out.push('  no charges');
  else
    out.push(
      renderTable(
        [LINE_HEADERS[0] as string, 'device', ...LINE_HEADERS.slice(1)],
        lineRows(inv.lines, true),
        [true, false, ...LINE_RIGHT.slice(1)],
      ),
    );
  out.push('');
  out.push(`Total: ${inv.currency} ${inv.total}`);
  if (inv.status === 'open') {
    out.push(`  so far, as of ${inv.as_of ?? '?'}`);
    if (inv.projected_total !== undefined)
      out.push(`  projected for the whole period: ${inv.currency} ${inv.projected_total}`);
  }
  if (inv.devices.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['device', 'active', 'days', 'up (B)', 'down (B)', 'records', 'amount'],
        inv.devices.map((d) => [
          d.device,
          d.active ? 'yes' : 'no',
          d.assigned_days,
          groupDigits(d.up),
          groupDigits(d.down),
          groupDigits(d.records),
          d.amount,
        ]),
        [false, false, true, true, true, true, true],
      ),
    );
  }
  return out.join('\n');
}

export function renderDeviceCharges(dc: DeviceCharges): string {
  const out = [
    `Charges of ${dc.device} in account ${dc.account}, ${dc.period}, ${dc.currency}, ${dc.status}`,
    '',
  ];
  const rows = [
    ...lineRows(dc.lines, false),
    ...dc.shares.map((s) => [s.line, s.charge, 'share of an account-level line', '', '', s.amount]),
  ];
  out.push(rows.length === 0 ? '  no charges' : renderTable(LINE_HEADERS, rows, LINE_RIGHT));
  out.push('', `Total: ${dc.currency} ${dc.total}`);
  return out.join('\n');
}

interface ChargesOptions {
  period?: string;
  account?: string;
  device?: string;
  format?: string;
  apiUrl?: string;
  config?: string;
}

export function registerChargesCommand(program: Command): void {
  withClientOptions(
    program
      .command('charges')
      .description(
        "Show charges: an account's invoice (--account), a device's charges (--device), or every invoice of a period",
      )
      .option(
        '--period <period>',
        "YYYY-MM in the account's time zone, or current (default for --account and --device)",
      )
      .option('--account <id>', 'one account')
      .option('--device <id>', 'one device')
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (o: ChargesOptions) => {
    const format = formatOption(o.format, ['table', 'json', 'csv'] as const);
    if (o.account !== undefined && o.device !== undefined)
      throw new UsageError('give --account or --device, not both');
    if (o.period !== undefined && o.period !== 'current' && !PERIOD_RE.test(o.period))
      throw new UsageError('--period must be YYYY-MM or current');
    const api = ApiClient.from(o);
    const accept = format === 'csv' ? 'text/csv' : 'application/json';

    let path: string;
    if (o.account !== undefined)
      path = `/v1/accounts/${seg(o.account)}/invoices/${o.period ?? 'current'}`;
    else if (o.device !== undefined)
      path = `/v1/devices/${seg(o.device)}/charges?period=${o.period ?? 'current'}`;
    else {
      if (o.period === undefined || o.period === 'current')
        throw new UsageError('every invoice of a period needs --period YYYY-MM');
      path = `/v1/invoices?period=${o.period}`;
    }
    const { body } = await api.text(path, { accept });
    if (format !== 'table') {
      process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
      return;
    }

    if (o.account !== undefined) console.log(renderInvoice(JSON.parse(body) as Invoice));
    else if (o.device !== undefined) {
      const r = JSON.parse(body) as { charges: DeviceCharges[] };
      console.log(r.charges.map(renderDeviceCharges).join('\n\n'));
    } else {
      const r = JSON.parse(body) as { period: string; invoices: Invoice[] };
      if (r.invoices.length === 0) return console.log(`no invoices for ${r.period}`);
      console.log(r.invoices.map(renderInvoice).join('\n\n'));
      console.log(`\nInvoices for ${r.period}\n`);
      console.log(
        renderTable(
          ['account', 'status', 'active devices', 'total'],
          r.invoices.map((i) => [
            i.account,
            i.status,
            i.active_devices,
            `${i.currency} ${i.total}`,
          ]),
          [false, false, true, true],
        ),
      );
    }
  });
}
