// How the gRPC ingest port is exposed: TLS, mutual TLS, or plaintext — and plaintext only on
// loopback unless grpcAllowInsecure says otherwise, because whoever reaches the port can submit
// usage that becomes money.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { isLoopback, splitHostPort } from '../../common/net.ts';
import { readPem, requireTogether, TlsConfigError } from '../../common/tls.ts';
import type { RaterConfig } from '../config.ts';

export interface IngestExposure {
  credentials: grpc.ServerCredentials;
  /** The address actually bound. */
  address: string;
  /** Collectors must present a trusted client certificate whose CN is their collector id. */
  mutual: boolean;
}

type TlsOptions = Pick<
  RaterConfig,
  'grpcListen' | 'grpcTlsCert' | 'grpcTlsKey' | 'grpcTlsClientCa' | 'grpcAllowInsecure'
>;

export function ingestExposure(config: TlsOptions, logger: Logger): IngestExposure {
  requireTogether({ grpcTlsCert: config.grpcTlsCert, grpcTlsKey: config.grpcTlsKey });
  if (config.grpcTlsCert !== undefined && config.grpcTlsKey !== undefined) {
    const mutual = config.grpcTlsClientCa !== undefined;
    const credentials = grpc.ServerCredentials.createSsl(
      mutual ? readPem(config.grpcTlsClientCa as string, 'grpcTlsClientCa') : null,
      [
        {
          cert_chain: readPem(config.grpcTlsCert, 'grpcTlsCert'),
          private_key: readPem(config.grpcTlsKey, 'grpcTlsKey'),
        },
      ],
      mutual,
    );
    if (!mutual)
      logger.warn(
        'gRPC ingest uses TLS without grpcTlsClientCa: collectors are not authenticated, so ' +
          'anyone who reaches the port can submit usage',
      );
    return { credentials, address: config.grpcListen, mutual };
  }
  if (config.grpcTlsClientCa !== undefined)
    throw new TlsConfigError('grpcTlsClientCa set without grpcTlsCert and grpcTlsKey');

  const { host, port } = splitHostPort(config.grpcListen);
  const credentials = grpc.ServerCredentials.createInsecure();
  if (isLoopback(host)) return { credentials, address: config.grpcListen, mutual: false };
  if (config.grpcAllowInsecure) {
    logger.warn(
      { address: config.grpcListen },
      'gRPC ingest is plaintext and unauthenticated on a non-loopback address (grpcAllowInsecure)',
    );
    return { credentials, address: config.grpcListen, mutual: false };
  }
  const address = `127.0.0.1:${port}`;
  logger.warn(
    { configured: config.grpcListen, address },
    'gRPC ingest has no TLS: listening on loopback only. Set grpcTlsCert and grpcTlsKey (and ' +
      'grpcTlsClientCa for mutual TLS), or grpcAllowInsecure on a network you trust',
  );
  return { credentials, address, mutual: false };
}
