// Ingest of one batch: check every record (the rater trusts no collector), store the valid ones
// in one transaction, and report accepted / duplicates / conflicts / rejected. The answer is
// produced only after the store's transaction committed (Guarantee 1 in PRODUCT.md).
import type { Logger } from '../../common/logger.ts';
import { DEVICE_ID_RE, checkUsageRecord, recordKey, type UsageRecord } from '../../common/usage.ts';
import type {
  IngestBatchRequestMsg,
  IngestBatchResponseMsg,
  RejectionMsg,
  UsageRecordMsg,
} from '../../proto/index.ts';
import { RaterError } from '../errors.ts';
import type { RaterMetrics } from '../metrics.ts';
import { contentHash } from '../storage/fingerprint.ts';
import type { StoredRecordInput, UsageStore } from '../storage/store.ts';

export interface IngestServiceDeps {
  store: UsageStore;
  metrics: RaterMetrics;
  logger: Logger;
  maxBatchRecords: number;
}

/** proto3 leaves absent optional fields null; the record model uses undefined. */
export function fromWire(m: UsageRecordMsg): Partial<UsageRecord> {
  const r: Partial<UsageRecord> = {
    deviceId: m.deviceId ?? '',
    endMs: m.endMs ?? 0,
    up: m.up ?? 0,
    down: m.down ?? 0,
    meters: m.meters ?? {},
    dims: m.dims ?? {},
    receivedMs: m.receivedMs ?? 0,
  };
  if (m.seq !== null && m.seq !== undefined) r.seq = m.seq;
  if (m.id !== null && m.id !== undefined && m.id !== '') r.id = m.id;
  if (m.boot !== null && m.boot !== undefined && m.boot !== '') r.boot = m.boot;
  if (m.startMs !== null && m.startMs !== undefined) r.startMs = m.startMs;
  return r;
}

export class IngestService {
  constructor(private readonly deps: IngestServiceDeps) {}

  async ingest(req: IngestBatchRequestMsg): Promise<IngestBatchResponseMsg> {
    const { metrics, store } = this.deps;
    const collectorId = req.collectorId ?? '';
    const batchId = req.batchId ?? '';
    const wire = req.records ?? [];
    if (!DEVICE_ID_RE.test(collectorId))
      throw new RaterError(
        'INVALID_BATCH',
        'collector_id must be 1-128 characters of [A-Za-z0-9._:-]',
      );
    if (batchId.length === 0 || batchId.length > 300)
      throw new RaterError('INVALID_BATCH', 'batch_id must be 1-300 characters');
    if (wire.length > this.deps.maxBatchRecords)
      throw new RaterError(
        'INVALID_BATCH',
        `batch holds ${wire.length} records; the limit is ${this.deps.maxBatchRecords}`,
      );

    const records: StoredRecordInput[] = [];
    const rejected: RejectionMsg[] = [];
    wire.forEach((m, index) => {
      const r = fromWire(m);
      const reason = checkUsageRecord(r);
      if (reason) {
        rejected.push({ index, code: 'INVALID_RECORD', reason });
        return;
      }
      const rec = r as UsageRecord;
      records.push({ ...rec, key: recordKey(rec), contentHash: contentHash(rec) });
    });

    const end = metrics.txSeconds.startTimer();
    try {
      const out =
        records.length > 0
          ? await store.ingest({ collectorId, batchId, records })
          : { accepted: 0, duplicates: 0, conflicts: 0 };
      end();
      metrics.batches.inc({ result: 'ok' });
      metrics.records.inc({ result: 'accepted' }, out.accepted);
      metrics.records.inc({ result: 'duplicate' }, out.duplicates);
      metrics.records.inc({ result: 'conflict' }, out.conflicts);
      metrics.records.inc({ result: 'rejected' }, rejected.length);
      if (rejected.length > 0) metrics.rejected.inc({ code: 'INVALID_RECORD' }, rejected.length);
      if (out.conflicts > 0)
        this.deps.logger.warn(
          { collectorId, batchId, conflicts: out.conflicts },
          'records with a known key and different content; first kept',
        );
      return { ...out, rejected };
    } catch (err) {
      metrics.batches.inc({ result: 'error' });
      throw err;
    }
  }
}
