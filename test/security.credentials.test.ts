// `edgemeter credentials` and `edgemeter certs init`, run as the real executable, and the
// credentials file rules: only scrypt hashes are stored, every change is logged, a malformed file
// is refused with its line numbers.
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialsError,
  hashSecret,
  parseCredentials,
  verifySecret,
} from '../collector/auth/credentials.ts';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/stack.ts';

const cli = runCli;

describe('edgemeter credentials', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let file: string;
  let secret: string;

  beforeAll(async () => {
    dir = await tempDir('edgemeter-creds-');
    file = join(dir.path, 'devices.credentials');
  });
  afterAll(() => dir?.remove());

  it('add prints the secret once, alone on the last line, and stores only its scrypt hash', async () => {
    const run = await cli(['credentials', 'add', 'dev:1', '--file', file]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    secret = lines[lines.length - 1] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(secret);
    const hash = parseCredentials(text, file).get('dev:1') as string;
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifySecret(secret, hash)).toBe(true);
    expect(await verifySecret(`${secret}x`, hash)).toBe(false);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses to add a device twice unless rotating, and refuses a bad device id', async () => {
    const again = await cli(['credentials', 'add', 'dev:1', '--file', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('dev:1 already has a secret (--replace to rotate it)');
    const bad = await cli(['credentials', 'add', 'dev/1', '--file', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"dev/1" is not a device id');
    const rotated = await cli(['credentials', 'add', 'dev:1', '--replace'], {
      EDGEMETER_DEVICE_CREDENTIALS: file,
    });
    expect(rotated.code).toBe(0);
    const hash = parseCredentials(await readFile(file, 'utf8'), file).get('dev:1') as string;
    expect(await verifySecret(secret, hash)).toBe(false);
  });

  it('lists and removes devices, and logs every change without a secret', async () => {
    await cli(['credentials', 'add', 'dev-2', '--file', file]);
    expect((await cli(['credentials', 'list', '--file', file])).stdout).toBe('dev-2\ndev:1\n');
    expect((await cli(['credentials', 'remove', 'dev:1', '--file', file])).code).toBe(0);
    const missing = await cli(['credentials', 'remove', 'dev:1', '--file', file]);
    expect(missing.code).toBe(2);
    expect((await cli(['credentials', 'list', '--file', file])).stdout).toBe('dev-2\n');
    const audit = (await readFile(`${file}.audit.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; device: string; by: string; at: string });
    expect(audit.map((a) => [a.action, a.device])).toEqual([
      ['add', 'dev:1'],
      ['rotate', 'dev:1'],
      ['add', 'dev-2'],
      ['remove', 'dev:1'],
    ]);
    expect(audit.every((a) => a.by.length > 0 && !Number.isNaN(Date.parse(a.at)))).toBe(true);
    expect(await readFile(`${file}.audit.jsonl`, 'utf8')).not.toContain(secret);
  });

  it('says where the file should come from when none is given', async () => {
    const run = await cli(['credentials', 'list']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no credentials file');
  });
});

describe('the credentials file format', () => {
  it('reports every bad line with its number', async () => {
    const good = await hashSecret('s3cret');
    const text = [
      '# comment',
      `dev-1:${good}`,
      'dev-2:hunter2',
      `dev-1:${good}`,
      `:${good}`,
      `bad/id:${good}`,
    ].join('\n');
    let err: unknown;
    try {
      parseCredentials(text, 'f');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CredentialsError);
    const message = (err as Error).message;
    expect(message).toContain('line 3: dev-2: not a scrypt hash');
    expect(message).toContain('line 4: dev-1 is listed twice');
    expect(message).toContain('line 5: not a device id');
    expect(message).toContain('line 6: not a device id');
  });

  it('keeps device ids that contain colons', async () => {
    const hash = await hashSecret('x');
    expect([...parseCredentials(`a:b:c:${hash}\n`, 'f').keys()]).toEqual(['a:b:c']);
  });
});

describe('edgemeter certs init', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('edgemeter-certs-');
  });
  afterAll(() => dir?.remove());

  it('creates a CA and certificates whose CN is the collector or device id', async () => {
    const out = join(dir.path, 'pki');
    const run = await cli([
      'certs',
      'init',
      '--dir',
      out,
      '--collector',
      'gw-1',
      '--device',
      'dev-1,dev-2',
      '--rater-host',
      'rater.example,10.0.0.5',
    ]);
    expect(run.code).toBe(0);
    const ca = new X509Certificate(await readFile(join(out, 'ca.crt')));
    expect(ca.ca).toBe(true);
    const load = async (n: string) => new X509Certificate(await readFile(join(out, `${n}.crt`)));
    const rater = await load('rater');
    expect(rater.verify(ca.publicKey)).toBe(true);
    expect(rater.subjectAltName).toBe('DNS:rater.example, IP Address:10.0.0.5');
    expect(rater.checkHost('rater.example')).toBe('rater.example');
    for (const [name, cn] of [
      ['collector-gw-1', 'gw-1'],
      ['device-dev-1', 'dev-1'],
      ['device-dev-2', 'dev-2'],
    ] as const) {
      const cert = await load(name);
      expect(cert.subject).toBe(`CN=${cn}`);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect((await stat(join(out, `${name}.key`))).mode & 0o777).toBe(0o600);
    }
    expect(rater.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect((await load('device-dev-1')).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);

    // A second run reuses the CA and keeps what exists, adding only the new device.
    const serialBefore = (await load('collector-gw-1')).serialNumber;
    const again = await cli([
      'certs',
      'init',
      '--dir',
      out,
      '--collector',
      'gw-1',
      '--device',
      'dev-3',
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/ca\.crt\s+CA \(reused\)\s+kept/);
    expect((await load('device-dev-3')).verify(ca.publicKey)).toBe(true);
    expect((await load('collector-gw-1')).serialNumber).toBe(serialBefore);
  });

  it('refuses an id that cannot be a device or collector id', async () => {
    const run = await cli(['certs', 'init', '--dir', join(dir.path, 'x'), '--device', 'a b']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"a b" is not an id');
  });
});
