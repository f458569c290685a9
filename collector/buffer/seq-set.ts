// The set of live outbox sequence numbers, kept as sorted, disjoint, non-adjacent half-open
// ranges [start, end). Appends add contiguous runs at the top and acks usually remove from the
// bottom, so the set is normally one or a few ranges however many records are buffered; that is
// what lets the outbox know which keys exist (for honest counters and `rewind`) without an index
// per record. Out-of-order acks split ranges; memory grows only with the number of holes.

export class SeqSet {
  private readonly ranges: Array<[start: number, end: number]> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get min(): number | undefined {
    return this.ranges[0]?.[0];
  }

  get max(): number | undefined {
    const last = this.ranges[this.ranges.length - 1];
    return last === undefined ? undefined : last[1] - 1;
  }

  clear(): void {
    this.ranges.length = 0;
    this.count = 0;
  }

  /** Takes the contents of `other` (which is left as it was). */
  replaceWith(other: SeqSet): void {
    this.ranges.length = 0;
    for (const [start, end] of other.ranges) this.ranges.push([start, end]);
    this.count = other.count;
  }

  has(seq: number): boolean {
    const r = this.ranges[this.locate(seq)];
    return r !== undefined && seq < r[1];
  }

  add(seq: number): void {
    if (!this.has(seq)) this.addRange(seq, seq + 1);
  }

  /** Adds [start, end); the caller guarantees none of it is present (fresh sequence numbers). */
  addRange(start: number, end: number): void {
    if (start >= end) return;
    const i = this.locate(start);
    const prev = this.ranges[i];
    const next = this.ranges[i + 1];
    const joinPrev = prev !== undefined && prev[1] === start;
    const joinNext = next !== undefined && next[0] === end;
    if (joinPrev && joinNext) {
      prev[1] = next[1];
      this.ranges.splice(i + 1, 1);
    } else if (joinPrev) prev[1] = end;
    else if (joinNext) next[0] = start;
    else this.ranges.splice(i + 1, 0, [start, end]);
    this.count += end - start;
  }

  /** Removes `seq`; returns whether it was present. */
  delete(seq: number): boolean {
    const i = this.locate(seq);
    const r = this.ranges[i];
    if (r === undefined || seq >= r[1]) return false;
    const [start, end] = r;
    if (start === seq && end === seq + 1) this.ranges.splice(i, 1);
    else if (start === seq) r[0] = seq + 1;
    else if (end === seq + 1) r[1] = seq;
    else {
      r[1] = seq;
      this.ranges.splice(i + 1, 0, [seq + 1, end]);
    }
    this.count--;
    return true;
  }

  /** Index of the last range starting at or before `seq`, or -1. */
  private locate(seq: number): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ranges[mid] as [number, number])[0] <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
