// `edgemeter audit`: the rater's audit log (GET /v1/audit, admin keys only): who changed which
// plan, account or device, and who issued which invoice. One page per call; `--after` continues.
import type { Command } from 'commander';
import { renderTable } from '../common/table.ts';
import { ApiClient, formatOption, printJson, withClientOptions } from './api-client.ts';

interface AuditOptions {
  entity?: string;
  id?: string;
  since?: string;
  after?: string;
  limit?: string;
  format?: string;
  apiUrl?: string;
  apiKey?: string;
  config?: string;
}

interface AuditPage {
  entries: Array<{
    id: number;
    at: string;
    actor: string;
    action: string;
    entity: string;
    entity_id: string;
  }>;
  next: number | null;
}

export function registerAuditCommand(program: Command): void {
  withClientOptions(
    program
      .command('audit')
      .description('List the audit log of the rater (needs an admin key), oldest first')
      .option('--entity <kind>', 'plan, account, device or invoice')
      .option('--id <id>', 'one entity (an invoice is ACCOUNT/YYYY-MM)')
      .option('--since <time>', 'entries at or after this RFC 3339 time')
      .option('--after <n>', 'continue after this entry id (the "next" of a previous page)')
      .option('--limit <n>', 'entries per page, 1-1000', '100')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (o: AuditOptions) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const query = new URLSearchParams();
    for (const key of ['entity', 'id', 'since', 'after', 'limit'] as const) {
      const v = o[key];
      if (v !== undefined) query.set(key, v);
    }
    // The rater validates every parameter and names the bad one (BAD_REQUEST, exit 1).
    const { body } = await ApiClient.from(o).json<AuditPage>(`/v1/audit?${query}`);
    if (format === 'json') return printJson(body);
    const rows = body.entries.map((e) => [
      String(e.id),
      e.at,
      e.actor,
      e.action,
      `${e.entity} ${e.entity_id}`,
    ]);
    console.log(renderTable(['id', 'at', 'actor', 'action', 'entity'], rows));
    if (body.next !== null) console.log(`\nmore: edgemeter audit --after ${body.next} …`);
  });
}
