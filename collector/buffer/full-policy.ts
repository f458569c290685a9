// The drop-oldest full-buffer policy (Guarantee 3; `bufferFullPolicy` in types.ts): when a group
// commit would take the outbox past `maxBytes`, the oldest unsent entries are deleted in the same
// synced batch as the records they make room for. Entries already handed out to the forwarder
// are never picked; when too little unsent data is left, only the jobs that fit are admitted.
// The outbox holds the reader at the frontier while it picks (outbox.ts, writeGroup).
import type { ClassicLevel } from 'classic-level';
import { OUTBOX_PREFIX, parseSeqKey, prefixRange, unframe } from './codec.ts';
import { BufferError, errorMessage } from './errors.ts';
import type { Job } from './job.ts';
import type { SeqSet } from './seq-set.ts';
import type { BufferLogger, OutboxOptions } from './types.ts';

/** An unsent entry deleted by drop-oldest. */
export interface Victim {
  seq: number;
  key: string;
  bytes: number;
}

const OUTBOX_RANGE = prefixRange(OUTBOX_PREFIX);

/**
 * The oldest unsent live entries (after `frontier`), until they hold `need` record bytes or
 * none are left. Damaged entries are left for the quarantine.
 */
export async function pickVictims(
  db: ClassicLevel<string, Buffer>,
  live: SeqSet,
  frontier: string,
  need: number,
): Promise<Victim[]> {
  const victims: Victim[] = [];
  let freed = 0;
  try {
    for await (const [key, value] of db.iterator({ gt: frontier, lt: OUTBOX_RANGE.lt })) {
      const seq = parseSeqKey(OUTBOX_PREFIX, key);
      if (seq === undefined || !live.has(seq)) continue;
      const body = unframe(value);
      if (body === undefined) continue;
      victims.push({ seq, key, bytes: body.length });
      freed += body.length;
      if (freed >= need) break;
    }
  } catch (err) {
    throw new BufferError('STORE_FAILED', `outbox read failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return victims;
}

/**
 * Not enough unsent data (the victims free `freed` bytes, less than needed): admits the jobs
 * that fit, in order, and refuses the others (sets their entry in `refused`). Returns the victims
 * the admitted jobs need, the oldest first.
 */
export function admitWhatFits(
  jobs: readonly Job[],
  refused: Array<Error | undefined>,
  victims: readonly Victim[],
  freed: number,
  bytes: number,
  maxBytes: number,
): Victim[] {
  const adding = () => jobs.reduce((n, j, i) => n + (refused[i] ? 0 : j.bytes), 0);
  let room = maxBytes - (bytes - freed);
  jobs.forEach((j, i) => {
    if (refused[i] || j.bytes === 0) return;
    if (j.bytes <= room) room -= j.bytes;
    else
      refused[i] = new BufferError(
        'BUFFER_FULL',
        `buffer full: ${bytes} of ${maxBytes} bytes used, and too little of it unsent to drop`,
      );
  });
  // Then drop only what the admitted jobs need.
  let need = bytes + adding() - maxBytes;
  let keep = 0;
  while (need > 0 && keep < victims.length) need -= (victims[keep++] as Victim).bytes;
  return victims.slice(0, keep);
}

/** Logs the entries dropped by one commit and tells `opts.onDrop`, which must not throw at us. */
export function reportDropped(
  dropped: readonly Victim[],
  bytes: number,
  droppedTotal: number,
  logger: BufferLogger,
  opts: Pick<OutboxOptions, 'onDrop'>,
): void {
  const info = {
    records: dropped.length,
    bytes,
    firstSeq: BigInt((dropped[0] as Victim).seq),
    lastSeq: BigInt((dropped[dropped.length - 1] as Victim).seq),
  };
  logger.warn(
    {
      dropped: info.records,
      droppedBytes: bytes,
      firstSeq: String(info.firstSeq),
      lastSeq: String(info.lastSeq),
      droppedTotal,
    },
    'outbox full: dropped the oldest unsent records (bufferFullPolicy drop-oldest)',
  );
  try {
    opts.onDrop?.(info);
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'onDrop listener threw');
  }
}
