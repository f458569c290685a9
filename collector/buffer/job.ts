// What one caller hands the outbox's group commit (group-commit.ts): records to append, dead
// letters and quarantined entries to store, and outbox entries to remove, all in one batch.
import type { DeadLetterInput } from './dead-letters.ts';
import type { DiskNeed } from './disk-guard.ts';

/** One caller's share of a group commit. */
export interface Job {
  values: Buffer[];
  bytes: number;
  deadLetters: readonly DeadLetterInput[];
  quarantine: readonly DeadLetterInput[];
  /** Outbox entries removed in the same batch (quarantined or dead-lettered). */
  remove: Array<{ key: string; seq: number | undefined; bytes: number }>;
}

/** The jobs as the disk guard sees them: whether each adds data, and about how many bytes. */
export function diskNeeds(jobs: readonly Job[]): DiskNeed[] {
  return jobs.map((j) => ({
    adds: j.remove.length === 0,
    bytes: j.bytes + 4 * j.values.length + j.deadLetters.reduce((m, d) => m + size(d), 0),
  }));
}

/** Approximate stored size of a dead letter, for the disk guard. */
function size(d: DeadLetterInput): number {
  return 256 + d.reason.length + (d.payload?.length ?? 0) * 1.34;
}
