// Databases and records for the storage tests: every behavioural test runs on each target.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { recordKey, type UsageRecord } from '../../common/usage.ts';
import { contentHash } from '../../rater/storage/fingerprint.ts';
import type { StoredRecordInput } from '../../rater/storage/store.ts';
import { freshPostgresDatabase, hasPostgres } from './services.ts';

export interface DbTarget {
  name: string;
  driver: 'pg' | 'pglite';
  available: boolean;
  /** A fresh, empty database: its EDGEMETER_DB-style URL and how to remove it. */
  create(): Promise<{ url: string; cleanup: () => Promise<void> }>;
}

export const dbTargets: DbTarget[] = [
  {
    name: 'embedded PGlite + TimescaleDB',
    driver: 'pglite',
    available: true,
    async create() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'edgemeter-store-'));
      return {
        url: `embedded:${dir}`,
        cleanup: () => fs.rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'PostgreSQL server',
    driver: 'pg',
    available: hasPostgres,
    async create() {
      const db = await freshPostgresDatabase();
      return { url: db.url, cleanup: db.drop };
    },
  },
];

/** A validated record with its key and fingerprint, as the ingest layer hands it to the store. */
export function rec(
  deviceId: string,
  seq: number,
  fields: Partial<Omit<UsageRecord, 'deviceId' | 'seq'>> = {},
): StoredRecordInput {
  const r: UsageRecord = {
    deviceId,
    seq,
    endMs: Date.UTC(2024, 4, 1, 10, 1),
    up: 100,
    down: 1000,
    meters: {},
    dims: {},
    receivedMs: Date.UTC(2024, 4, 1, 10, 2),
    ...fields,
  };
  return { ...r, key: recordKey(r), contentHash: contentHash(r) };
}

export const utc = (iso: string): number => Date.parse(iso);

/** Arrays with NULL elements, and what both drivers give for them (pg's conventions). */
export const ARRAYS_WITH_NULLS = `SELECT ARRAY['a', NULL, 'NULL', 'b,c', 'd"e', '']::text[] AS t,
  ARRAY[1, NULL, 9007199254740993]::int8[] AS i, ARRAY[1.5, NULL]::numeric[] AS n,
  ARRAY[NULL, '{"a": 1}']::jsonb[] AS j, ARRAY['2024-01-01T00:00Z', NULL]::timestamptz[] AS ts,
  ARRAY[[1, 2], [3, NULL]]::int4[] AS m, ARRAY[true, NULL]::bool[] AS b`;
export const ARRAYS_WITH_NULLS_ROW = {
  t: ['a', null, 'NULL', 'b,c', 'd"e', ''],
  i: ['1', null, '9007199254740993'],
  n: ['1.5', null],
  j: [null, { a: 1 }],
  ts: [new Date('2024-01-01T00:00:00Z'), null],
  m: [
    [1, 2],
    [3, null],
  ],
  b: [true, null],
};
