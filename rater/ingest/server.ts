// The gRPC ingest endpoint. Decoding failures and every error go through rater/errors.ts, so a
// malformed batch gets INVALID_ARGUMENT (the collector then isolates the bad record) and a
// database outage gets UNAVAILABLE (the collector retries).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
import {
  INGEST_BATCH_PATH,
  IngestBatchRequest,
  IngestBatchResponse,
  MAX_BATCH_MESSAGE_BYTES,
  type IngestBatchRequestMsg,
  type IngestBatchResponseMsg,
} from '../../proto/index.ts';
import { commonName } from '../../common/tls.ts';
import { RaterError, isInternal, toGrpcError } from '../errors.ts';
import type { RaterMetrics } from '../metrics.ts';
import type { IngestService } from './service.ts';

type Decoded = { ok: true; msg: IngestBatchRequestMsg } | { ok: false; error: string };

const definition = {
  ingestBatch: {
    path: INGEST_BATCH_PATH,
    requestStream: false,
    responseStream: false,
    // Decode here rather than letting grpc-js turn a throw into a generic INTERNAL status.
    requestDeserialize: (b: Buffer): Decoded => {
      try {
        return { ok: true, msg: IngestBatchRequest.decode(b) };
      } catch (err) {
        return { ok: false, error: errorMessage(err) };
      }
    },
    requestSerialize: (m: Decoded) =>
      m.ok ? Buffer.from(IngestBatchRequest.encode(m.msg).finish()) : Buffer.alloc(0),
    responseSerialize: (m: IngestBatchResponseMsg) =>
      Buffer.from(IngestBatchResponse.encode(m).finish()),
    responseDeserialize: (b: Buffer) => IngestBatchResponse.decode(b),
  },
} satisfies grpc.ServiceDefinition;

export interface IngestServerOptions {
  /** Mutual TLS: every batch's collector_id must be the CN of the client certificate. */
  mutualTls?: boolean;
  /** Counts batches refused as a whole (edgemeter_rater_batches_total{result="refused"}). */
  metrics?: RaterMetrics;
}

export class IngestServer {
  private readonly server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_BATCH_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
  });

  constructor(
    private readonly service: IngestService,
    private readonly logger: Logger,
    private readonly opts: IngestServerOptions = {},
  ) {
    this.server.addService(definition, {
      ingestBatch: (
        call: grpc.ServerUnaryCall<Decoded, IngestBatchResponseMsg>,
        callback: grpc.sendUnaryData<IngestBatchResponseMsg>,
      ) => {
        void this.handle(call.request, peerCommonName(call), callback);
      },
    });
  }

  private async handle(
    req: Decoded,
    peer: string | undefined,
    callback: grpc.sendUnaryData<IngestBatchResponseMsg>,
  ): Promise<void> {
    try {
      if (!req.ok)
        throw new RaterError(
          'INVALID_BATCH',
          `request is not an edgemeter.v1.IngestBatchRequest: ${req.error}`,
        );
      // The certificate is the collector's identity; the id in the batch must not claim another.
      if (this.opts.mutualTls && req.msg.collectorId !== peer)
        throw new RaterError(
          'COLLECTOR_MISMATCH',
          `collector_id "${req.msg.collectorId ?? ''}" is not the CN of the client certificate ("${peer ?? ''}")`,
        );
      callback(null, await this.service.ingest(req.msg));
    } catch (err) {
      const { code, details } = toGrpcError(err);
      // Refused as a whole before any transaction (undecodable, bad ids, too many records, or a
      // collector id that is not its certificate's); failures of the transaction itself are
      // counted as `error` by the service.
      if (
        err instanceof RaterError &&
        (err.code === 'INVALID_BATCH' || err.code === 'COLLECTOR_MISMATCH')
      )
        this.opts.metrics?.batches.inc({ result: 'refused' });
      if (isInternal(err)) this.logger.error({ err: errorMessage(err) }, 'ingest failed');
      else if (err instanceof RaterError && err.code === 'COLLECTOR_MISMATCH')
        this.logger.warn({ details }, 'batch refused');
      else this.logger.debug({ details }, 'ingest refused');
      callback({ code, details, name: 'IngestError', message: details });
    }
  }

  /**
   * Serves another service on the same port, under the same TLS (QuotaService.Watch). Call
   * before `listen`.
   */
  addService(definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) {
    this.server.addService(definition, handlers);
  }

  /** Binds and starts; returns the bound port (useful with port 0). */
  listen(
    address: string,
    credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
  }

  /** Stops accepting calls and waits for those in flight, up to `graceMs`, then cancels them. */
  async close(graceMs = 5000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** CN of the verified client certificate (mutual TLS), if the call came with one. */
function peerCommonName(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  return commonName(call.getAuthContext().sslPeerCertificate?.subject);
}
