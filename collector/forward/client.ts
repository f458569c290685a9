// The collector's gRPC client for the rater's IngestService. Outbox entries are already encoded
// UsageRecord messages, so the request is assembled from those bytes directly (field 3 of
// IngestBatchRequest is `repeated UsageRecord`, a length-delimited field) instead of decoding
// and re-encoding every record.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import {
  INGEST_BATCH_PATH,
  IngestBatchResponse,
  MAX_BATCH_MESSAGE_BYTES,
  type IngestBatchResponseMsg,
} from '../../proto/index.ts';
import { parseRaterTarget } from './target.ts';

const TAG_COLLECTOR_ID = (1 << 3) | 2;
const TAG_BATCH_ID = (2 << 3) | 2;
const TAG_RECORD = (3 << 3) | 2;

export function encodeBatch(collectorId: string, batchId: string, records: Uint8Array[]): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(TAG_COLLECTOR_ID).string(collectorId);
  w.uint32(TAG_BATCH_ID).string(batchId);
  for (const r of records) w.uint32(TAG_RECORD).bytes(r);
  return Buffer.from(w.finish());
}

export interface SendResult {
  response: IngestBatchResponseMsg;
}

export class RaterClient {
  private readonly client: grpc.Client;

  /** `address` is the collector's `rater` option: host:port, a list, or dns:name:port. */
  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    const { target, serviceConfig } = parseRaterTarget(address);
    this.client = new grpc.Client(target, credentials, {
      ...options,
      // Several raters: round_robin keeps a connection to each and sends each call to the next
      // ready one; a rater that is down is skipped until it reconnects (pick_first, the
      // default, would send everything to the first address that answers).
      ...(serviceConfig ? { 'grpc.service_config': serviceConfig } : {}),
      'grpc.max_send_message_length': MAX_BATCH_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Retries are the forwarder's job (with backoff, for as long as it takes); grpc-js's own
      // transparent retry would only hide the failures from its counters.
      'grpc.enable_retries': 0,
      // The same for reconnecting: grpc-js backs off reconnects on its own, up to 120 s by
      // default, and fails every call at once meanwhile. After a 4-minute rater outage the
      // collector reached the restarted rater only 72 s later, though it retried every second.
      // With a 1 s ceiling the channel reconnects whenever the forwarder retries.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  send(request: Buffer, deadlineMs: number): Promise<IngestBatchResponseMsg> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        INGEST_BATCH_PATH,
        (b: Buffer) => b,
        (b: Buffer) => IngestBatchResponse.decode(b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err || !res ? reject(err ?? new Error('empty response')) : resolve(res)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
