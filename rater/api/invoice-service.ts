// Invoices as billing teams read them: the current month rated so far, a closed month rated
// on request until it is issued, an issued month exactly as it was issued — and late usage for
// issued months billed as adjustment lines on the next invoice (rating/adjustments.ts).
import { RaterError } from '../errors.ts';
import { adjustmentLines, withAdjustments } from '../rating/adjustments.ts';
import {
  billingPeriod,
  rateAccount,
  type BillingPeriod,
  type Invoice,
  type InvoiceLine,
} from '../rating/index.ts';
import type { Actor } from '../storage/audit.ts';
import type { AccountView, CatalogStore } from '../storage/catalog.ts';
import type { InvoiceStore, IssuedInvoice } from '../storage/invoice-store.ts';

/**
 * Usage ingested up to this long before an invoice was issued may still be missing from it
 * (it was being rated while the record committed, or the database clock differs from the
 * rater's): such an issued period is re-rated to check. Re-rating is exact either way; this
 * only decides when it is worth doing.
 */
const LATE_MARGIN_MS = 60 * 60_000;

export class InvoiceService {
  constructor(
    private readonly catalog: CatalogStore,
    private readonly invoices: InvoiceStore,
  ) {}

  /** The invoice of a period that has started; see the header for which form. */
  async invoice(account: AccountView, period: BillingPeriod, nowMs: number): Promise<Invoice> {
    const issued = await this.invoices.get(account.id, period.label);
    if (issued) return issued.invoice;
    const rated = await this.rate(account.id, period, nowMs);
    return withAdjustments(rated, await this.adjustmentsFor(account, period));
  }

  /** Issues a closed period's invoice (idempotent: an issued invoice is returned as it is). */
  async issue(
    account: AccountView,
    period: BillingPeriod,
    nowMs: number,
    actor: Actor = 'local',
  ): Promise<{ invoice: Invoice; created: boolean }> {
    if (period.endMs > nowMs)
      throw new RaterError(
        'CONFLICT',
        `period ${period.label} has not ended (it ends ${new Date(period.endMs).toISOString()}); only closed periods are issued`,
      );
    const existing = await this.invoices.get(account.id, period.label);
    if (existing) return { invoice: existing.invoice, created: false };
    const invoice = await this.invoice(account, period, nowMs);
    const { issued, created } = await this.invoices.issue(invoice, nowMs, actor);
    return { invoice: issued.invoice, created };
  }

  private async rate(accountId: string, period: BillingPeriod, nowMs: number): Promise<Invoice> {
    const asOfMs = nowMs < period.endMs ? nowMs : undefined;
    return rateAccount(await this.catalog.loadRatingInput(accountId, period, asOfMs));
  }

  /**
   * Adjustments an unissued period carries: for each issued period Q before it with only
   * issued periods in between (so this is the next invoice after Q), what Q's late usage adds.
   */
  private async adjustmentsFor(
    account: AccountView,
    period: BillingPeriod,
  ): Promise<Array<Omit<InvoiceLine, 'line'>>> {
    const issued = await this.invoices.list(account.id);
    if (issued.length === 0) return [];
    const byPeriod = new Map(issued.map((i) => [i.invoice.period, i]));
    const out: Array<Omit<InvoiceLine, 'line'>> = [];
    // Walk back month by month while the months are issued.
    for (let q = previous(period, account.timeZone); ; q = previous(q, account.timeZone)) {
      const iq = byPeriod.get(q.label);
      if (!iq) break;
      out.unshift(...(await this.adjustmentsOf(account, iq, issued)));
    }
    return out;
  }

  private async adjustmentsOf(
    account: AccountView,
    iq: IssuedInvoice,
    all: IssuedInvoice[],
  ): Promise<Array<Omit<InvoiceLine, 'line'>>> {
    const q = billingPeriod(iq.invoice.period, account.timeZone);
    const late = await this.invoices.usageArrivedAfter(
      iq.invoice.devices.map((d) => d.device),
      q.startMs,
      q.endMs,
      iq.issuedAtMs - LATE_MARGIN_MS,
    );
    if (!late) return [];
    const carried = all
      .flatMap((i) => i.invoice.lines)
      .filter((l) => l.kind === 'adjustment' && l.adjusts === q.label);
    const rerated = rateAccount(await this.catalog.loadRatingInput(account.id, q));
    return adjustmentLines(iq.invoice, rerated, carried);
  }
}

function previous(p: BillingPeriod, timeZone: string): BillingPeriod {
  const [y, m] = p.label.split('-').map(Number) as [number, number];
  const label = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
  return billingPeriod(label, timeZone);
}
