// `edgemeter accounts set|get|list` and `edgemeter devices assign|unassign|get`: who pays, under
// which plan, for which devices. Each change is a PUT of the whole resource to the rater.
import type { Command } from 'commander';
import { renderTable } from '../common/table.ts';
import {
  ApiClient,
  ApiError,
  formatOption,
  printJson,
  seg,
  withClientOptions,
} from './api-client.ts';

interface AccountBody {
  account: string;
  name?: string;
  currency: string;
  time_zone: string;
  plan: string | null;
  plans: Array<{ plan: string; from: string }>;
  devices: string[];
  changed?: boolean;
}

interface DeviceBody {
  device: string;
  account: string | null;
  plan: string | null;
  assignments: Array<{ account: string | null; plan: string | null; from: string }>;
  changed?: boolean;
}

interface ClientOpts {
  apiUrl?: string;
  config?: string;
  format?: string;
}

function printAccount(a: AccountBody): void {
  console.log(`account   ${a.account}${a.name ? ` (${a.name})` : ''}`);
  console.log(`currency  ${a.currency}`);
  console.log(`time zone ${a.time_zone}`);
  console.log(`plan      ${a.plan ?? '(none yet)'}`);
  console.log(`devices   ${a.devices.length === 0 ? '(none)' : a.devices.join(', ')}`);
  console.log('\nplan history');
  console.log(
    renderTable(
      ['from', 'plan'],
      a.plans.map((p) => [p.from, p.plan]),
    ),
  );
}

function printDevice(d: DeviceBody): void {
  console.log(`device    ${d.device}`);
  console.log(`account   ${d.account ?? '(none)'}`);
  console.log(`plan      ${d.plan ?? "(the account's plan)"}`);
  console.log('\nassignments');
  console.log(
    renderTable(
      ['from', 'account', 'plan'],
      d.assignments.map((a) => [a.from, a.account ?? '(none)', a.plan ?? '']),
    ),
  );
}

async function currentName(api: ApiClient, id: string): Promise<string | undefined> {
  try {
    return (await api.json<AccountBody>(`/v1/accounts/${seg(id)}`)).body.name;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

const changedNote = (changed: boolean | undefined) => (changed ? 'updated' : 'unchanged');

export function registerAccountsCommand(program: Command): void {
  const accounts = program
    .command('accounts')
    .description('Manage billing accounts: currency, time zone, plan');

  withClientOptions(
    accounts
      .command('set')
      .description('Create an account, or change its name or plan')
      .argument('<id>', 'account id')
      .requiredOption('--plan <plan>', 'plan id')
      .requiredOption('--currency <code>', 'ISO 4217 currency (fixed once set)')
      .requiredOption('--tz <zone>', 'IANA time zone of its billing periods (fixed once set)')
      .option('--name <name>', 'display name (default: keep the current one)')
      .option(
        '--plan-from <time>',
        "when the plan takes effect: YYYY-MM-DD (midnight in the account's zone) or RFC 3339; default: from the start for a new account, now for a change",
      )
      .option('--format <format>', 'table or json', 'table'),
  ).action(
    async (
      id: string,
      o: ClientOpts & {
        plan: string;
        currency: string;
        tz: string;
        name?: string;
        planFrom?: string;
      },
    ) => {
      const format = formatOption(o.format, ['table', 'json'] as const);
      const api = ApiClient.from(o);
      // A PUT states the whole account; without --name, keep the name it has.
      const name = o.name ?? (await currentName(api, id));
      const { body } = await api.put<AccountBody>(`/v1/accounts/${seg(id)}`, {
        ...(name !== undefined ? { name } : {}),
        currency: o.currency,
        time_zone: o.tz,
        plan: o.plan,
        ...(o.planFrom !== undefined ? { plan_from: o.planFrom } : {}),
      });
      if (format === 'json') return printJson(body);
      console.log(`account ${body.account}: ${changedNote(body.changed)}\n`);
      printAccount(body);
    },
  );

  withClientOptions(
    accounts
      .command('get')
      .description('Show an account, its plan history and its devices')
      .argument('<id>', 'account id')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (id: string, o: ClientOpts) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const { body } = await ApiClient.from(o).json<AccountBody>(`/v1/accounts/${seg(id)}`);
    if (format === 'json') return printJson(body);
    printAccount(body);
  });

  withClientOptions(
    accounts
      .command('list')
      .description('List the accounts')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (o: ClientOpts) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const { body } = await ApiClient.from(o).json<{ accounts: AccountBody[] }>('/v1/accounts');
    if (format === 'json') return printJson(body);
    if (body.accounts.length === 0) return console.log('no accounts');
    console.log(
      renderTable(
        ['account', 'name', 'currency', 'time zone', 'plan', 'devices'],
        body.accounts.map((a) => [
          a.account,
          a.name ?? '',
          a.currency,
          a.time_zone,
          a.plan ?? '',
          a.devices.length,
        ]),
        [false, false, false, false, false, true],
      ),
    );
  });
}

export function registerDevicesCommand(program: Command): void {
  const devices = program
    .command('devices')
    .description('Assign devices to accounts (and device plans)');

  const put = async (id: string, o: ClientOpts, body: Record<string, unknown>) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const res = await ApiClient.from(o).put<DeviceBody>(`/v1/devices/${seg(id)}`, body);
    if (format === 'json') return printJson(res.body);
    console.log(`device ${res.body.device}: ${changedNote(res.body.changed)}\n`);
    printDevice(res.body);
  };
  const fromHelp =
    "when it takes effect: YYYY-MM-DD (midnight in the account's zone) or RFC 3339; default: from the start for a first assignment, now for a change";

  withClientOptions(
    devices
      .command('assign')
      .description('Put a device in an account (optionally with its own plan)')
      .argument('<id>', 'device id')
      .requiredOption('--account <id>', 'account id')
      .option('--plan <plan>', "a device plan overriding the account's plan")
      .option('--from <time>', fromHelp)
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (id: string, o: ClientOpts & { account: string; plan?: string; from?: string }) =>
    put(id, o, {
      account: o.account,
      plan: o.plan ?? null,
      ...(o.from !== undefined ? { from: o.from } : {}),
    }),
  );

  withClientOptions(
    devices
      .command('unassign')
      .description('Take a device out of its account')
      .argument('<id>', 'device id')
      .option(
        '--from <time>',
        "when it takes effect: YYYY-MM-DD (midnight in the account's zone) or RFC 3339; default: now",
      )
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (id: string, o: ClientOpts & { from?: string }) =>
    put(id, o, { account: null, ...(o.from !== undefined ? { from: o.from } : {}) }),
  );

  withClientOptions(
    devices
      .command('get')
      .description("Show a device's account, plan and assignment history")
      .argument('<id>', 'device id')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (id: string, o: ClientOpts) => {
    const format = formatOption(o.format, ['table', 'json'] as const);
    const { body } = await ApiClient.from(o).json<DeviceBody>(`/v1/devices/${seg(id)}`);
    if (format === 'json') return printJson(body);
    printDevice(body);
  });
}
