// Property-based fuzzing of the device payload parsers and of plan validation, with fixed seeds
// and a fixed budget (a few seconds in all), so a failure reproduces exactly. The properties:
// nothing throws; every accepted record obeys the record rules the rater enforces again; one bad
// field is rejected with a reason that names that field; a plan document either validates or
// fails with PlanValidationError listing its problems.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_ERRORS } from '../collector/errors.ts';
import {
  parseJsonPayload,
  parseProtobufPayload,
  type ParsedPayload,
} from '../collector/mqtt/payload.ts';
import { fastReport, schemaReport } from '../collector/mqtt/report.ts';
import { rfc3339Ms } from '../collector/mqtt/rfc3339.ts';
import { LIMITS, checkUsageRecord } from '../common/usage.ts';
import { DeviceReport } from '../proto/index.ts';
import { PlanValidationError, parsePlan, validatePlan } from '../rater/rating/plan.ts';

const RUNS = 2000;
const limits = { maxPayloadBytes: 16 * 1024, maxRecordsPerPayload: 50 };
const NOW = Date.UTC(2026, 10, 21, 12);
const DEV = 'fuzz-dev';
const MIN = LIMITS.minTimeMs;
const MAX = LIMITS.maxTimeMs - 1;
const enc = (s: string) => Buffer.from(s, 'utf8');

/** Any UTF-16 code unit, lone surrogates and NUL included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: anyUnit, maxLength: 40 }),
  fc.constantFrom('', '\u0000', '\ud800', 'NaN', 'Infinity', '-Infinity', '__proto__', '1e999'),
);
const nastyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, -1, 0.5, 2 ** 53, 2 ** 53 - 1, 2 ** 64, 1e300, -1e300, Number.MIN_VALUE),
);
/** Any JSON value, weighted towards what breaks parsers. */
const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  nastyNumber.filter(Number.isFinite),
  fc.constant(null),
  fc.dictionary(nastyString, fc.oneof(nastyString, nastyNumber.filter(Number.isFinite)), {
    maxKeys: 40,
  }),
);

/** True when any string in `v`, key or value, holds an unpaired surrogate. */
function hasLoneSurrogate(v: unknown): boolean {
  if (typeof v === 'string') return /\p{Cs}/u.test(v);
  if (typeof v !== 'object' || v === null) return false;
  return Object.entries(v).some(([k, x]) => hasLoneSurrogate(k) || hasLoneSurrogate(x));
}

/** Invariants of any parse result, whatever the input. */
function checkResult(r: ParsedPayload): void {
  expect(r.records.length + r.rejections.length).toBeGreaterThan(0);
  for (const rec of r.records) {
    expect(rec.deviceId).toBe(DEV);
    expect(checkUsageRecord(rec)).toBeNull();
    // Nothing the database cannot store (see payload.ts, textProblem).
    for (const s of [rec.id, rec.boot, ...Object.values(rec.dims)])
      if (s !== undefined) expect(s.includes('\u0000') || /\p{Cs}/u.test(s)).toBe(false);
  }
  for (const rej of r.rejections) {
    expect(Object.keys(COLLECTOR_ERRORS)).toContain(rej.code);
    expect(rej.reason.length).toBeGreaterThan(0);
    expect(rej.reason.length).toBeLessThan(1000);
  }
}

describe('JSON payload parser', () => {
  const parse = (bytes: Buffer) => parseJsonPayload(DEV, bytes, NOW, limits);

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => checkResult(parse(Buffer.from(b)))),
      { numRuns: RUNS, seed: 4_001 },
    );
  });

  it('never throws on arbitrary strings, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 300 }), (s) => checkResult(parse(enc(s)))),
      { numRuns: RUNS, seed: 4_002 },
    );
  });

  it('never throws on arbitrary JSON values; an array is judged element by element', () => {
    fc.assert(
      fc.property(fc.oneof(nastyJson, fc.array(nastyJson, { maxLength: 30 })), (v) => {
        const r = parse(enc(JSON.stringify(v)));
        checkResult(r);
        if (Array.isArray(v) && v.length > 0 && v.length <= limits.maxRecordsPerPayload) {
          // Each element is stored or rejected with its own index, in order (intake.ts relies
          // on this to find the element behind each accepted record).
          expect(r.records.length + r.rejections.length).toBe(v.length);
          const indexes = r.rejections.map((x) => x.index);
          expect(indexes.every((i) => i !== undefined && i >= 0 && i < v.length)).toBe(true);
          expect([...indexes].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(indexes);
          expect(new Set(indexes).size).toBe(indexes.length);
        }
      }),
      { numRuns: RUNS, seed: 4_003 },
    );
  });

  // A valid report, keyed by seq (with or without boot) or by id.
  const validReport = fc
    .record(
      {
        key: fc.oneof(
          fc.record({ seq: fc.maxSafeNat() }),
          fc.record({ seq: fc.nat(), boot: fc.oneof(fc.string({ maxLength: 64 }), fc.integer()) }),
          fc.record({ id: fc.string({ minLength: 1, maxLength: 128 }) }),
        ),
        end: fc.integer({ min: MIN + 3_600_000, max: MAX }),
        span: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }),
        iso: fc.boolean(),
        up: fc.maxSafeNat(),
        down: fc.maxSafeNat(),
        meters: fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9_.:-]{0,20}$/),
          fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
          { maxKeys: 4 },
        ),
        dims: fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9_.:-]{0,20}$/),
          fc.string({ maxLength: 30 }),
          { maxKeys: 4 },
        ),
      },
      { requiredKeys: ['key', 'end', 'iso', 'up', 'down', 'meters', 'dims'] },
    )
    .filter(
      ({ key, dims }) =>
        !('id' in key && key.id.includes('\u0000')) &&
        !('boot' in key && typeof key.boot === 'string' && key.boot.includes('\u0000')) &&
        !Object.values(dims).some((v) => v.includes('\u0000')),
    )
    .map(({ key, end, span, iso, up, down, meters, dims }) => {
      const t = (ms: number) => (iso ? new Date(ms).toISOString() : ms);
      const r: Record<string, unknown> = { ...key, ts: t(end), up, down, meters, dims };
      if (span !== undefined) r.start = t(end - span);
      return r;
    });

  const FIELDS = ['seq', 'id', 'boot', 'ts', 'start', 'up', 'down', 'meters', 'dims'] as const;
  /** How a reason names each field ("meter sms …" names meters, "dim zone …" names dims). */
  const NAMES: Record<(typeof FIELDS)[number], RegExp> = {
    seq: /\bseq\b/,
    id: /\bid\b/,
    boot: /\bboot\b/,
    ts: /\bts\b/,
    start: /\bstart\b/,
    up: /\bup\b/,
    down: /\bdown\b/,
    meters: /\bmeters?\b/,
    dims: /\bdims?\b/,
  };
  const mutation = fc.oneof(
    nastyJson,
    nastyNumber.filter(Number.isFinite),
    fc.constant(undefined), // the field removed
    fc.integer({ min: MIN - 10 ** 12, max: MAX + 10 ** 12 }), // times near and beyond the range
    fc
      .date({ min: new Date(-1e14), max: new Date(1e14), noInvalidDate: true })
      .map((d) => d.toISOString()),
  );

  it('every valid report is accepted as it was written', () => {
    fc.assert(
      fc.property(validReport, (rep) => {
        const r = parse(enc(JSON.stringify(rep)));
        expect(r.rejections).toEqual([]);
        expect(r.records).toHaveLength(1);
        expect(r.records[0]).toMatchObject({ up: rep.up, down: rep.down, dims: rep.dims });
      }),
      { numRuns: RUNS, seed: 4_004 },
    );
  });

  it('a valid report with one field changed is still valid, or rejected naming that field', () => {
    fc.assert(
      fc.property(validReport, fc.constantFrom(...FIELDS), mutation, (rep, field, value) => {
        const changed: Record<string, unknown> = { ...rep };
        if (value === undefined) delete changed[field];
        else changed[field] = value;
        const r = parse(enc(JSON.stringify(changed)));
        checkResult(r);
        if (r.rejections.length > 0) {
          expect(r.rejections).toHaveLength(1);
          expect(r.rejections[0]?.code).toBe('INVALID_RECORD');
          expect(r.rejections[0]?.reason).toMatch(NAMES[field]);
        }
      }),
      { numRuns: RUNS, seed: 4_005 },
    );
  });

  it('an unknown field is rejected by its name', () => {
    const known = new Set<string>(FIELDS);
    fc.assert(
      fc.property(
        validReport,
        nastyString.filter((k) => !known.has(k)),
        nastyJson,
        (rep, key, value) => {
          // Written as text so that even "__proto__" arrives as a real key.
          const text = `${JSON.stringify(rep).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value ?? null)}}`;
          const r = parse(enc(text));
          expect(r.records).toEqual([]);
          const reason = r.rejections[0]?.reason ?? '';
          expect(reason).toMatch(/^unknown field\(s\): /);
          const shown = key.length > 64 ? key.slice(0, 60) : key;
          expect(reason).toContain(shown.replace(/[\ud800-\udbff]$/, ''));
        },
      ),
      { numRuns: RUNS, seed: 4_006 },
    );
  });

  // report.ts reads plainly valid reports without the schema: it must never accept what the
  // schema refuses, never read a field differently, and must actually be taken for the reports
  // devices send (or the collector silently loses the speed it exists for).
  it('the fast path takes every valid report and reads it exactly as the schema does', () => {
    fc.assert(
      fc.property(validReport, (rep) => {
        const doc: unknown = JSON.parse(JSON.stringify(rep));
        const fast = fastReport(doc);
        const schema = schemaReport(doc);
        expect(schema.ok).toBe(true);
        expect(fast).toBeDefined();
        if (schema.ok) expect(fast).toStrictEqual(schema.report);
      }),
      { numRuns: RUNS, seed: 4_008 },
    );
  });

  it('the fast path accepts nothing the schema refuses, and reads what it accepts identically', () => {
    const changedReport = fc
      .tuple(validReport, fc.constantFrom(...FIELDS), mutation)
      .map(([rep, field, value]) => ({ ...rep, [field]: value }));
    fc.assert(
      fc.property(fc.oneof(changedReport, nastyJson), (v) => {
        const doc: unknown = JSON.parse(JSON.stringify(v) ?? 'null');
        const fast = fastReport(doc);
        const schema = schemaReport(doc);
        if (fast === undefined) return;
        expect(schema.ok).toBe(true);
        if (schema.ok) expect(fast).toStrictEqual(schema.report);
      }),
      { numRuns: RUNS * 2, seed: 4_009 },
    );
    // The corners JSON allows and the checks must see: an own "__proto__", 1e999 (Infinity),
    // -0, a meters array, a boot just over the limit, an empty id.
    const base = { seq: 1, ts: '2026-11-21T12:00:00.000Z' };
    for (const odd of [
      '{"seq":1,"ts":1795000000000,"meters":{"__proto__":1}}',
      '{"seq":1,"ts":1795000000000,"dims":{"__proto__":"x"}}',
      '{"seq":1,"ts":1795000000000,"__proto__":{}}',
      '{"seq":1e999,"ts":1795000000000}',
      '{"seq":1,"ts":1795000000000,"meters":{"m":1e999}}',
      '{"seq":1,"ts":1795000000000,"meters":[1]}',
      JSON.stringify({ ...base, boot: 'b'.repeat(65) }),
      JSON.stringify({ ...base, seq: undefined, id: '' }),
      JSON.stringify({ ...base, ts: '2026-02-30T12:00:00.000Z' }),
      JSON.stringify({ ...base, ts: '2026-11-21T24:00:00.000Z' }),
    ]) {
      expect(fastReport(JSON.parse(odd)), odd).toBeUndefined();
      expect(schemaReport(JSON.parse(odd)).ok, odd).toBe(false);
    }
    const negZero = fastReport(JSON.parse('{"seq":-0,"ts":1795000000000}'));
    expect(negZero).toStrictEqual(
      (schemaReport(JSON.parse('{"seq":-0,"ts":1795000000000}')) as { report: unknown }).report,
    );
  });

  const two = (n: number) => String(n).padStart(2, '0');
  /** Any two digits in every field of a date and time: real dates and impossible ones alike. */
  const twoDigits = fc.integer({ min: 0, max: 99 });
  const dateTimeFields = fc.tuple(
    fc.integer({ min: 0, max: 9999 }),
    twoDigits,
    twoDigits,
    twoDigits,
    twoDigits,
    twoDigits,
  );

  it('reads toISOString() times on the fast path exactly as the general RFC 3339 path', () => {
    fc.assert(
      fc.property(dateTimeFields, fc.integer({ min: 0, max: 999 }), ([y, mo, d, h, mi, s], ms) => {
        const date = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}`;
        const time = `${two(h)}:${two(mi)}:${two(s)}`;
        const frac = String(ms).padStart(3, '0');
        // The fast path reads "…T…Z" only; "+00:00" and a longer fraction take the regular
        // expression, and all three name the same instant or are refused alike.
        const fast = rfc3339Ms(`${date}T${time}.${frac}Z`);
        expect(rfc3339Ms(`${date}T${time}.${frac}+00:00`)).toBe(fast);
        expect(rfc3339Ms(`${date}t${time}.${frac}000z`)).toBe(fast);
      }),
      { numRuns: RUNS, seed: 4_010 },
    );
    for (const v of [
      '2026-11-21T12:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
    ])
      expect(rfc3339Ms(v)).toBe(Date.parse(v));
    expect(rfc3339Ms('2023-02-29T00:00:00.000Z')).toBe('calendar');
    expect(rfc3339Ms('2023-02-28T00:00:00,000Z')).toBe('format');
  });

  it('reads RFC 3339 times exactly, and refuses what is not a real date and time', () => {
    fc.assert(
      fc.property(
        dateTimeFields,
        fc.oneof(
          fc.constant('Z'),
          fc
            .tuple(
              fc.constantFrom('+', '-'),
              fc.integer({ min: 0, max: 99 }),
              fc.integer({ min: 0, max: 99 }),
            )
            .map(([s, h, m]) => `${s}${two(h)}:${two(m)}`),
        ),
        fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
        ([y, mo, d, h, mi, s], offset, frac) => {
          const text = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}${frac === undefined ? '' : `.${frac}`}${offset}`;
          const r = parse(enc(JSON.stringify({ seq: 1, ts: text })));
          checkResult(r);
          // Date.parse agrees wherever the date is real; where it is not (2026-02-30, 24:00),
          // Date.parse rolls it over and the parser refuses it instead.
          const real =
            mo >= 1 &&
            mo <= 12 &&
            d >= 1 &&
            d <=
              new Date(Date.UTC(2001, mo, 0)).getUTCDate() +
                (mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 1 : 0) &&
            h <= 23 &&
            mi <= 59 &&
            s <= 59 &&
            (offset === 'Z' || (Number(offset.slice(1, 3)) <= 23 && Number(offset.slice(4)) <= 59));
          if (!real) {
            expect(r.records).toEqual([]);
            expect(r.rejections[0]?.reason).toBe(
              `ts ${JSON.stringify(text)} is not a valid calendar date and time`,
            );
            return;
          }
          const expected = Date.parse(text);
          if (y >= 100) expect(Number.isNaN(expected)).toBe(false); // V8 reads years 0-99 oddly
          const ms = y >= 100 ? expected : undefined;
          if (r.records.length === 1) {
            if (ms !== undefined) expect(r.records[0]?.endMs).toBe(ms);
          } else {
            expect(r.rejections[0]?.reason).toBe(
              'ts must be a time between 2000-01-01 and 2100-01-01',
            );
            if (ms !== undefined) expect(ms < MIN || ms > MAX).toBe(true);
          }
        },
      ),
      { numRuns: RUNS, seed: 4_007 },
    );
  });
});

describe('protobuf payload parser', () => {
  const parse = (bytes: Uint8Array) => parseProtobufPayload(DEV, Buffer.from(bytes), NOW, limits);

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
        const r = parse(b);
        checkResult(r);
        expect(r.records.length + r.rejections.length).toBe(1);
      }),
      { numRuns: RUNS, seed: 5_001 },
    );
  });

  // Messages with arbitrary field values: what a buggy firmware encodes.
  const nastyCount = fc.oneof(
    fc.maxSafeNat(),
    fc.constantFrom(2 ** 53, 2 ** 60, 2 ** 63, 2 ** 64 - 2 ** 11),
  );
  const nastyTime = fc.oneof(
    fc.integer({ min: MIN - 10 ** 12, max: MAX + 10 ** 12 }),
    fc.constantFrom(0, -1, 2 ** 62, -(2 ** 62)),
  );
  const fields = {
    seq: nastyCount,
    id: nastyString,
    boot: nastyString,
    tsMs: nastyTime,
    startMs: nastyTime,
    up: nastyCount,
    down: nastyCount,
    meters: fc.dictionary(nastyString, nastyNumber, { maxKeys: 40 }),
    dims: fc.dictionary(nastyString, nastyString, { maxKeys: 20 }),
  };
  const report = fc.record(fields, { requiredKeys: [] });
  /** Exactly one field, with an arbitrary value. */
  const oneField = fc.oneof(
    ...Object.entries(fields).map(([k, arb]) =>
      (arb as fc.Arbitrary<unknown>).map((v) => ({ [k]: v }) as Record<string, unknown>),
    ),
  );

  it('never throws on arbitrary DeviceReport messages; what it accepts obeys the record rules', () => {
    fc.assert(
      fc.property(report, (m) => {
        const r = parse(DeviceReport.encode(m).finish());
        checkResult(r);
        expect(r.records.length + r.rejections.length).toBe(1);
      }),
      { numRuns: RUNS, seed: 5_002 },
    );
  });

  it('a valid message with one field changed is still valid, or rejected naming that field', () => {
    const valid = fc.record({
      seq: fc.maxSafeNat(),
      tsMs: fc.integer({ min: MIN + 3_600_000, max: MAX }),
      up: fc.maxSafeNat(),
      down: fc.maxSafeNat(),
    });
    const NAMES: Record<string, RegExp> = {
      seq: /\bseq\b/,
      id: /\bid\b/,
      boot: /\bboot\b/,
      tsMs: /\bts(_ms)?\b/,
      startMs: /\bstart\b/,
      up: /\bup\b/,
      down: /\bdown\b/,
      meters: /\bmeters?\b/,
      dims: /\bdims?\b/,
    };
    fc.assert(
      fc.property(valid, oneField, (base, change) => {
        const [field] = Object.keys(change) as Array<keyof typeof change>;
        const m = { ...base, ...change };
        const r = parse(DeviceReport.encode(m).finish());
        checkResult(r);
        if (r.rejections.length === 0) return;
        // A string with an unpaired surrogate cannot be encoded as UTF-8: protobufjs writes
        // bytes that are no valid protobuf string, and the payload is refused as a whole.
        if (hasLoneSurrogate(change)) {
          if (r.rejections[0]?.code === 'INVALID_PROTOBUF') {
            expect(r.rejections[0]?.reason).toMatch(/not valid for encoding utf-8/);
            return;
          }
        }
        expect(r.rejections[0]?.code).toBe('INVALID_RECORD');
        expect(r.rejections[0]?.reason).toMatch(NAMES[field as string] as RegExp);
      }),
      { numRuns: RUNS, seed: 5_003 },
    );
  });
});

describe('record rules', () => {
  it('refuses dims by their exact JSON size in UTF-8, near the limit too, whatever their text', () => {
    // Values that swell in JSON (control characters escape to six bytes, non-ASCII takes two to
    // four) and sizes around the 2048-byte limit, where a bound that skips the exact size could err.
    const unit = fc.oneof(
      fc.constantFrom('a', '"', '\\', '\u0001', '\u001f', 'é', '€', '\ud83d\ude00'),
      anyUnit,
    );
    // Some values all escapes (six bytes a unit): the worst case the size bound must cover.
    const escapes = fc.nat({ max: 256 }).map((n) => '\u0001'.repeat(n));
    const value = fc
      .array(unit, { minLength: 20, maxLength: 256, size: 'max' })
      .map((us) => us.join('').slice(0, 256))
      .chain((v) => fc.oneof(fc.constant(v), escapes));
    const dims = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,63}$/), value, {
      maxKeys: LIMITS.maxDims,
      size: 'max',
    });
    fc.assert(
      fc.property(dims, (d) => {
        const rec = {
          deviceId: DEV,
          seq: 1,
          endMs: NOW,
          up: 1,
          down: 1,
          meters: {},
          dims: d,
          receivedMs: NOW,
        };
        const size = Buffer.byteLength(JSON.stringify(d), 'utf8');
        const reason = checkUsageRecord(rec);
        if (size > LIMITS.dimsMaxBytes)
          expect(reason).toBe(`dims take ${size} bytes as JSON; at most 2048 are accepted`);
        else expect(reason ?? '').not.toMatch(/bytes as JSON/);
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });
});

describe('plan documents', () => {
  const example = parseYaml(readFileSync('examples/plans/iot-standard.yaml', 'utf8')) as unknown;

  /** Runs validatePlan; anything thrown must be a PlanValidationError with problems. */
  function judge(doc: unknown): void {
    try {
      validatePlan(doc);
    } catch (err) {
      expect(err).toBeInstanceOf(PlanValidationError);
      expect((err as PlanValidationError).problems.length).toBeGreaterThan(0);
    }
  }

  /** Every path to a value inside a JSON document. */
  function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
    const out = [at];
    if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
    return out;
  }

  function replaced(doc: unknown, path: Array<string | number>, value: unknown): unknown {
    if (path.length === 0) return value;
    const copy = structuredClone(doc) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    if (value === undefined) delete node[last];
    else node[last] = value;
    return copy;
  }

  it('the example plan validates', () => {
    expect(() => validatePlan(example)).not.toThrow();
  });

  it('arbitrary JSON values never throw anything but PlanValidationError', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.object(), nastyJson), judge), {
      numRuns: RUNS,
      seed: 6_001,
    });
  });

  it('the example plan with one value replaced validates or lists its problems', () => {
    const all = paths(example);
    fc.assert(
      fc.property(
        fc.nat({ max: all.length - 1 }),
        fc.oneof(
          nastyJson,
          fc.constant(undefined),
          fc.constantFrom('0', '-1', '1e999', '1 XB', '99999999999999999999999999 TB', 1e21, -0),
        ),
        (i, value) => judge(replaced(example, all[i] as Array<string | number>, value)),
      ),
      { numRuns: RUNS, seed: 6_002 },
    );
  });

  it('arbitrary text never throws anything but PlanValidationError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          // (Without a leading "%": the yaml package prints a warning for unknown directives.)
          fc.string({ unit: anyUnit, maxLength: 200 }).map((t) => t.replace(/^%+/, '')),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            parsePlan(text);
          } catch (err) {
            expect(err).toBeInstanceOf(PlanValidationError);
          }
        },
      ),
      { numRuns: RUNS, seed: 6_003 },
    );
  });
});
