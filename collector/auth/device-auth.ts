// Who a connected MQTT client is, and what it may do. The identity is the device id: the user
// name checked against the credentials file, or the CN of a client certificate the TLS listener
// verified. A device publishes only to usage/{its id} (and /pb) and subscribes only to its own
// answers (usage/{id}/rejected) and quota state (quota/{id}); the topic, never the payload, names
// the device, so a device cannot bill another one.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { DEVICE_ID_RE } from '../../common/usage.ts';
import { CredentialsFile, hashSecret, verifySecret } from './credentials.ts';

export type AuthFailure =
  'no_credentials' | 'unknown_device' | 'bad_secret' | 'bad_certificate' | 'name_mismatch';

export type AuthResult = { ok: true; deviceId: string } | { ok: false; reason: AuthFailure };

/** What the TLS layer learned about the client, if it connected over TLS. */
export interface PeerCertificate {
  /** The CN of a certificate that chains to the configured client CA. */
  commonName?: string;
  /** Set when a certificate was presented but did not verify. */
  error?: string;
}

export interface DeviceAuthOptions {
  /** Path of the credentials file; undefined = no password authentication. */
  credentialsFile?: string;
  /** Client certificates are verified by the TLS listener (mqttTlsCa is set). */
  clientCertificates: boolean;
}

export class DeviceAuth {
  private entries = new Map<string, string>();
  private loadedStamp = '';
  private reloading: Promise<void> | undefined;
  /** HMAC of secrets already verified, so a reconnect storm does not cost one scrypt each. */
  private readonly verified = new Map<string, Buffer>();
  private readonly cacheKey = randomBytes(32);
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly opts: DeviceAuthOptions,
    private readonly logger: Logger,
  ) {}

  /** Devices must authenticate: a credentials file or client certificates are configured. */
  get enabled(): boolean {
    return this.opts.credentialsFile !== undefined || this.opts.clientCertificates;
  }

  /** Loads the credentials file; an unreadable or invalid file stops the start-up. */
  async start(): Promise<void> {
    if (this.opts.credentialsFile === undefined) return;
    await this.reload(true);
    this.logger.info(
      { file: this.opts.credentialsFile, devices: this.entries.size },
      'device credentials loaded',
    );
  }

  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
    cert: PeerCertificate | undefined,
  ): Promise<AuthResult> {
    if (cert?.error !== undefined) return { ok: false, reason: 'bad_certificate' };
    if (cert?.commonName !== undefined) {
      if (!DEVICE_ID_RE.test(cert.commonName)) return { ok: false, reason: 'bad_certificate' };
      // A certificate is enough; a user name, if sent, must agree with it.
      if (username !== undefined && username !== '' && username !== cert.commonName)
        return { ok: false, reason: 'name_mismatch' };
      return { ok: true, deviceId: cert.commonName };
    }
    if (this.opts.credentialsFile === undefined || username === undefined || !password)
      return { ok: false, reason: 'no_credentials' };
    await this.refreshIfChanged();
    const secret = password.toString('utf8');
    const hash = this.entries.get(username);
    if (hash === undefined) {
      // Same work as for a known device, so the answer time does not say which ids exist.
      this.dummyHash ??= hashSecret('edgemeter-no-such-device');
      await verifySecret(secret, await this.dummyHash);
      return { ok: false, reason: 'unknown_device' };
    }
    const mac = createHmac('sha256', this.cacheKey).update(secret).digest();
    const known = this.verified.get(username);
    if (known && timingSafeEqual(known, mac)) return { ok: true, deviceId: username };
    if (!(await verifySecret(secret, hash))) return { ok: false, reason: 'bad_secret' };
    // The file may have changed while scrypt ran; only cache against the hash just checked.
    if (this.entries.get(username) === hash) this.verified.set(username, mac);
    return { ok: true, deviceId: username };
  }

  mayPublish(deviceId: string, topic: string): boolean {
    return topic === `usage/${deviceId}` || topic === `usage/${deviceId}/pb`;
  }

  maySubscribe(deviceId: string, topic: string): boolean {
    return topic === `usage/${deviceId}/rejected` || topic === `quota/${deviceId}`;
  }

  /** Rereads the file when its size, mtime or inode changed (an edit by `edgemeter credentials`). */
  private async refreshIfChanged(): Promise<void> {
    if (this.reloading) return this.reloading;
    const file = this.opts.credentialsFile as string;
    let stamp: string;
    try {
      const s = await fs.stat(file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.loadedStamp) return;
    this.reloading = this.reload(false).finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reload(strict: boolean): Promise<void> {
    const file = this.opts.credentialsFile as string;
    let stamp = 'missing';
    try {
      const s = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT')
          throw new Error(
            `${file} does not exist; create it with \`edgemeter credentials add DEVICE_ID\``,
          );
        throw err;
      });
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if ((s.mode & 0o077) !== 0 && strict)
        this.logger.warn(
          { file, mode: (s.mode & 0o777).toString(8) },
          'credentials file is readable by other users; chmod 600 it',
        );
      const entries = await new CredentialsFile(file).read();
      this.entries = entries;
      this.loadedStamp = stamp;
      this.verified.clear();
      if (!strict) this.logger.info({ file, devices: entries.size }, 'device credentials reloaded');
    } catch (err) {
      if (strict) throw err;
      // A half-edited, broken or deleted file must neither open the broker up nor lock every
      // device out: keep serving the last good set, say so, and retry when the file changes.
      this.logger.error(
        { file, err: errorMessage(err) },
        'credentials file not reloaded; keeping the previous set',
      );
      this.loadedStamp = stamp;
    }
  }
}
