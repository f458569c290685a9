// PostgreSQL array literals (`{a,b,NULL}`) built directly, for the ingest's unnest() parameters.
// Both drivers accept a literal string where an array parameter is expected. `pg` would build the
// same literal from a JS array, but it runs two regular-expression replaces per element; for
// 2,000-row batches of 20-odd columns that was a visible share of the rater's CPU.

/** A text[] literal; every element quoted, `"` and `\` escaped; null becomes NULL. */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPE, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/** An int8[] (or int4[]) literal of safe integers; null becomes NULL. */
export function intArray(values: ReadonlyArray<number | bigint | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;
