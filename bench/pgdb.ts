// A fresh PostgreSQL database per benchmark run (dropped afterwards), on the server named by
// EDGEMETER_BENCH_PG (default: the local one). Shared by rater-ingest, rating and footprint.
import pg from 'pg';

export const PG_ADMIN_URL =
  process.env.EDGEMETER_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDb {
  url: string;
  drop(): Promise<void>;
}

export async function freshDatabase(tag: string): Promise<FreshDb> {
  const name = `edgemeter_bench_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fixed-width text table. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => String(c ?? '').padEnd(widths[i] ?? 0)).join('  '))
    .join('\n');
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}
