// Key material of the embedded broker's MQTT-over-TLS listener, read once at start-up.
import { readPem, TlsConfigError } from '../../common/tls.ts';
import type { CollectorConfig } from '../config.ts';
import type { TlsListenerOptions } from './broker.ts';

export function mqttTlsMaterial(
  config: Pick<CollectorConfig, 'mqttTlsListen' | 'mqttTlsCert' | 'mqttTlsKey' | 'mqttTlsCa'>,
): TlsListenerOptions {
  if (config.mqttTlsCert === undefined || config.mqttTlsKey === undefined)
    throw new TlsConfigError('mqttTlsListen needs mqttTlsCert and mqttTlsKey');
  return {
    cert: readPem(config.mqttTlsCert, 'mqttTlsCert'),
    key: readPem(config.mqttTlsKey, 'mqttTlsKey'),
    ...(config.mqttTlsCa === undefined ? {} : { ca: readPem(config.mqttTlsCa, 'mqttTlsCa') }),
  };
}
