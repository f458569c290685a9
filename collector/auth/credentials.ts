// Device credentials: a text file of `deviceId:hash` lines (like htpasswd), named by
// deviceCredentials / EDGEMETER_DEVICE_CREDENTIALS. Only scrypt hashes are stored, never a secret;
// the parameters travel inside each hash so they can be raised later without breaking old lines.
// `edgemeter credentials add|remove|list` edits the file; the collector rereads it when it changes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEVICE_ID_RE } from '../../common/usage.ts';

/**
 * N = 2^14, r = 8, p = 1: 16 MiB and tens of milliseconds per check on a gateway CPU, the usual
 * "interactive login" setting. Secrets are 256 random bits, so the hash guards a stolen file, not
 * a guessable password; the cost only has to make that file useless, not stop a dictionary.
 */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 };

const HASH_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

function scryptAsync(secret: string, salt: Buffer, len: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, len, o, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A new device secret: 32 random bytes, base64url (43 characters, no `:` or spaces). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashSecret(secret: string, o = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(o.saltLength);
  const key = await scryptAsync(secret, salt, o.keyLength, scryptOptions(o.N, o.r, o.p));
  return `scrypt$${o.N}$${o.r}$${o.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time comparison of the derived key; false for any malformed hash. */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const m = HASH_RE.exec(hash);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const expected = Buffer.from(m[5]!, 'base64');
  if (expected.length < 16) return false;
  const key = await scryptAsync(secret, salt, expected.length, scryptOptions(N, r, p));
  return timingSafeEqual(key, expected);
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node refuses 128·N·r above maxmem (32 MiB by default); allow what the parameters need.
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

/** Parses the file's text; every problem is reported with its line number. */
export function parseCredentials(text: string, file: string): Map<string, string> {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    // Device ids may contain ':'; hashes never do, so the last ':' separates them.
    const at = line.lastIndexOf(':');
    const id = at > 0 ? line.slice(0, at) : '';
    const hash = line.slice(at + 1);
    if (!DEVICE_ID_RE.test(id)) problems.push(`line ${i + 1}: not a device id before ':'`);
    else if (!HASH_RE.test(hash)) problems.push(`line ${i + 1}: ${id}: not a scrypt hash`);
    else if (entries.has(id)) problems.push(`line ${i + 1}: ${id} is listed twice`);
    else entries.set(id, hash);
  });
  if (problems.length > 0)
    throw new CredentialsError(
      `${file}: invalid credentials file:\n  - ${problems.join('\n  - ')}`,
    );
  return entries;
}

const HEADER =
  '# edgemeter device credentials: one `deviceId:scrypt-hash` per line. Managed by\n' +
  '# `edgemeter credentials add|remove|list`; secrets are never stored, only their hashes.\n';

/** The file as the CLI edits it: whole-file rewrites through a temporary file and a rename. */
export class CredentialsFile {
  constructor(readonly file: string) {}

  async read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    return parseCredentials(text, this.file);
  }

  /** Adds a device with a new secret and returns the secret (the only time it exists). */
  async add(deviceId: string, opts: { replace?: boolean } = {}): Promise<string> {
    if (!DEVICE_ID_RE.test(deviceId))
      throw new CredentialsError(`"${deviceId}" is not a device id (1-128 of [A-Za-z0-9._:-])`);
    const entries = await this.read();
    if (entries.has(deviceId) && !opts.replace)
      throw new CredentialsError(`${deviceId} already has a secret (--replace to rotate it)`);
    const existed = entries.has(deviceId);
    const secret = newSecret();
    entries.set(deviceId, await hashSecret(secret));
    await this.write(entries);
    await this.audit(existed ? 'rotate' : 'add', deviceId);
    return secret;
  }

  async remove(deviceId: string): Promise<boolean> {
    const entries = await this.read();
    if (!entries.delete(deviceId)) return false;
    await this.write(entries);
    await this.audit('remove', deviceId);
    return true;
  }

  async list(): Promise<string[]> {
    return [...(await this.read()).keys()].sort();
  }

  /** The append-only record of changes, next to the file: `<file>.audit.jsonl`. */
  get auditFile(): string {
    return `${this.file}.audit.jsonl`;
  }

  private async write(entries: Map<string, string>): Promise<void> {
    await fs.mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    const body = [...entries].map(([id, hash]) => `${id}:${hash}\n`).join('');
    const tmp = `${this.file}.${process.pid}.tmp`;
    // 0600: the hashes are not secrets, but nobody else has a reason to read them.
    await fs.writeFile(tmp, HEADER + body, { mode: 0o600 });
    const fh = await fs.open(tmp, 'r');
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, this.file);
  }

  private async audit(action: 'add' | 'rotate' | 'remove', deviceId: string): Promise<void> {
    const entry = {
      at: new Date().toISOString(),
      action,
      device: deviceId,
      by: safeUser(),
      host: os.hostname(),
    };
    await fs.appendFile(this.auditFile, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
}
