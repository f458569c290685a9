// Meter values read back exactly. usage_5m and usage_records keep meters as jsonb numbers
// (exact numerics); selected as jsonb, both drivers would JSON.parse them into doubles. So the
// store selects `meters::text` and reads the numbers as decimal strings itself. Converting each
// meter in SQL instead (jsonb_each + jsonb_object_agg) made a month of 100 devices' rollups
// (864,000 rows) load about 1.5 times slower; this scan costs about what JSON.parse would.
import { StorageError } from './errors.ts';

const DECIMAL_RE = /^-?\d+(\.\d+)?$/;
const NUMBER_OR_STRING_RE = /"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/**
 * `{"calls": 2, "sms": 0.40}` (jsonb's text output) → `{ calls: '2', sms: '0.4' }`. Meter names
 * never hold a quote, a backslash or a comma (LIMITS.meterNameRe), and numeric output never uses
 * an exponent, so a plain scan suffices; anything else takes the general path.
 */
export function parseMetersText(text: string): Record<string, string> {
  if (text === '{}') return {};
  const out: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const keyStart = text.indexOf('"', at);
    if (keyStart < 0) return out;
    const keyEnd = text.indexOf('"', keyStart + 1);
    const key = text.slice(keyStart + 1, keyEnd);
    let valueStart = keyEnd + 2; // past '":'
    while (text.charCodeAt(valueStart) === 32) valueStart++;
    let valueEnd = text.indexOf(',', valueStart);
    if (valueEnd < 0) valueEnd = text.length - 1; // the closing '}'
    const value = text.slice(valueStart, valueEnd);
    if (key.includes('\\') || !DECIMAL_RE.test(value)) return parseGeneral(text);
    out[key] = trimZeros(value);
    at = valueEnd + 1;
  }
}

/** Any JSON object: numbers quoted before parsing, so none passes through a double. */
function parseGeneral(text: string): Record<string, string> {
  const quoted = text.replace(NUMBER_OR_STRING_RE, (token, num: string | undefined) =>
    num === undefined ? token : `"${num}"`,
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(JSON.parse(quoted) as Record<string, unknown>)) {
    if (typeof v !== 'string' || !DECIMAL_RE.test(v))
      throw new StorageError(
        'DB_ERROR',
        `meter ${JSON.stringify(k)} holds ${JSON.stringify(v)}, not a number`,
      );
    out[k] = trimZeros(v);
  }
  return out;
}

/** A numeric sum keeps the larger scale of its terms (0.15 + 0.25 = 0.40): drop the zeros. */
function trimZeros(v: string): string {
  if (v.charCodeAt(v.length - 1) !== 48 /* 0 */ || !v.includes('.')) return v;
  return v.replace(/\.?0+$/, '');
}
