// Issued invoices (migration 004) and the one question late usage asks: did usage for a
// device and time span arrive after a given instant? Same SQL on PostgreSQL and PGlite.
import type { Invoice } from '../rating/types.ts';
import { appendAudit, type Actor } from './audit.ts';
import { StorageError, toStorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

export interface IssuedInvoice {
  invoice: Invoice;
  issuedAtMs: number;
}

export interface InvoiceStore {
  /**
   * Stores the snapshot unless one exists for (account, period); returns the stored one and
   * whether this call created it. An issued invoice is never replaced. Issuing is recorded in
   * the audit log, naming `actor` (default `local`).
   */
  issue(
    invoice: Invoice,
    nowMs: number,
    actor?: Actor,
  ): Promise<{ issued: IssuedInvoice; created: boolean }>;
  get(accountId: string, period: string): Promise<IssuedInvoice | undefined>;
  /** Every issued invoice of the account, oldest period first. */
  list(accountId: string): Promise<IssuedInvoice[]>;
  /**
   * True when a record of one of `deviceIds` whose interval ends in (fromMs, toMs] was
   * ingested after `sinceMs`: the issued invoice of that span may owe an adjustment.
   */
  usageArrivedAfter(
    deviceIds: string[],
    fromMs: number,
    toMs: number,
    sinceMs: number,
  ): Promise<boolean>;
}

const iso = (ms: number) => new Date(ms).toISOString();

interface Row {
  invoice: Invoice;
  issued_ms: string;
}

const SELECT = `SELECT invoice, (extract(epoch FROM issued_at) * 1000)::int8::text AS issued_ms
                FROM issued_invoices`;

const toIssued = (r: Row): IssuedInvoice => ({
  invoice: r.invoice,
  issuedAtMs: Number(r.issued_ms),
});

export class SqlInvoiceStore implements InvoiceStore {
  constructor(private readonly sql: SqlClient) {}

  async issue(
    invoice: Invoice,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<{ issued: IssuedInvoice; created: boolean }> {
    if (invoice.status === 'open')
      throw new StorageError(
        'CONFLICT',
        `period ${invoice.period} has not ended; it cannot be issued yet`,
      );
    const snapshot: Invoice = { ...invoice, status: 'issued', issued_at: iso(nowMs) };
    try {
      return await this.sql.transaction(async (tx) => {
        const inserted = await tx.query<{ account_id: string }>(
          `INSERT INTO issued_invoices
             (account_id, period, period_start, period_end, issued_at, total, invoice)
           VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::json)
           ON CONFLICT (account_id, period) DO NOTHING
           RETURNING account_id`,
          [
            invoice.account,
            invoice.period,
            invoice.period_start,
            invoice.period_end,
            iso(nowMs),
            invoice.total,
            JSON.stringify(snapshot),
          ],
        );
        const { rows } = await tx.query<Row>(`${SELECT} WHERE account_id = $1 AND period = $2`, [
          invoice.account,
          invoice.period,
        ]);
        const row = rows[0];
        if (!row)
          throw new StorageError('DB_ERROR', 'issued invoice vanished inside its transaction');
        const created = inserted.rows.length > 0;
        // The summary, not the snapshot: the snapshot itself is immutable in issued_invoices.
        if (created)
          await appendAudit(tx, {
            actor,
            action: 'invoice.issue',
            entity: 'invoice',
            entityId: `${invoice.account}/${invoice.period}`,
            before: { status: invoice.status, total: invoice.total },
            after: {
              status: 'issued',
              total: invoice.total,
              currency: invoice.currency,
              issued_at: snapshot.issued_at,
            },
          });
        return { issued: toIssued(row), created };
      });
    } catch (e) {
      throw toStorageError(e, `issuing invoice ${invoice.account} ${invoice.period}`);
    }
  }

  async get(accountId: string, period: string): Promise<IssuedInvoice | undefined> {
    try {
      const { rows } = await this.sql.query<Row>(
        `${SELECT} WHERE account_id = $1 AND period = $2`,
        [accountId, period],
      );
      return rows[0] ? toIssued(rows[0]) : undefined;
    } catch (e) {
      throw toStorageError(e, `reading invoice ${accountId} ${period}`);
    }
  }

  async list(accountId: string): Promise<IssuedInvoice[]> {
    try {
      const { rows } = await this.sql.query<Row>(
        `${SELECT} WHERE account_id = $1 ORDER BY period_start`,
        [accountId],
      );
      return rows.map(toIssued);
    } catch (e) {
      throw toStorageError(e, `listing invoices of ${accountId}`);
    }
  }

  async usageArrivedAfter(
    deviceIds: string[],
    fromMs: number,
    toMs: number,
    sinceMs: number,
  ): Promise<boolean> {
    if (deviceIds.length === 0) return false;
    try {
      const { rows } = await this.sql.query(
        `SELECT 1 FROM usage_records
         WHERE device_id = ANY($1::text[]) AND ts > $2::timestamptz AND ts <= $3::timestamptz
           AND ingested_at > $4::timestamptz
         LIMIT 1`,
        [deviceIds, iso(fromMs), iso(toMs), iso(sinceMs)],
      );
      return rows.length > 0;
    } catch (e) {
      throw toStorageError(e, 'looking for late usage');
    }
  }
}
