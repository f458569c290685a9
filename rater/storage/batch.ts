// Pure planning for one ingest batch: in-batch dedupe, lock-ordering sorts and the 5-minute
// rollup sums. No I/O, so the SQL side (ingest.ts) stays a handful of array statements.
import { Decimal } from 'decimal.js';
import type { StoredRecordInput } from './store.ts';
import { bucketOf, splitBytes, splitInterval } from './rollup.ts';

// Meter values are JS doubles; their exact decimal sums can need a few hundred digits (1e300 +
// 1e-300), far beyond decimal.js's default 20 significant digits, which would round silently.
const Exact = Decimal.clone({ precision: 1000, rounding: Decimal.ROUND_HALF_EVEN });

/**
 * An exact sum of non-negative doubles. Most meters are small integer counts, so it stays a plain
 * number while every addend and the sum are safe integers (exact, and much faster than a
 * Decimal), and switches to a Decimal on the first fraction or overflow.
 */
export class MeterSum {
  private int = 0;
  private dec: InstanceType<typeof Exact> | null = null;

  add(v: number): void {
    if (this.dec === null && Number.isSafeInteger(v) && Number.isSafeInteger(this.int + v)) {
      this.int += v;
      return;
    }
    this.dec = (this.dec ?? new Exact(this.int)).plus(new Exact(String(v)));
  }

  /** Plain decimal notation (no exponent), exact. */
  toString(): string {
    return this.dec === null ? String(this.int) : this.dec.toFixed();
  }
}

/** Map key for (device, record key); device ids cannot contain NUL, so this is unambiguous. */
export const idOf = (r: { deviceId: string; key: string }): string => `${r.deviceId}\u0000${r.key}`;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function isEmpty(o: object | undefined): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * A byte sum, exact: a number while it is a safe integer (a float sum of two safe integers is
 * exact whenever the true sum is one), a bigint beyond.
 */
export type Bytes = number | bigint;
export function addBytes(a: Bytes, b: Bytes): Bytes {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

/**
 * JSON of an object's `[name, value]` entries sorted by name in code-unit order: the text of
 * `JSON.stringify(Object.entries(o).sort(...))`, without the entry arrays.
 */
export function entriesJson(o: Record<string, string | number>): string {
  const names = Object.keys(o);
  if (names.length > 1) names.sort(); // the default order compares UTF-16 code units
  let out = '[';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    out += `${i === 0 ? '' : ','}[${JSON.stringify(name)},${JSON.stringify(o[name])}]`;
  }
  return `${out}]`;
}

/** Canonical dimension-set key: '' for no dims, else JSON of the entries sorted by name. */
export function dimsKey(dims: Record<string, string> | undefined): string {
  if (dims === undefined || isEmpty(dims)) return '';
  return entriesJson(dims);
}

/** A record's canonical dims key: the one ingest worked out, else computed here. */
export function recordDimsKey(r: { dims: Record<string, string>; dimsKey?: string }): string {
  return r.dimsKey ?? dimsKey(r.dims);
}

/** Whether two dims objects hold the same entries, in any order: no serialisation needed. */
export function sameDims(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  return Object.keys(b).length === n;
}

export interface SplitBatch {
  /** First occurrence of each key, sorted by (deviceId, key): the order rows get locked in. */
  unique: StoredRecordInput[];
  /** Later occurrences of a key already in this batch, in arrival order. */
  repeats: StoredRecordInput[];
}

/** (deviceId, key) order: one string comparison when equal, which most neighbours are. */
function byId(a: StoredRecordInput, b: StoredRecordInput): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.key === b.key ? 0 : a.key < b.key ? -1 : 1;
}

/**
 * First occurrence wins; the rest are judged against whatever ends up stored for the key. A
 * stable sort keeps arrival order among records of one key, so the first of each run is its first
 * occurrence: no map and no joined id string per record.
 */
export function splitBatch(records: readonly StoredRecordInput[]): SplitBatch {
  const sorted = records.slice().sort(byId);
  const unique: StoredRecordInput[] = [];
  let repeats: StoredRecordInput[] = [];
  let prev: StoredRecordInput | undefined;
  for (const r of sorted) {
    if (prev !== undefined && byId(prev, r) === 0) repeats.push(r);
    else unique.push((prev = r));
  }
  if (repeats.length > 1) {
    const arrival = new Map(records.map((r, i) => [r, i]));
    repeats = repeats.sort((a, b) => (arrival.get(a) ?? 0) - (arrival.get(b) ?? 0));
  }
  return { unique, repeats };
}

export interface RollupRow {
  deviceId: string;
  dimsKey: string;
  dims: Record<string, string>;
  bucketMs: number;
  up: Bytes;
  down: Bytes;
  records: number;
  meters: Map<string, MeterSum>;
}

/**
 * Sums the bucket shares of newly stored records per (device, dims, bucket) — one upsert row
 * each, as ON CONFLICT DO UPDATE may not touch a row twice in one statement — sorted by
 * (device, dims key, bucket) so concurrent raters lock rollup rows in the same order.
 */
export function aggregateRollups(records: readonly StoredRecordInput[]): RollupRow[] {
  // Rows by (device, dims key), then by bucket. Records come sorted by device (splitBatch), so
  // the (device, dims) group is looked up once per run of records, not built as a string and
  // hashed for every record.
  const groups = new Map<string, Map<number, RollupRow>>();
  const all: RollupRow[] = [];
  let group: Map<number, RollupRow> | undefined;
  let groupDevice: string | undefined;
  let groupDims: string | undefined;
  const row = (r: StoredRecordInput, dk: string, bucketMs: number): RollupRow => {
    if (group === undefined || r.deviceId !== groupDevice || dk !== groupDims) {
      const id = `${r.deviceId}\u0000${dk}`;
      group = groups.get(id);
      if (!group) groups.set(id, (group = new Map()));
      groupDevice = r.deviceId;
      groupDims = dk;
    }
    let out = group.get(bucketMs);
    if (!out) {
      out = {
        deviceId: r.deviceId,
        dimsKey: dk,
        dims: r.dims ?? {},
        bucketMs,
        up: 0,
        down: 0,
        records: 0,
        meters: new Map(),
      };
      group.set(bucketMs, out);
      all.push(out);
    }
    return out;
  };
  for (const r of records) {
    const dk = recordDimsKey(r);
    const end = bucketOf(r.endMs - 1);
    // Most records fit one bucket: no split. The rest split in numbers where that is exact.
    const shares =
      r.startMs === undefined || r.startMs === null || bucketOf(r.startMs) === end
        ? undefined
        : (splitBytes(r.startMs, r.endMs, r.up, r.down) ??
          splitInterval({
            startMs: r.startMs,
            endMs: r.endMs,
            up: BigInt(r.up),
            down: BigInt(r.down),
          }));
    let last: RollupRow | undefined;
    if (shares === undefined) {
      last = row(r, dk, end);
      last.up = addBytes(last.up, r.up);
      last.down = addBytes(last.down, r.down);
    } else
      for (const s of shares) {
        const b = row(r, dk, s.bucketMs);
        b.up = addBytes(b.up, s.up);
        b.down = addBytes(b.down, s.down);
        if (s.last) last = b;
      }
    // The record count and every meter go to the end bucket (rollup.ts).
    last ??= row(r, dk, end);
    last.records += 1;
    if (isEmpty(r.meters)) continue;
    for (const [name, v] of Object.entries(r.meters)) {
      let sum = last.meters.get(name);
      if (!sum) last.meters.set(name, (sum = new MeterSum()));
      sum.add(v);
    }
  }
  return all.sort(
    (a, b) => cmp(a.deviceId, b.deviceId) || cmp(a.dimsKey, b.dimsKey) || a.bucketMs - b.bucketMs,
  );
}

/**
 * JSON object of exact meter sums, written as plain decimal numbers (never exponent notation or
 * strings) so that jsonb stores them as exact numerics.
 */
export function metersJson(meters: Map<string, MeterSum>): string {
  const parts: string[] = [];
  for (const [name, v] of [...meters].sort(([a], [b]) => cmp(a, b))) {
    parts.push(`${JSON.stringify(name)}:${v.toString()}`);
  }
  return `{${parts.join(',')}}`;
}
