// The embedded MQTT broker devices publish to. The durable write happens inside aedes's
// `authorizePublish` hook because aedes writes the QoS 1 PUBACK right after that hook calls back
// (lib/handlers/publish.js): calling back only after the outbox synced is what makes a PUBACK
// mean "this record is on disk". An error from the hook makes aedes close the connection without
// a PUBACK, so the device keeps the message and sends it again.
import net from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { CollectorError } from '../errors.ts';
import { answerRejections } from './answers.ts';
import type { Intake } from './intake.ts';

export interface BrokerDeps {
  intake: Intake;
  logger: Logger;
  answerRejected: boolean;
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: net.Server | undefined;

  constructor(private readonly deps: BrokerDeps) {}

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const { logger } = this.deps;
    const aedes = await Aedes.createBroker({
      id: 'edgemeter-collector',
      authorizePublish: (client, packet, callback) =>
        this.authorizePublish(client, packet, callback),
    });
    aedes.on('clientError', (client: Client, err: Error) => {
      logger.debug({ client: client.id, err: err.message }, 'mqtt client error');
    });
    this.aedes = aedes;
    const server = net.createServer(aedes.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    logger.info({ host: addr.address, port: addr.port }, 'embedded MQTT broker listening');
    return { host: addr.address, port: addr.port };
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ): void {
    // Messages the broker itself publishes (rejected answers, wills) are not usage reports.
    if (client === null) return callback(null);
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
    const server = this.server;
    const aedes = this.aedes;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
