// SeqSet (the outbox's live sequence numbers as ranges) against a plain Set as the model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeqSet } from '../collector/buffer/seq-set.ts';

type Op =
  { kind: 'append'; n: number } | { kind: 'delete'; seq: number } | { kind: 'add'; seq: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('delete' as const), seq: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant('add' as const), seq: fc.integer({ min: 0, max: 200 }) }),
);

describe('SeqSet', () => {
  it('behaves like a set of integers', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const set = new SeqSet();
        const model = new Set<number>();
        let next = 1;
        for (const o of ops) {
          if (o.kind === 'append') {
            set.addRange(next, next + o.n); // fresh numbers above everything, as commits add
            for (let i = 0; i < o.n; i++) model.add(next + i);
            next += o.n;
          } else if (o.kind === 'delete') {
            expect(set.delete(o.seq)).toBe(model.delete(o.seq));
          } else {
            set.add(o.seq); // as a failed ack restores
            model.add(o.seq);
            next = Math.max(next, o.seq + 1);
          }
          const sorted = [...model].sort((a, b) => a - b);
          expect(set.size).toBe(model.size);
          expect(set.min).toBe(sorted[0]);
          expect(set.max).toBe(sorted.at(-1));
        }
        for (let s = 0; s <= next + 1; s++) expect(set.has(s)).toBe(model.has(s));
      }),
      { numRuns: 300 },
    );
  });
});
