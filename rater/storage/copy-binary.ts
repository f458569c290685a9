// COPY's binary format (PostgreSQL manual, "COPY", Binary Format), for the rows the rater writes
// most: keys and usage records. Against the text format the rater formats no ISO time and escapes
// nothing, and the server parses no timestamp text: 20 % less database time for the same 200,000
// usage_records rows, server-side COPY from a file (bench/README.md, Results).
//
// Only the types those tables use: text, bigint, timestamptz, jsonb. Each value is sent in the
// column type's own binary form, so a column list must match its table's types exactly (binary
// COPY does not convert: an int4 column fed 8 bytes is an error, not a cast).

/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 4_294_967_296;
const JSONB_VERSION = 1;

/** Tuples in COPY's binary format, appended field by field into one growing buffer. */
export class CopyBinaryWriter {
  private buf: Buffer;
  private at = 0;

  /** `sizeHint`: the bytes expected, to start with one allocation. */
  constructor(sizeHint = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint));
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags: no OIDs
    this.buf.writeInt32BE(0, 15); // header extension length
    this.at = 19;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  // Big-endian stores byte by byte: the Buffer.write*BE methods check their arguments on every
  // call, which cost more than the stores (a third of the rater's COPY building, profiled).
  private u32(v: number, at: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  /** Starts a tuple of `fields` values; exactly that many field calls must follow. */
  tuple(fields: number): this {
    this.room(2);
    this.buf[this.at] = fields >>> 8;
    this.buf[this.at + 1] = fields;
    this.at += 2;
    return this;
  }

  null(): this {
    this.room(4);
    this.u32(0xffffffff, this.at); // length -1
    this.at += 4;
    return this;
  }

  /** text: the UTF-8 bytes (the server checks them against its encoding). */
  text(s: string): this {
    this.room(4 + 3 * s.length); // a UTF-16 unit never takes more than 3 UTF-8 bytes
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.u32(n, this.at);
    this.at += 4 + n;
    return this;
  }

  /** bigint, from a safe integer (negative allowed). */
  int8(v: number): this {
    this.room(12);
    this.u32(8, this.at);
    this.int64(v, this.at + 4);
    this.at += 12;
    return this;
  }

  /** timestamptz from Unix milliseconds: microseconds since 2000-01-01 UTC, exact. */
  timestamptz(ms: number): this {
    return this.int8((ms - PG_EPOCH_MS) * 1000);
  }

  /** jsonb: a version byte, then the JSON text (the server parses and validates it). */
  jsonb(json: string): this {
    this.room(5 + 3 * json.length);
    const n = this.buf.write(json, this.at + 5, 'utf8');
    this.u32(n + 1, this.at);
    this.buf[this.at + 4] = JSONB_VERSION;
    this.at += 5 + n;
    return this;
  }

  /**
   * A field encoded beforehand by `encodedText` / `encodedJsonb`: a value every tuple of a batch
   * repeats is encoded once and copied, not re-encoded per tuple.
   */
  encoded(field: Buffer): this {
    const n = field.length;
    this.room(n);
    // Short fields (an id, `{}`) by a loop: cheaper than a native copy call.
    if (n > 64) this.buf.set(field, this.at);
    else for (let i = 0; i < n; i++) this.buf[this.at + i] = field[i] as number;
    this.at += n;
    return this;
  }

  /** The whole COPY data, trailer included. The writer must not be used afterwards. */
  finish(): Buffer {
    this.room(2);
    this.buf[this.at] = 0xff; // -1: no more tuples
    this.buf[this.at + 1] = 0xff;
    this.at += 2;
    return this.buf.subarray(0, this.at);
  }

  // A safe integer as two 32-bit halves: exact for |v| < 2^53, with the sign in the high half.
  private int64(v: number, at: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer`);
    const hi = Math.floor(v / TWO_32);
    this.u32(hi >>> 0, at); // two's complement of a negative high half
    this.u32(v - hi * TWO_32, at + 4);
  }
}

/** A text field, length prefix included, for `CopyBinaryWriter.encoded`. */
export function encodedText(s: string): Buffer {
  const w = new CopyBinaryWriter(19 + 4 + 3 * s.length).text(s).finish();
  return w.subarray(19, w.length - 2); // without the header and the trailer
}

/** A jsonb field, length prefix and version byte included, for `CopyBinaryWriter.encoded`. */
export function encodedJsonb(json: string): Buffer {
  const w = new CopyBinaryWriter(19 + 5 + 3 * json.length).jsonb(json).finish();
  return w.subarray(19, w.length - 2);
}
