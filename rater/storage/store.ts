// The rater's one store. Every driver (PostgreSQL server through `pg`, embedded PGlite with
// TimescaleDB) runs the same schema and the same SQL through the small `SqlClient` below; only
// TimescaleDB-specific calls (hypertables, policies) depend on `capabilities.timescale`.
import type { UsageRecord } from '../../common/usage.ts';

/** A record accepted by ingest validation, with its dedupe key and content fingerprint. */
export interface StoredRecordInput extends UsageRecord {
  /** `recordKey()` of common/usage.ts. */
  key: string;
  /** Hex digest of the record's billable content (`contentHash` in rater/storage/fingerprint.ts). */
  contentHash: string;
  /**
   * `dimsKey(dims)` (rater/storage/batch.ts), when ingest worked it out: the hash, the rollups
   * and the COPY all need the canonical dims, computed once per record (or per run of equal dims).
   */
  dimsKey?: string;
}

export interface IngestBatchInput {
  collectorId: string;
  batchId: string;
  records: StoredRecordInput[];
}

export interface IngestOutcome {
  /** Stored for the first time. */
  accepted: number;
  /** Same key and same content as a stored record (or as an earlier one in this batch). */
  duplicates: number;
  /** Same key, different content: the first stays, the conflict is kept in `usage_conflicts`. */
  conflicts: number;
}

export type UsageStep = '5m' | '1h' | '1d';

export interface UsageQuery {
  deviceId: string;
  fromMs: number;
  toMs: number;
  step: UsageStep;
  /** IANA time zone for `1h`/`1d` bucket boundaries. Default UTC. */
  timeZone?: string;
}

export interface UsageBucket {
  startMs: number;
  up: number;
  down: number;
  records: number;
  /** Sums of the other meters, as exact decimal strings. */
  meters: Record<string, string>;
}

export interface ConflictRow {
  deviceId: string;
  key: string;
  collectorId: string;
  batchId: string;
  detectedAtMs: number;
  existingHash: string;
  incomingHash: string;
  incoming: unknown;
}

export interface SkewedQuery {
  deviceId: string;
  /** Records whose |clock skew| exceeds this many ms. */
  toleranceMs: number;
  /** Interval ends (ts) in [fromMs, toMs); each bound optional. */
  fromMs?: number;
  toMs?: number;
  /** 1…10000. */
  limit: number;
}

/** A stored record whose device clock disagreed with its collector's (migration 003). */
export interface SkewedRecordRow {
  key: string;
  endMs: number;
  startMs?: number;
  receivedMs: number;
  /** ts − received, signed: positive when the device clock was ahead. */
  clockSkewMs: number;
  up: number;
  down: number;
  /** Exact decimal strings. */
  meters: Record<string, string>;
  dims: Record<string, string>;
  collectorId: string;
  batchId: string;
}

export interface UsageStore {
  readonly capabilities: { timescale: boolean; driver: 'pg' | 'pglite' };
  /** Applies pending migrations; safe to call from several raters at once. */
  migrate(): Promise<void>;
  /** One transaction: dedupe, insert, roll up, record conflicts. Resolves after COMMIT. */
  ingest(batch: IngestBatchInput): Promise<IngestOutcome>;
  usageSeries(q: UsageQuery): Promise<UsageBucket[]>;
  listConflicts(deviceId?: string, limit?: number): Promise<ConflictRow[]>;
  /** A device's records beyond a clock-skew tolerance, in ts order. */
  listSkewed(q: SkewedQuery): Promise<SkewedRecordRow[]>;
  /** Throws when the database is unreachable or not migrated. */
  ready(): Promise<void>;
  close(): Promise<void>;
}
