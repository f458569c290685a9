// Channel credentials toward the rater: plaintext, TLS (rater verified against raterTlsCa), or
// mutual TLS (this collector also presents raterTlsCert, whose CN the rater matches against the
// collector id in every batch).
import * as grpc from '@grpc/grpc-js';
import { readPem, requireTogether, TlsConfigError } from '../../common/tls.ts';
import type { CollectorConfig } from '../config.ts';
import { parseRaterTarget } from './target.ts';

export function raterCredentials(
  config: Pick<CollectorConfig, 'raterTlsCa' | 'raterTlsCert' | 'raterTlsKey'>,
): grpc.ChannelCredentials {
  requireTogether({ raterTlsCert: config.raterTlsCert, raterTlsKey: config.raterTlsKey });
  if (config.raterTlsCa === undefined) {
    if (config.raterTlsCert !== undefined)
      throw new TlsConfigError('raterTlsCert set without raterTlsCa (the rater must be verified)');
    return grpc.credentials.createInsecure();
  }
  return grpc.credentials.createSsl(
    readPem(config.raterTlsCa, 'raterTlsCa'),
    config.raterTlsKey === undefined ? null : readPem(config.raterTlsKey, 'raterTlsKey'),
    config.raterTlsCert === undefined ? null : readPem(config.raterTlsCert, 'raterTlsCert'),
  );
}

/** Channel options that go with the credentials (the name to verify, when overridden). */
export function raterChannelOptions(
  config: Pick<CollectorConfig, 'raterTlsServerName' | 'raterTlsCa' | 'rater'>,
): grpc.ChannelOptions {
  // With a list of raters, grpc-js takes the first address as the name to verify, so TLS would
  // check every rater's certificate against one IP address: name the certificates' host.
  if (
    config.raterTlsCa !== undefined &&
    config.raterTlsServerName === undefined &&
    parseRaterTarget(config.rater).addresses > 1
  )
    throw new TlsConfigError(
      'raterTlsServerName is needed with TLS and a list of raters: the name every rater certificate carries',
    );
  return config.raterTlsServerName === undefined
    ? {}
    : { 'grpc.ssl_target_name_override': config.raterTlsServerName };
}
