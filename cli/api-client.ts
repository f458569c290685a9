// The billing-team commands' one way to talk to the rater's HTTP API: the API URL and key from
// `--api-url`/`--api-key`, EDGEMETER_API_URL/EDGEMETER_API_KEY or the config file
// (common/config.ts), and the rater's error body turned into an ApiError that cli/main.ts prints
// as `edgemeter: CODE: message`.
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, option } from '../common/config.ts';

export const clientOptions = {
  apiUrl: option(
    z.string().url('must be a URL such as http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
    {
      doc: 'Base URL of the rater HTTP API used by the billing-team commands.',
      arg: '<url>',
    },
  ),
  apiKey: option(z.string().min(1).optional(), {
    doc: 'API key sent to the rater as Authorization: Bearer (needed when the rater has apiKeys). Prefer the environment variable: a flag shows in the process list.',
    arg: '<key>',
    secret: true,
  }),
};

/** A mistake in how a command was called: exit status 2, like commander's own usage errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The rater answered with an error (`{ "error": { code, message, problems? } }`): exit 1. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

/** Adds `--api-url`, `--api-key` and `--config` to a billing-team command. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--api-url <url>', `${clientOptions.apiUrl.doc} (env EDGEMETER_API_URL)`)
    .option('--api-key <key>', 'API key for the rater (env EDGEMETER_API_KEY, preferred)')
    .option('-c, --config <file>', 'YAML or JSON config file (env EDGEMETER_CONFIG)');
}

export interface RequestOptions {
  method?: 'GET' | 'PUT' | 'POST';
  accept?: 'application/json' | 'text/csv';
  body?: string;
  contentType?: string;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    /** Named in the error when the server cannot be reached. */
    readonly target = 'the rater',
    /** Sent as `Authorization: Bearer`; kept out of every message. */
    private readonly apiKey?: string,
  ) {}

  /** The client for a command's options (`apiUrl`, `apiKey`, `config`); bad values: ConfigError. */
  static from(opts: { apiUrl?: string; apiKey?: string; config?: string }): ApiClient {
    const { apiUrl, apiKey } = loadConfig(clientOptions, {
      file: opts.config,
      flags: {
        ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}),
        ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      },
    });
    return new ApiClient(apiUrl, 'the rater', apiKey);
  }

  /** The response text of a successful request; ApiError otherwise. */
  async text(path: string, o: RequestOptions = {}): Promise<{ status: number; body: string }> {
    // Appended, not resolved: a rater behind a path prefix (http://host/rater) keeps it.
    const url = new URL(this.baseUrl.replace(/\/+$/, '') + path);
    let res: Response;
    try {
      res = await fetch(url, {
        method: o.method ?? 'GET',
        headers: {
          accept: o.accept ?? 'application/json',
          ...(this.apiKey !== undefined ? { authorization: `Bearer ${this.apiKey}` } : {}),
          ...(o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
        },
        ...(o.body !== undefined ? { body: o.body } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `cannot reach ${this.target} at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? String(err)}`,
        { cause: err },
      );
    }
    const body = await res.text();
    if (!res.ok) throw toApiError(res.status, body);
    return { status: res.status, body };
  }

  async json<T>(path: string, o: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const r = await this.text(path, o);
    return { status: r.status, body: JSON.parse(r.body) as T };
  }

  put<T>(path: string, value: unknown): Promise<{ status: number; body: T }> {
    return this.json<T>(path, { method: 'PUT', body: JSON.stringify(value) });
  }
}

function toApiError(status: number, body: string): ApiError {
  try {
    const e = (JSON.parse(body) as { error?: Partial<ApiError> }).error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string')
      return new ApiError(status, e.code, e.message, Array.isArray(e.problems) ? e.problems : []);
  } catch {
    // not our error body (a proxy, another server): shown as it came
  }
  return new ApiError(status, `HTTP_${status}`, body.trim().slice(0, 500) || `status ${status}`);
}

/** `/v1/…/{id}` path segment. */
export const seg = (s: string): string => encodeURIComponent(s);

/** Prints a JSON value the way the commands do: two-space indent, newline at the end. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Checks `--format` against the allowed values. */
export function formatOption<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
): T {
  const v = (value ?? allowed[0]) as T;
  if (!allowed.includes(v)) throw new UsageError(`--format must be ${allowed.join(', ')}`);
  return v;
}
