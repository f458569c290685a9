// `edgemeter invoices issue`: issue a closed month's invoices (one account, or every account).
// An issued invoice is stored and never rewritten; late usage for it is billed as adjustment
// lines on the next invoice (docs/rating.md, "Issued invoices and late usage").
import type { Command } from 'commander';
import { renderTable } from '../common/table.ts';
import { PERIOD_RE } from '../rater/rating/period.ts';
import type { Invoice } from '../rater/rating/types.ts';
import { ApiClient, UsageError, seg, withClientOptions } from './api-client.ts';

interface IssueOptions {
  period?: string;
  account?: string;
  apiUrl?: string;
  config?: string;
}

export function registerInvoicesCommand(program: Command): void {
  const invoices = program.command('invoices').description('Issue invoices of closed months');
  withClientOptions(
    invoices
      .command('issue')
      .description(
        'Issue the invoice of a closed month (idempotent): one account, or every account',
      )
      .requiredOption('--period <period>', "YYYY-MM (a month that has ended in the account's zone)")
      .option('--account <id>', 'one account (default: every account)'),
  ).action(async (o: IssueOptions) => {
    if (!o.period || !PERIOD_RE.test(o.period)) throw new UsageError('--period must be YYYY-MM');
    const api = ApiClient.from(o);
    const ids =
      o.account !== undefined
        ? [o.account]
        : (
            await api.json<{ accounts: Array<{ account: string }> }>('/v1/accounts')
          ).body.accounts.map((a) => a.account);
    const rows: Array<Array<string>> = [];
    for (const id of ids) {
      const { status, body } = await api.json<Invoice>(
        `/v1/accounts/${seg(id)}/invoices/${o.period}/issue`,
        { method: 'POST' },
      );
      rows.push([
        id,
        status === 201 ? 'issued now' : 'already issued',
        body.issued_at ?? '',
        `${body.currency} ${body.total}`,
      ]);
    }
    console.log(
      renderTable(['account', 'result', 'issued at', 'total'], rows, [false, false, false, true]),
    );
  });
}
