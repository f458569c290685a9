// `edgemeter dead-letters` and `edgemeter quarantine`: an edge operator's view of what a running
// collector set aside, read from the collector's own HTTP endpoint (its LevelDB store is locked
// while it runs). The collector URL comes from `--collector-url`, EDGEMETER_COLLECTOR_URL or the
// config file, like the billing commands' `--api-url` (cli/api-client.ts).
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, option } from '../common/config.ts';
import { renderTable } from '../common/table.ts';
import { ApiClient, UsageError, clientOptions, formatOption, printJson } from './api-client.ts';

export const collectorClientOptions = {
  collectorUrl: option(
    z.string().url('must be a URL such as http://127.0.0.1:9464').default('http://127.0.0.1:9464'),
    {
      doc: 'Base URL of the collector HTTP endpoint (its httpListen) read by `dead-letters` and `quarantine`.',
      arg: '<url>',
    },
  ),
};

/** One entry as `GET /v1/dead-letters` and `GET /v1/quarantine` return it. */
interface Entry {
  seq: string;
  code: string;
  reason: string;
  outboxKey?: string;
  topic?: string;
  deviceId?: string;
  receivedAt?: string;
  detectedAt?: string;
  payloadBytes: number;
  payloadTruncated: boolean;
  payloadBase64?: string;
}

interface Listing {
  /** Route, response field, and how the listing is named for people. */
  route: string;
  field: 'deadLetters' | 'quarantine';
  title: string;
  none: string;
  whenColumn: string;
}

const LISTINGS: Record<'dead-letters' | 'quarantine', Listing> = {
  'dead-letters': {
    route: '/v1/dead-letters',
    field: 'deadLetters',
    title: 'Dead letters',
    none: 'No dead letters.',
    whenColumn: 'received',
  },
  quarantine: {
    route: '/v1/quarantine',
    field: 'quarantine',
    title: 'Quarantined outbox entries',
    none: 'Nothing quarantined.',
    whenColumn: 'detected',
  },
};

/**
 * The client for a command's options (`collectorUrl`, `config`); a bad URL is a ConfigError.
 * A config file may also hold the billing commands' `apiUrl` (one file for the whole CLI).
 */
export function collectorClient(opts: { collectorUrl?: string; config?: string }): ApiClient {
  const { collectorUrl } = loadConfig(
    { ...clientOptions, ...collectorClientOptions },
    {
      file: opts.config,
      flags: opts.collectorUrl ? { collectorUrl: opts.collectorUrl } : {},
    },
  );
  return new ApiClient(collectorUrl, 'the collector');
}

function register(program: Command, name: keyof typeof LISTINGS, description: string): void {
  const l = LISTINGS[name];
  program
    .command(name)
    .description(description)
    .option(
      '--collector-url <url>',
      `${collectorClientOptions.collectorUrl.doc} (env EDGEMETER_COLLECTOR_URL)`,
    )
    .option('-c, --config <file>', 'YAML or JSON config file (env EDGEMETER_CONFIG)')
    .option('--limit <n>', 'entries per page, 1 to 1000', '100')
    .option('--after <seq>', 'start after this sequence number (the last seq of the previous page)')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: Record<string, string | undefined>) => {
      const format = formatOption(o.format, ['table', 'json'] as const);
      if (!/^\d{1,4}$/.test(o.limit ?? '') || Number(o.limit) < 1 || Number(o.limit) > 1000)
        throw new UsageError('--limit must be an integer from 1 to 1000');
      if (o.after !== undefined && !/^\d{1,16}$/.test(o.after))
        throw new UsageError('--after must be a sequence number');
      const client = collectorClient(o);
      const q = new URLSearchParams({ limit: o.limit as string });
      if (o.after !== undefined) q.set('after', o.after);
      const { body } = await client.json<Record<string, Entry[]>>(`${l.route}?${q}`);
      if (format === 'json') return printJson(body);
      const entries = body[l.field] ?? [];
      if (entries.length === 0) {
        console.log(l.none);
        return;
      }
      console.log(`${l.title} at ${client.baseUrl}, oldest first\n`);
      console.log(
        renderTable(
          ['seq', l.whenColumn, 'code', 'device', 'payload (B)', 'reason'],
          entries.map((e) => [
            e.seq,
            e.receivedAt ?? e.detectedAt ?? '',
            e.code,
            e.deviceId ?? '',
            e.payloadTruncated ? `${e.payloadBytes} (cut)` : String(e.payloadBytes),
            e.reason,
          ]),
          [true, false, false, false, true, false],
        ),
      );
      if (entries.length === Number(o.limit))
        console.log(`\nMore may follow: add --after ${entries[entries.length - 1]?.seq}`);
    });
}

export function registerCollectorAdminCommands(program: Command): void {
  register(
    program,
    'dead-letters',
    "List a collector's dead letters: reports it refused (invalid input, records the rater rejected), with the reason",
  );
  register(
    program,
    'quarantine',
    "List a collector's quarantine: outbox entries found damaged on disk (failed checksum), with the reason; they were not forwarded",
  );
}
