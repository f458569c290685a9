// CSV renderings of invoices and device charges (RFC 4180: comma-separated, CRLF-free "\n" line
// ends, fields quoted when they hold a comma, quote or line break). One row per line item, with
// the account and period on every row so that exports of many accounts concatenate cleanly.
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

function field(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

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
  return LINE_COLUMNS.map((c) => field(values[c])).join(',');
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
  return LINE_COLUMNS.map((c) => field(values[c])).join(',');
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
          .map(field)
          .join(','),
      );
    for (const s of dc.shares)
      rows.push(
        [...head, 'share', s.line, s.charge, 'Share of an account-level line', '', '', '', s.amount]
          .map(field)
          .join(','),
      );
    rows.push([...head, 'total', '', '', 'Total', '', '', '', dc.total].map(field).join(','));
  }
  return rows.join('\n') + '\n';
}
