// `edgemeter credentials add|remove|list` (device secrets for a collector's credentials file) and
// `edgemeter certs init` (a small CA and certificates for TLS and mutual TLS).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { loadCollectorConfig } from '../collector/config.ts';
import { CredentialsError, CredentialsFile } from '../collector/auth/credentials.ts';
import { renderTable } from '../common/table.ts';
import { UsageError } from './api-client.ts';

/** --file, else EDGEMETER_DEVICE_CREDENTIALS, else deviceCredentials in --config. */
function credentialsFile(o: { file?: string; config?: string }): CredentialsFile {
  const file =
    o.file ??
    (process.env.EDGEMETER_DEVICE_CREDENTIALS || undefined) ??
    (o.config || process.env.EDGEMETER_CONFIG
      ? loadCollectorConfig(o.config ? { file: o.config } : {}).deviceCredentials
      : undefined);
  if (!file)
    throw new UsageError(
      'no credentials file: give --file, EDGEMETER_DEVICE_CREDENTIALS, or a --config with deviceCredentials',
    );
  return new CredentialsFile(file);
}

async function wrap(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    // A malformed file or device id is the user's to fix: a usage error, exit 2.
    if (err instanceof CredentialsError) throw new UsageError(err.message);
    throw err;
  }
}

function registerCredentials(program: Command): void {
  const cmd = program
    .command('credentials')
    .description('Manage device credentials (a collector’s deviceCredentials file)');
  const fileOpts = (c: Command) =>
    c
      .option('-f, --file <file>', 'credentials file (env EDGEMETER_DEVICE_CREDENTIALS)')
      .option('-c, --config <file>', 'collector config file whose deviceCredentials to use');

  fileOpts(
    cmd
      .command('add <deviceId>')
      .description(
        'Create a secret for a device; prints it once, alone on the last line. Only its scrypt hash is stored.',
      )
      .option('--replace', 'rotate the secret of a device that has one'),
  ).action((deviceId: string, o: { file?: string; config?: string; replace?: boolean }) =>
    wrap(async () => {
      const file = credentialsFile(o);
      const secret = await file.add(deviceId, { replace: o.replace === true });
      console.log(`${o.replace ? 'Rotated' : 'Added'} ${deviceId} in ${file.file}.`);
      console.log(
        'The device connects with MQTT user name = its device id and this password. It is shown once:',
      );
      console.log(secret);
    }),
  );

  fileOpts(
    cmd.command('remove <deviceId>').description('Remove a device; it can no longer connect'),
  ).action((deviceId: string, o: { file?: string; config?: string }) =>
    wrap(async () => {
      const file = credentialsFile(o);
      if (!(await file.remove(deviceId)))
        throw new UsageError(`${deviceId} is not in ${file.file}`);
      console.log(`Removed ${deviceId} from ${file.file}.`);
    }),
  );

  fileOpts(cmd.command('list').description('List the devices that have credentials')).action(
    (o: { file?: string; config?: string }) =>
      wrap(async () => {
        for (const id of await credentialsFile(o).list()) console.log(id);
      }),
  );
}

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const collect = (v: string, prev: string[]) => [...prev, ...list(v)];

function registerCerts(program: Command): void {
  program
    .command('certs')
    .description('Certificates for TLS between devices, collectors and the rater')
    .command('init')
    .description(
      'Create (or reuse) a CA in --dir and issue certificates: the rater, each --collector (MQTT TLS server + gRPC client, CN = collector id) and each --device (client, CN = device id). Existing files are kept unless --force.',
    )
    .option('-d, --dir <dir>', 'output directory', './certs')
    .option(
      '--rater-host <names>',
      'DNS names / IPs of the rater, comma-separated',
      'localhost,127.0.0.1',
    )
    .option('--collector <id>', 'a collector id (repeatable, or comma-separated)', collect, [])
    .option(
      '--collector-host <names>',
      'DNS names / IPs devices use to reach collectors, comma-separated',
      `localhost,127.0.0.1,${hostname()}`,
    )
    .option('--device <id>', 'a device id (repeatable, or comma-separated)', collect, [])
    .option('--days <n>', 'validity of the issued certificates, in days', '825')
    .option('--force', 'reissue certificates that exist (the CA is always kept)')
    .action(
      async (o: {
        dir: string;
        raterHost: string;
        collector: string[];
        collectorHost: string;
        device: string[];
        days: string;
        force?: boolean;
      }) => {
        const days = Number(o.days);
        if (!Number.isInteger(days) || days < 1 || days > 3650)
          throw new UsageError('--days must be a whole number from 1 to 3650');
        // Loaded on demand: the certificate library brings a global polyfill (common/pki.ts).
        const { initPki } = await import('../common/pki.ts');
        let files;
        try {
          files = await initPki({
            dir: o.dir,
            raterHosts: list(o.raterHost),
            collectors: o.collector.length > 0 ? o.collector : ['collector-1'],
            collectorHosts: list(o.collectorHost),
            devices: o.device,
            days,
            force: o.force === true,
          });
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        console.log(
          renderTable(
            ['file', 'for', 'status'],
            files.map((f) => [f.file, f.what, f.created ? 'created' : 'kept']),
          ),
        );
        console.log(
          `\nKeys (*.key) are written 0600 next to each certificate. Wiring: docs/security.md, "Certificates".`,
        );
      },
    );
}

export function registerSecurityCommands(program: Command): void {
  registerCredentials(program);
  registerCerts(program);
}
