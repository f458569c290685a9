// Ingest of one batch: check every record (the rater trusts no collector), store the valid ones
// in one transaction, and report accepted / duplicates / conflicts / rejected. The answer is
// produced only after the store's transaction committed (Guarantee 1 in PRODUCT.md).
import { errorCode, errorMessage } from '../../common/errors.ts';
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
import { StorageError } from '../storage/errors.ts';
import { dimsKey, sameDims } from '../storage/batch.ts';
import { contentHash } from '../storage/fingerprint.ts';
import type { IngestOutcome, StoredRecordInput, UsageStore } from '../storage/store.ts';

export interface IngestServiceDeps {
  store: UsageStore;
  metrics: RaterMetrics;
  logger: Logger;
  maxBatchRecords: number;
  /**
   * After a batch's transaction committed with new usage: its devices, and the earliest time
   * any of its records touches (quota tracking, rater/quota/tracker.ts).
   */
  onCommitted?: (deviceIds: Set<string>, fromMs: number) => void;
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

/**
 * When the database refused a statement because of the data in it (SQLSTATE class 22, data
 * exception; class 54, program limit exceeded, e.g. an index row too large), the same batch will
 * fail the same way on every retry: the record responsible must be found and rejected, or it
 * blocks its collector's outbox for good. Anything else (unavailable, a bug) is rethrown.
 */
function refusedForContent(err: unknown): { sqlstate: string; detail: string } | undefined {
  if (!(err instanceof StorageError) || err.code !== 'DB_ERROR') return undefined;
  const sqlstate = errorCode(err.cause);
  if (sqlstate === undefined || !/^(22|54)[0-9A-Z]{3}$/.test(sqlstate)) return undefined;
  const detail = errorMessage(err.cause);
  return { sqlstate, detail: detail.length > 300 ? `${detail.slice(0, 300)}…` : detail };
}

interface Indexed {
  index: number;
  record: StoredRecordInput;
}

const NOTHING: IngestOutcome = { accepted: 0, duplicates: 0, conflicts: 0 };

export class IngestService {
  constructor(private readonly deps: IngestServiceDeps) {}

  async ingest(req: IngestBatchRequestMsg): Promise<IngestBatchResponseMsg> {
    const { metrics } = this.deps;
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
    if (batchId.includes('\u0000'))
      throw new RaterError('INVALID_BATCH', 'batch_id must not contain the NUL character (U+0000)');
    if (wire.length > this.deps.maxBatchRecords)
      throw new RaterError(
        'INVALID_BATCH',
        `batch holds ${wire.length} records; the limit is ${this.deps.maxBatchRecords}`,
      );

    const records: Indexed[] = [];
    const rejected: RejectionMsg[] = [];
    // Neighbouring records mostly carry equal dims (a device's, or a fleet's): their canonical
    // key is serialised once per run of equal dims, not per record.
    let dims: Record<string, string> | undefined;
    let dimsText = '';
    wire.forEach((m, index) => {
      const r = fromWire(m);
      const reason = checkUsageRecord(r);
      if (reason) {
        rejected.push({ index, code: 'INVALID_RECORD', reason });
        return;
      }
      // The checked object itself becomes the stored record: an object spread per record cost
      // more than the whole validation.
      const record = r as StoredRecordInput;
      if (dims === undefined || !sameDims(record.dims, dims)) {
        dims = record.dims;
        dimsText = dimsKey(dims);
      }
      record.dimsKey = dimsText;
      record.key = recordKey(record);
      record.contentHash = contentHash(record);
      records.push({ index, record });
    });

    const end = metrics.txSeconds.startTimer();
    try {
      const out = await this.store(collectorId, batchId, records, rejected);
      end();
      if (out.accepted > 0 && this.deps.onCommitted) this.committed(records);
      rejected.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
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

  private committed(items: Indexed[]): void {
    const devices = new Set<string>();
    let fromMs = Infinity;
    for (const { record: r } of items) {
      devices.add(r.deviceId);
      // Rollups are end-inclusive: a record ending on a bucket edge belongs to the bucket before.
      fromMs = Math.min(fromMs, (r.startMs ?? r.endMs) - 1);
    }
    this.deps.onCommitted?.(devices, fromMs);
  }

  /**
   * Stores the records in one transaction. If the database refuses them for their content, the
   * batch is halved until the records responsible stand alone: those are rejected with the
   * database's reason and every other record is stored (in several transactions; each is
   * idempotent, so a resend after a failure part-way is still harmless).
   */
  private async store(
    collectorId: string,
    batchId: string,
    items: Indexed[],
    rejected: RejectionMsg[],
  ): Promise<IngestOutcome> {
    if (items.length === 0) return NOTHING;
    try {
      return await this.deps.store.ingest({
        collectorId,
        batchId,
        records: items.map((i) => i.record),
      });
    } catch (err) {
      const refused = refusedForContent(err);
      if (!refused) throw err;
      if (items.length === 1) {
        const { index, record } = items[0] as Indexed;
        this.deps.logger.error(
          { collectorId, batchId, index, deviceId: record.deviceId, key: record.key, ...refused },
          'the database refused a record; rejected alone',
        );
        rejected.push({
          index,
          code: 'INVALID_RECORD',
          reason: `the database cannot store this record (SQLSTATE ${refused.sqlstate}: ${refused.detail})`,
        });
        return NOTHING;
      }
      const mid = Math.ceil(items.length / 2);
      const a = await this.store(collectorId, batchId, items.slice(0, mid), rejected);
      const b = await this.store(collectorId, batchId, items.slice(mid), rejected);
      return {
        accepted: a.accepted + b.accepted,
        duplicates: a.duplicates + b.duplicates,
        conflicts: a.conflicts + b.conflicts,
      };
    }
  }
}
