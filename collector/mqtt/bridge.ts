// Bridge mode: instead of running its own broker, the collector subscribes to an existing one
// (e.g. Mosquitto on the gateway) with a persistent session (clean: false, QoS 1). MQTT.js sends
// the PUBACK for a QoS 1 message only after `handleMessage` calls back, so the callback comes
// after the durable write. A message that cannot be stored is left unacknowledged and the
// connection is dropped: the upstream broker keeps it in the session and delivers it again after
// the reconnect.
//
// Note for operators: Mosquitto keeps at most `max_queued_messages` (default 1000) per offline
// session; raise it (0 = unlimited) so an outage of the collector does not drop messages there.
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import { CollectorError } from '../errors.ts';
import { answerRejections } from './answers.ts';
import type { Intake } from './intake.ts';

export interface BridgeOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** Delay before reconnecting after a refusal or a lost connection, in ms. */
  reconnectMs?: number;
}

export interface BridgeDeps {
  intake: Intake;
  logger: Logger;
  answerRejected: boolean;
}

export const BRIDGE_TOPICS = ['usage/+', 'usage/+/pb'];

export class Bridge {
  private client: MqttClient | undefined;
  private dropping = false;

  constructor(
    private readonly opts: BridgeOptions,
    private readonly deps: BridgeDeps,
  ) {}

  /** Connects and subscribes; resolves after the first successful subscription. */
  start(): Promise<void> {
    const { logger } = this.deps;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      clean: false, // a persistent session: the broker queues QoS 1 messages while we are away
      protocolVersion: 4,
      reconnectPeriod: this.opts.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    };
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    client.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish') return callback();
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload);
      this.deps.intake.handle(packet.topic, payload).then(
        (result) => {
          callback();
          answerRejections(this.deps.answerRejected, packet.topic, result, (t, p) =>
            client.publish(t, p, { qos: 1 }),
          );
        },
        (err: unknown) => {
          const code = err instanceof CollectorError ? err.code : 'STORE_FAILED';
          logger.warn(
            { topic: packet.topic, code, err: errorMessage(err) },
            'bridged message not stored; will be redelivered',
          );
          // No PUBACK: passing an error makes MQTT.js skip it. Then drop the connection so the
          // broker redelivers the message from the session when we reconnect.
          callback(err instanceof Error ? err : new Error(String(err)));
          this.dropConnection();
        },
      );
    };
    client.on('error', (err) => logger.warn({ err: err.message }, 'upstream broker error'));
    client.on('offline', () =>
      logger.warn({ url: this.opts.url }, 'upstream broker offline; reconnecting'),
    );
    return new Promise<void>((resolve, reject) => {
      let first = true;
      client.on('connect', (connack) => {
        logger.info(
          { url: this.opts.url, sessionPresent: connack.sessionPresent },
          'bridge connected',
        );
        // Re-subscribing is harmless and covers a broker that lost the session.
        client.subscribe(BRIDGE_TOPICS, { qos: 1 }, (err) => {
          if (err) {
            logger.error({ err: err.message }, 'bridge subscribe failed');
            if (first) reject(err);
          } else if (first) resolve();
          first = false;
        });
      });
    });
  }

  /**
   * Publishes on the upstream broker (quota states and notices). While it is away MQTT.js keeps
   * QoS 1 messages queued and sends them after the reconnect.
   */
  publish(topic: string, payload: Buffer, opts: { retain?: boolean } = {}): void {
    this.client?.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => {
      if (err) this.deps.logger.warn({ topic, err: err.message }, 'could not publish upstream');
    });
  }

  private dropConnection(): void {
    if (this.dropping || !this.client) return;
    this.dropping = true;
    this.client.stream?.destroy();
    setTimeout(() => (this.dropping = false), this.opts.reconnectMs ?? 1000).unref();
  }

  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}
