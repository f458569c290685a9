// The content fingerprint that tells a duplicate (same key, same content: a harmless resend)
// from a conflict (same key, different content). Pure.
import { hash } from 'node:crypto';
import { intText } from '../../common/int-text.ts';
import type { UsageRecord } from '../../common/usage.ts';

// Bump when the serialisation changes; stored hashes of the old form would then read as
// conflicts, so a change needs a migration that recomputes `content_hash`.
const FORMAT = 'edgemeter.usage.v1';

/** Entries sorted by key in code-unit order (never localeCompare: it depends on the host). */
function sortedEntries<V>(o: Record<string, V> | undefined): [string, V][] {
  return Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function isEmpty(o: object | undefined): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * Canonical serialisation of the billable content. Excluded on purpose: `deviceId` and
 * seq/id/boot (they are the key), `receivedMs` and the collector (a resend later or through
 * another collector is the same record). Numbers use JSON's shortest round-trip form, so equal
 * doubles always serialise identically.
 */
export function canonicalContent(r: UsageRecord): string {
  // Most records carry no meters or dims: the same JSON text without building arrays. Times and
  // byte counts are validated safe integers, whose JSON form is String(n).
  if (isEmpty(r.meters) && isEmpty(r.dims)) {
    const start = r.startMs === undefined || r.startMs === null ? 'null' : intText(r.startMs);
    return `["${FORMAT}",${start},${intText(r.endMs)},${intText(r.up)},${intText(r.down)},[],[]]`;
  }
  return JSON.stringify([
    FORMAT,
    r.startMs ?? null,
    r.endMs,
    r.up,
    r.down,
    sortedEntries(r.meters),
    sortedEntries(r.dims),
  ]);
}

/** sha256 hex of `canonicalContent(r)` (one-shot `crypto.hash`: no Hash object per record). */
export function contentHash(r: UsageRecord): string {
  return hash('sha256', canonicalContent(r), 'hex');
}
