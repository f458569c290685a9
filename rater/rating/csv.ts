// CSV renderings of invoices and device charges: comma-separated, RFC 4180 quoting (a field is
// quoted when it holds a comma, quote or line break), "\n" line ends. One row per line item,
// with the account and period on every row so that exports of many accounts concatenate.
//
// Text fields that a spreadsheet would run as a formula (starting with = + - @, tab or CR:
// plan descriptions are free text) get a leading apostrophe; numeric fields are never touched,
// so a credit of -5.00 stays a number.
import type { DeviceCharges, Invoice, InvoiceLine } from './types.ts';

const LINE_COLUMNS = [
  'account',
  'period',
  'currency',
  'line',
  'kind',
  'device',
  'charge',
  'description',
  'plan',
  'plan_version',
  'from',
  'to',
  'meter',
  'tier',
  'raw_quantity',
  'included',
  'rated_quantity',
  'unit',
  'unit_price',
  'amount',
  'peak_samples_observed',
  'peak_samples_expected',
] as const;

function field(v: string | number | undefined, text = false): string {
  if (v === undefined) return '';
  let s = String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Columns holding free text (ids, names, descriptions), as opposed to numbers and times. */
const TEXT_COLUMNS = new Set([
  'account',
  'device',
  'charge',
  'description',
  'plan',
  'meter',
  'tier',
  'unit',
  'kind',
]);

function lineRow(
  inv: { account: string; period: string; currency: string },
  l: InvoiceLine,
): string {
  const values: Record<(typeof LINE_COLUMNS)[number], string | number | undefined> = {
    account: inv.account,
    period: inv.period,
    currency: inv.currency,
    line: l.line,
    kind: l.kind,
    device: l.device,
    charge: l.charge,
    description: l.description,
    plan: l.plan,
    plan_version: l.plan_version,
    from: l.from,
    to: l.to,
    meter: l.meter,
    tier: l.tier,
    raw_quantity: l.raw_quantity,
    included: l.included,
    rated_quantity: l.rated_quantity,
    unit: l.unit,
    unit_price: l.unit_price,
    amount: l.amount,
    peak_samples_observed: l.peak?.samples_observed,
    peak_samples_expected: l.peak?.samples_expected,
  };
  return LINE_COLUMNS.map((c) => field(values[c], TEXT_COLUMNS.has(c))).join(',');
}

function totalRow(inv: Invoice): string {
  const values: Partial<Record<(typeof LINE_COLUMNS)[number], string>> = {
    account: inv.account,
    period: inv.period,
    currency: inv.currency,
    kind: 'total',
    description: inv.status === 'open' ? `Total so far (as of ${inv.as_of ?? ''})` : 'Total',
    amount: inv.total,
  };
  return LINE_COLUMNS.map((c) => field(values[c], TEXT_COLUMNS.has(c))).join(',');
}

/** One invoice: its line items and a closing `total` row. */
export function invoiceCsv(invoice: Invoice): string {
  return invoicesCsv([invoice]);
}

/** A whole period's export: every account's lines and total rows, one header. */
export function invoicesCsv(invoices: Invoice[]): string {
  const rows = [LINE_COLUMNS.join(',')];
  for (const inv of invoices) {
    for (const l of inv.lines) rows.push(lineRow(inv, l));
    rows.push(totalRow(inv));
  }
  return rows.join('\n') + '\n';
}

/** A device's charges in every account it belonged to: own lines, shares, one total per account. */
export function deviceChargesCsv(list: DeviceCharges[]): string {
  const cols = [
    'device',
    'account',
    'period',
    'currency',
    'kind',
    'line',
    'charge',
    'description',
    'rated_quantity',
    'unit',
    'unit_price',
    'amount',
  ];
  const rows = [cols.join(',')];
  for (const dc of list) {
    const head = [dc.device, dc.account, dc.period, dc.currency];
    for (const l of dc.lines)
      rows.push(
        [
          ...head,
          l.kind,
          l.line,
          l.charge,
          l.description,
          l.rated_quantity,
          l.unit,
          l.unit_price,
          l.amount,
        ]
          .map((v, k) => field(v, TEXT_COLUMNS.has(cols[k] ?? '')))
          .join(','),
      );
    for (const s of dc.shares)
      rows.push(
        [...head, 'share', s.line, s.charge, 'Share of an account-level line', '', '', '', s.amount]
          .map((v, k) => field(v, TEXT_COLUMNS.has(cols[k] ?? '')))
          .join(','),
      );
    rows.push(
      [...head, 'total', '', '', 'Total', '', '', '', dc.total]
        .map((v, k) => field(v, TEXT_COLUMNS.has(cols[k] ?? '')))
        .join(','),
    );
  }
  return rows.join('\n') + '\n';
}
