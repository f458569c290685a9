// The embedded MQTT broker devices publish to. The durable write happens inside aedes's
// `authorizePublish` hook because aedes writes the QoS 1 PUBACK right after that hook calls back
// (lib/handlers/publish.js): calling back only after the outbox synced is what makes a PUBACK
// mean "this record is on disk". An error from the hook makes aedes close the connection without
// a PUBACK, so the device keeps the message and sends it again.
//
// With device authentication on (collector/auth), `authenticate` fixes each client's device id and
// the publish and subscribe hooks hold it to its own topics.
import net from 'node:net';
import tls from 'node:tls';
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { commonName } from '../../common/tls.ts';
import type { DeviceAuth, PeerCertificate } from '../auth/device-auth.ts';
import { CollectorError } from '../errors.ts';
import type { CollectorMetrics } from '../metrics.ts';
import { answerRejections } from './answers.ts';
import type { Intake } from './intake.ts';

export interface BrokerDeps {
  intake: Intake;
  logger: Logger;
  answerRejected: boolean;
  auth: DeviceAuth;
  metrics: CollectorMetrics;
}

export interface TlsListenerOptions {
  cert: Buffer;
  key: Buffer;
  /** CA for device client certificates; when absent no certificate is asked for. */
  ca?: Buffer;
}

// MQTT 3.1.1 CONNACK return codes (aedes AuthErrorCode, a const enum the types cannot import).
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private readonly servers: net.Server[] = [];
  /** Device id of each authenticated client. */
  private readonly identities = new WeakMap<Client, string>();

  constructor(private readonly deps: BrokerDeps) {}

  /** Plain MQTT over TCP. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return this.serve(net.createServer(), host, port, 'mqtt');
  }

  /** MQTT over TLS; with `ca`, devices may authenticate by client certificate (CN = device id). */
  listenTls(
    host: string,
    port: number,
    o: TlsListenerOptions,
  ): Promise<{ host: string; port: number }> {
    const server = tls.createServer({
      cert: o.cert,
      key: o.key,
      minVersion: 'TLSv1.2',
      ...(o.ca
        ? // Verified in authenticate() rather than by the handshake, so that a device without a
          // certificate can still log in with its secret and an untrusted one gets a CONNACK
          // refusal it can log, not a bare reset.
          { ca: o.ca, requestCert: true, rejectUnauthorized: false }
        : {}),
    });
    return this.serve(server, host, port, 'mqtts');
  }

  private async broker(): Promise<Aedes> {
    if (this.aedes) return this.aedes;
    const { logger } = this.deps;
    const aedes = await Aedes.createBroker({
      id: 'edgemeter-collector',
      authenticate: (client, username, password, done) =>
        this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, callback) =>
        this.authorizePublish(client, packet, callback),
      authorizeSubscribe: (client, sub, callback) => this.authorizeSubscribe(client, sub, callback),
    });
    aedes.on('clientError', (client: Client, err: Error) => {
      logger.debug({ client: client.id, err: err.message }, 'mqtt client error');
    });
    this.aedes = aedes;
    return aedes;
  }

  private async serve(
    server: net.Server,
    host: string,
    port: number,
    scheme: 'mqtt' | 'mqtts',
  ): Promise<{ host: string; port: number }> {
    const aedes = await this.broker();
    const event = scheme === 'mqtts' ? 'secureConnection' : 'connection';
    server.on(event, (socket: net.Socket) => aedes.handle(socket));
    if (scheme === 'mqtts')
      server.on('tlsClientError', (err: Error) =>
        this.deps.logger.debug({ err: err.message }, 'mqtt tls handshake failed'),
      );
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    this.deps.logger.info(
      { scheme, host: addr.address, port: addr.port },
      'embedded MQTT broker listening',
    );
    return { host: addr.address, port: addr.port };
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { auth, logger, metrics } = this.deps;
    if (!auth.enabled) return done(null, true);
    auth.authenticate(username, password, peerCertificate(client)).then(
      (r) => {
        if (r.ok) {
          this.identities.set(client, r.deviceId);
          return done(null, true);
        }
        metrics.authFailures.inc({ reason: r.reason });
        // Never the password; the user name is what the device claimed to be.
        logger.warn(
          { client: client.id, username, reason: r.reason },
          'device authentication failed',
        );
        const cert = r.reason === 'bad_certificate' || r.reason === 'name_mismatch';
        const err = new Error(`device authentication failed: ${r.reason}`) as AuthenticateError;
        err.returnCode = cert ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD;
        done(err, false);
      },
      (err: unknown) => {
        logger.error({ client: client.id, err: errorMessage(err) }, 'device authentication error');
        const e = new Error('authentication unavailable') as AuthenticateError;
        e.returnCode = 3; // server unavailable: the device retries later
        done(e, false);
      },
    );
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const { auth, logger, metrics } = this.deps;
    if (!auth.enabled) return callback(null, sub);
    const deviceId = this.identities.get(client);
    if (deviceId !== undefined && auth.maySubscribe(deviceId, sub.topic))
      return callback(null, sub);
    metrics.subscribesRefused.inc();
    logger.warn({ client: client.id, device: deviceId, topic: sub.topic }, 'subscribe refused');
    callback(null, null); // SUBACK 0x80 for this topic; the connection stays up
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ): void {
    // Messages the broker itself publishes (rejected answers, wills) are not usage reports.
    if (client === null) return callback(null);
    if (this.deps.auth.enabled) {
      const deviceId = this.identities.get(client);
      if (deviceId === undefined || !this.deps.auth.mayPublish(deviceId, packet.topic)) {
        this.deps.metrics.publishesRefused.inc({ code: 'NOT_AUTHORIZED' });
        this.deps.logger.warn(
          { client: client.id, device: deviceId, topic: packet.topic },
          'publish refused: not this device’s topic',
        );
        // No PUBACK and nothing stored; aedes closes the connection (MQTT 3.1.1 has no
        // negative PUBACK).
        return callback(
          new CollectorError('NOT_AUTHORIZED', `${deviceId} may not publish to ${packet.topic}`),
        );
      }
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    this.deps.intake.handle(packet.topic, payload).then(
      (result) => {
        callback(null);
        answerRejections(this.deps.answerRejected, packet.topic, result, (t, p) =>
          this.publish(t, p),
        );
      },
      (err: unknown) => {
        const code = err instanceof CollectorError ? err.code : 'STORE_FAILED';
        this.deps.logger.warn(
          { client: client.id, topic: packet.topic, code, err: errorMessage(err) },
          'publish refused',
        );
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  private publish(topic: string, payload: Buffer): void {
    const packet = {
      cmd: 'publish',
      topic,
      payload,
      qos: 1,
      retain: false,
      dup: false,
    } as unknown as AedesPublishPacket;
    this.aedes?.publish(packet, (err) => {
      if (err)
        this.deps.logger.warn({ topic, err: err.message }, 'could not publish rejected answer');
    });
  }

  async close(): Promise<void> {
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const server of this.servers)
      await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The client certificate a TLS device presented, if any. */
function peerCertificate(client: Client): PeerCertificate | undefined {
  const socket = client.conn;
  if (!(socket instanceof tls.TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) return { error: String(socket.authorizationError ?? 'not trusted') };
  const cn = commonName(cert.subject);
  return cn === undefined ? { error: 'certificate has no CN' } : { commonName: cn };
}
