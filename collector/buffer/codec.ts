// How the buffer lays out its data in one LevelDB database. All keys are strings:
//   o:<16 hex digits>   outbox entry (value: 4-byte big-endian CRC32, then a protobuf UsageRecord)
//   d:<16 hex digits>   dead letter (value: JSON, see dead-letters.ts)
//   q:<16 hex digits>   quarantined outbox entry (same JSON layout as a dead letter)
//   m:<name>            meta values (sequence high-water marks, decimal strings)
// Fixed-width lower-case hex makes lexicographic key order equal numeric sequence order, which is
// what lets the forwarder read the outbox in order with a plain `gt:` range.
import zlib from 'node:zlib';

export const OUTBOX_PREFIX = 'o:';
export const DEAD_LETTER_PREFIX = 'd:';
export const META_OUTBOX_NEXT = 'm:outbox-next';
export const META_DEAD_LETTER_NEXT = 'm:dead-letter-next';
export const QUARANTINE_PREFIX = 'q:';
export const META_QUARANTINE_NEXT = 'm:quarantine-next';

const HEX_DIGITS = 16;
const HEX_RE = /^[0-9a-f]{16}$/;

/** A `put`/`del` operation for one atomic LevelDB batch. */
export type BatchOp = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

/** Range options covering every key that starts with `prefix` (':' + 1 is ';'). */
export function prefixRange(prefix: string): { gte: string; lt: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

export function seqKey(prefix: string, seq: number): string {
  return prefix + seq.toString(16).padStart(HEX_DIGITS, '0');
}

/** The sequence number in a key, or undefined when the key is not one this module wrote. */
export function parseSeqKey(prefix: string, key: string): number | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const hex = key.slice(prefix.length);
  if (!HEX_RE.test(hex)) return undefined;
  const seq = Number.parseInt(hex, 16);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** Prepends the CRC32 of `body`, so that a torn or bit-flipped value is detected on read. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(zlib.crc32(body) >>> 0, 0);
  out.set(body, 4);
  return out;
}

/** The body of a framed value, or undefined when it is too short or its checksum is wrong. */
export function unframe(value: Buffer): Buffer | undefined {
  if (value.length < 4) return undefined;
  const body = value.subarray(4);
  return zlib.crc32(body) >>> 0 === value.readUInt32BE(0) ? body : undefined;
}

/** Why `unframe` refused a value, for the quarantine's reason. */
export function frameProblem(value: Buffer): string {
  if (value.length < 4) return `the value is ${value.length} bytes, too short to hold a checksum`;
  const stored = value.readUInt32BE(0);
  const computed = zlib.crc32(value.subarray(4)) >>> 0;
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  return `CRC32 mismatch: stored ${hex(stored)}, computed ${hex(computed)} over ${value.length - 4} bytes`;
}

/** Record bytes an outbox value accounts for against `maxBytes` (the body, not the checksum). */
export function bodyLength(value: Buffer): number {
  return Math.max(0, value.length - 4);
}

/** Parses a decimal meta value; anything unreadable counts as absent. */
export function parseMetaNumber(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.toString('utf8'));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
