// One configuration schema per program is the single source for validation, defaults,
// environment variables, command-line flags and the configuration docs. Each option is declared
// once with `option()`; everything else (zod object, env names, flags, docs table) derives from it.
//
// Precedence, lowest to highest: default < config file < EDGEMETER_* environment < CLI flag.
// Every problem is collected and reported together in one ConfigError; the result is frozen.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export interface OptionMeta {
  /** What the option does, for `--help` and docs/configuration.md. */
  doc: string;
  /** Placeholder shown in help, e.g. `<bytes>`. */
  arg?: string;
  /**
   * The value is a secret (API keys): problems with it never quote the value, and the docs
   * never show one.
   */
  secret?: boolean;
}

export interface Option<S extends z.ZodType = z.ZodType> extends OptionMeta {
  schema: S;
}

export function option<S extends z.ZodType>(schema: S, meta: OptionMeta): Option<S> {
  return { schema, ...meta };
}

export type OptionsShape = Record<string, Option>;
export type ConfigOf<O extends OptionsShape> = Readonly<{
  [K in keyof O]: z.output<O[K]['schema']>;
}>;

/** `bufferMaxBytes` → `EDGEMETER_BUFFER_MAX_BYTES`. */
export function envName(key: string): string {
  return `EDGEMETER_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** `bufferMaxBytes` → `--buffer-max-bytes`. */
export function flagName(key: string): string {
  return `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

export type Source = 'default' | 'file' | 'env' | 'flag';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

export interface LoadInput {
  /** Path of a YAML or JSON config file (flag `--config`, or `EDGEMETER_CONFIG`). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values given on the command line, by option key (strings, as typed). */
  flags?: Record<string, unknown>;
}

export function loadConfig<O extends OptionsShape>(options: O, input: LoadInput = {}): ConfigOf<O> {
  const env = input.env ?? process.env;
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const source: Record<string, Source> = {};

  const file = input.file ?? env.EDGEMETER_CONFIG;
  if (file) {
    const fromFile = readConfigFile(file, problems);
    for (const [k, v] of Object.entries(fromFile)) {
      if (!(k in options)) {
        problems.push(`${file}: unknown key "${k}" (known: ${Object.keys(options).join(', ')})`);
        continue;
      }
      raw[k] = v;
      source[k] = 'file';
    }
  }
  for (const key of Object.keys(options)) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') {
      raw[key] = v;
      source[key] = 'env';
    }
    const f = input.flags?.[key];
    if (f !== undefined) {
      raw[key] = f;
      source[key] = 'flag';
    }
  }

  const out: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(options)) {
    const result = opt.schema.safeParse(raw[key]);
    if (result.success) {
      out[key] = result.data;
      continue;
    }
    const where = describeSource(key, source[key] ?? 'default', file);
    for (const issue of result.error.issues) {
      const given =
        raw[key] === undefined || opt.secret ? '' : ` (got ${JSON.stringify(raw[key])})`;
      problems.push(`${where}: ${issue.message}${given}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<O>;
}

function describeSource(key: string, source: Source, file: string | undefined): string {
  switch (source) {
    case 'env':
      return envName(key);
    case 'flag':
      return flagName(key);
    case 'file':
      return `${file}: ${key}`;
    case 'default':
      return `${key} (default)`;
  }
}

function readConfigFile(file: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(
      `config file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
    return {};
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      problems.push(`config file ${file}: must be a mapping of option keys to values`);
      return {};
    }
    return doc as Record<string, unknown>;
  } catch (err) {
    problems.push(
      `config file ${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`,
    );
    return {};
  }
}

// ---- Reusable option types. Environment values and flags arrive as strings, so each coerces. ----

/** A `host:port` listen or connect address. `[::1]:50051` style IPv6 is accepted. */
const HOST_PORT_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const HOST_PORT_MSG = 'must be host:port, e.g. 127.0.0.1:50051';

export const hostPort = (def: string) => z.string().regex(HOST_PORT_RE, HOST_PORT_MSG).default(def);

export const optionalHostPort = () => z.string().regex(HOST_PORT_RE, HOST_PORT_MSG).optional();

/** A listen address that may be switched off. */
export const hostPortOrOff = (def: string) =>
  z
    .string()
    .regex(new RegExp(`${HOST_PORT_RE.source}|^off$`), `${HOST_PORT_MSG}, or off`)
    .default(def);

const INT_RE = /^\s*-?\d+\s*$/;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/** An integer; as text it may carry a size unit (`512MiB`, `1GB`) when `sizes` is set. */
export const integer = (def: number, min: number, max = Number.MAX_SAFE_INTEGER, sizes = false) =>
  z
    .union([z.number(), z.string()])
    .default(def)
    .transform((v, ctx) => {
      let n: number;
      if (typeof v === 'number') n = v;
      else if (INT_RE.test(v)) n = Number(v);
      else {
        const m = sizes ? /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v) : null;
        const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
        if (!m || unit === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: sizes
              ? 'must be an integer, optionally with a unit (KiB, MiB, GiB, KB, MB, GB)'
              : 'must be an integer',
          });
          return z.NEVER;
        }
        n = Math.floor(Number(m[1]) * unit);
      }
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

export const boolean = (def: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(def)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

export const logLevel = () =>
  z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** Markdown table of a program's options, for docs/configuration.md. */
export function optionsTable(options: OptionsShape): string {
  const rows = [
    '| config key | environment variable | flag | default | meaning |',
    '|---|---|---|---|---|',
  ];
  for (const [key, opt] of Object.entries(options)) {
    const parsed = opt.schema.safeParse(undefined);
    const def = opt.secret
      ? '(none; secret)'
      : parsed.success && parsed.data !== undefined
        ? `\`${String(parsed.data)}\``
        : '(none)';
    rows.push(
      `| \`${key}\` | \`${envName(key)}\` | \`${flagName(key)}\` | ${def} | ${opt.doc.replace(/\|/g, '\\|')} |`,
    );
  }
  return rows.join('\n');
}
