// Issued invoices: the stored, immutable snapshot of a closed period's invoice. Late usage for
// an issued period never rewrites it; it is billed as adjustment lines on the next invoice.
import type { Migration } from './types.ts';

export const issuedInvoices: Migration = {
  version: 4,
  name: 'issued_invoices',
  async up(sql) {
    // json, not jsonb: the snapshot is returned exactly as issued, key order included, so a
    // re-read is byte-identical to what the billing team received.
    await sql.exec(`
      CREATE TABLE issued_invoices (
        account_id   text        NOT NULL,
        period       text        NOT NULL,
        period_start timestamptz NOT NULL,
        period_end   timestamptz NOT NULL,
        issued_at    timestamptz NOT NULL,
        total        numeric     NOT NULL,
        invoice      json        NOT NULL,
        PRIMARY KEY (account_id, period)
      );
    `);
  },
};
