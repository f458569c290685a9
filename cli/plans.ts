// `edgemeter plans apply|validate|get|list`: price plans as YAML or JSON files, stored as
// versions in the rater. `validate` works offline with the same parser the rater uses.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { renderTable } from '../common/table.ts';
import { parsePlan, PlanValidationError, type PlanProblem } from '../rater/rating/plan.ts';
import {
  ApiClient,
  UsageError,
  formatOption,
  printJson,
  seg,
  withClientOptions,
} from './api-client.ts';

interface PlanVersionBody {
  plan: string;
  version: number;
  changed?: boolean;
  document: Record<string, unknown>;
}

interface PlanListBody {
  plans: Array<{
    plan: string;
    version: number;
    name?: string;
    currency: string;
    effective_from: string;
  }>;
}

function readPlanFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** `  path: message` lines, as `plans validate` and a refused `plans apply` print them. */
export function problemLines(problems: PlanProblem[]): string {
  return problems.map((p) => `  - ${p.path || '(document)'}: ${p.message}`).join('\n');
}

/** The plan id a document names, without validating the rest (the rater does that). */
function planIdOf(text: string): string {
  let id: unknown;
  try {
    id = (parseYaml(text) as { plan?: unknown } | null)?.plan;
  } catch {
    id = undefined;
  }
  // No usable id: validate here to say everything that is wrong, not just that.
  if (typeof id !== 'string' || id === '') parsePlan(text);
  return id as string;
}

export function registerPlansCommand(program: Command): void {
  const plans = program
    .command('plans')
    .description('Manage price plans: apply and validate plan files, show stored versions');

  withClientOptions(
    plans
      .command('apply')
      .description('Store a plan file (YAML or JSON) as a new version in the rater')
      .argument('<file>', 'plan document'),
  ).action(async (file: string, o: { apiUrl?: string; config?: string }) => {
    const text = readPlanFile(file);
    const id = planIdOf(text);
    const api = ApiClient.from(o);
    const { body } = await api.json<PlanVersionBody>(`/v1/plans/${seg(id)}`, {
      method: 'PUT',
      body: text,
      contentType: /\.json$/i.test(file) ? 'application/json' : 'application/yaml',
    });
    console.log(
      body.changed
        ? `plan ${body.plan}: version ${body.version} created`
        : `plan ${body.plan}: unchanged (version ${body.version} has this document)`,
    );
  });

  plans
    .command('validate')
    .description('Check a plan file offline; lists every problem (exit status 1 when invalid)')
    .argument('<file>', 'plan document')
    .action((file: string) => {
      const text = readPlanFile(file);
      try {
        const plan = parsePlan(text);
        console.log(
          `${file}: plan ${plan.plan} is valid (${plan.charges.length} charge${plan.charges.length === 1 ? '' : 's'}, ${plan.currency}, effective from ${plan.effective_from})`,
        );
      } catch (err) {
        if (!(err instanceof PlanValidationError)) throw err;
        const n = err.problems.length;
        console.error(
          `${file}: the plan does not validate (${n} problem${n === 1 ? '' : 's'}):\n${problemLines(err.problems)}`,
        );
        process.exitCode = 1;
      }
    });

  withClientOptions(
    plans
      .command('get')
      .description('Print a stored plan version as a document you can edit and apply again')
      .argument('<id>', 'plan id')
      .option('--version <n>', 'version number (default: the latest)')
      .option('--format <format>', 'yaml or json', 'yaml'),
  ).action(
    async (
      id: string,
      o: { version?: string; format?: string; apiUrl?: string; config?: string },
    ) => {
      const format = formatOption(o.format, ['yaml', 'json'] as const);
      if (o.version !== undefined && !/^[1-9]\d*$/.test(o.version))
        throw new UsageError('--version must be a positive integer');
      const q = o.version ? `?version=${o.version}` : '';
      const { body } = await ApiClient.from(o).json<PlanVersionBody>(`/v1/plans/${seg(id)}${q}`);
      if (format === 'json') printJson(body.document);
      else
        process.stdout.write(
          `# plan ${body.plan}, version ${body.version}\n${toYaml(body.document)}`,
        );
    },
  );

  withClientOptions(
    plans
      .command('list')
      .description('List the plans with their latest version')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (o: { format?: string; apiUrl?: string; config?: string }) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const { body } = await ApiClient.from(o).json<PlanListBody>('/v1/plans');
    if (format === 'json') return printJson(body);
    if (body.plans.length === 0) return console.log('no plans');
    console.log(
      renderTable(
        ['plan', 'version', 'currency', 'effective from', 'name'],
        body.plans.map((p) => [p.plan, p.version, p.currency, p.effective_from, p.name ?? '']),
      ),
    );
  });
}
