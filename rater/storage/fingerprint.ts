// The content fingerprint that tells a duplicate (same key, same content: a harmless resend)
// from a conflict (same key, different content). Pure.
import { hash } from 'node:crypto';
import { intText } from '../../common/int-text.ts';
import type { UsageRecord } from '../../common/usage.ts';
import { entriesJson, isEmpty, recordDimsKey } from './batch.ts';

// Bump when the serialisation changes; stored hashes of the old form would then read as
// conflicts, so a change needs a migration that recomputes `content_hash`.
const FORMAT = 'edgemeter.usage.v1';

/**
 * Canonical serialisation of the billable content: the JSON text of
 * `[FORMAT, startMs or null, endMs, up, down, meter entries, dim entries]`, entries as
 * `[name, value]` pairs sorted by name in code-unit order (never localeCompare: it depends on
 * the host). Excluded on purpose: `deviceId` and seq/id/boot (they are the key), `receivedMs` and
 * the collector (a resend later or through another collector is the same record). Numbers use
 * JSON's shortest round-trip form, so equal doubles always serialise identically.
 */
export function canonicalContent(r: UsageRecord & { dimsKey?: string }): string {
  // Built from parts, the same text as JSON.stringify of that array: times and byte counts are
  // validated safe integers, whose JSON form is String(n) (intText); the dims' sorted entries are
  // their canonical key (dimsKey), which ingest has usually worked out already.
  const start = r.startMs === undefined || r.startMs === null ? 'null' : intText(r.startMs);
  const meters = isEmpty(r.meters) ? '[]' : entriesJson(r.meters);
  const dims = recordDimsKey(r) || '[]';
  const bytes = `${intText(r.up)},${intText(r.down)}`;
  return `["${FORMAT}",${start},${intText(r.endMs)},${bytes},${meters},${dims}]`;
}

/** sha256 hex of `canonicalContent(r)` (one-shot `crypto.hash`: no Hash object per record). */
export function contentHash(r: UsageRecord & { dimsKey?: string }): string {
  return hash('sha256', canonicalContent(r), 'hex');
}
