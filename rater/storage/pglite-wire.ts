// The messages between the rater's thread (pglite-thread.ts) and the embedded database's thread
// (pglite-worker.ts).
import type { CopyIn, Statement } from './sql.ts';

/** What the rater's thread asks; `tx` names the transaction a statement belongs to. */
export type Call =
  | { op: 'query'; tx?: number; text: string; params?: unknown[] }
  | { op: 'exec'; tx?: number; text: string }
  | { op: 'copyFrom'; tx: number; copies: readonly CopyIn[] }
  | { op: 'atomic'; copies: readonly CopyIn[]; statements: readonly Statement[] }
  | { op: 'begin'; tx: number }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' };

export type Request = Call & { id: number };

/** id 0 answers the worker's start: 'ready', or the error that stopped it. */
export type Reply = { id: number } & (
  { ok: true; value: unknown } | { ok: false; error: WireError }
);

/** What callers read of a database error (storage/errors.ts, ingest's refusal check). */
const FIELDS = [
  'code',
  'severity',
  'detail',
  'hint',
  'position',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'routine',
] as const;

export interface WireError {
  name: string;
  message: string;
  fields: Partial<Record<(typeof FIELDS)[number], string>>;
}

/** An error as plain data: PGlite's errors hold their query options (blobs) and parameters. */
export function errorToWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const fields: WireError['fields'] = {};
  for (const f of FIELDS) {
    const v = (err as unknown as Record<string, unknown>)[f];
    if (typeof v === 'string') fields[f] = v;
  }
  return { name: err.name, message: err.message, fields };
}

/** The error again, on the other side, with the same message, name and SQLSTATE fields. */
export function errorFromWire(w: WireError): Error {
  const err = Object.assign(new Error(w.message), w.fields);
  err.name = w.name;
  return err;
}
