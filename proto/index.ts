// The wire contract in TypeScript: message classes generated from proto/edgemeter/v1/*.proto
// (run `npm run proto:gen` after editing it; test/proto.drift.test.ts fails when they differ) and
// the gRPC service definition built from them, shared by the collector's client and the rater.
import './runtime.ts';
import { edgemeter } from './gen/edgemeter.js';

export const DeviceReport = edgemeter.v1.DeviceReport;
export const UsageRecord = edgemeter.v1.UsageRecord;
export const IngestBatchRequest = edgemeter.v1.IngestBatchRequest;
export const IngestBatchResponse = edgemeter.v1.IngestBatchResponse;

export type DeviceReportMsg = edgemeter.v1.DeviceReport.$Properties;
export type UsageRecordMsg = edgemeter.v1.UsageRecord.$Properties;
export type IngestBatchRequestMsg = edgemeter.v1.IngestBatchRequest.$Properties;
export type IngestBatchResponseMsg = edgemeter.v1.IngestBatchResponse.$Properties;
export type RejectionMsg = edgemeter.v1.Rejection.$Properties;

export const WatchQuotaRequest = edgemeter.v1.WatchQuotaRequest;
export const QuotaUpdate = edgemeter.v1.QuotaUpdate;
export type WatchQuotaRequestMsg = edgemeter.v1.WatchQuotaRequest.$Properties;
export type QuotaUpdateMsg = edgemeter.v1.QuotaUpdate.$Properties;

export const INGEST_BATCH_PATH = '/edgemeter.v1.IngestService/IngestBatch';
export const QUOTA_WATCH_PATH = '/edgemeter.v1.QuotaService/Watch';

/** Largest request the rater accepts; collectors keep their batches well under it. */
export const MAX_BATCH_MESSAGE_BYTES = 4 * 1024 * 1024;
