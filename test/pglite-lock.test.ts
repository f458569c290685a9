// One process per embedded database directory (rater/storage/pglite-lock.ts): PGlite itself
// checks nothing, and two raters on one directory would both write to it. Real databases on
// disk; the other holder is a real child process where it matters.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../rater/storage/open.ts';
import { PgliteSqlClient } from '../rater/storage/pglite-client.ts';
import { lockPath } from '../rater/storage/pglite-lock.ts';
import { PgliteThreadClient } from '../rater/storage/pglite-thread.ts';
import type { SqlClient } from '../rater/storage/sql.ts';

const IN_USE =
  /the embedded database .* is already open, in another process or elsewhere in this one: one process per directory/;

let dirs: string[] = [];
const open: SqlClient[] = [];
async function dataDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'pglite-lock-'));
  dirs.push(d);
  return path.join(d, 'db');
}
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

describe('one process per embedded database directory', () => {
  for (const [name, create] of [
    ['its own thread', (dir: string) => PgliteThreadClient.create(dir)],
    ['the caller’s thread', (dir: string) => PgliteSqlClient.create(dir)],
  ] as const)
    it(`refuses a second open while the first holds it, then opens once it closed (${name})`, async () => {
      const dir = await dataDir();
      const first = await create(dir);
      open.push(first);
      await first.exec(`CREATE TABLE t (v int); INSERT INTO t VALUES (1)`);
      for (const again of [PgliteThreadClient.create, PgliteSqlClient.create])
        await expect(again(dir)).rejects.toMatchObject({
          code: 'DB_UNAVAILABLE',
          message: expect.stringMatching(IN_USE),
        });
      await first.close();
      const second = await create(dir);
      open.push(second);
      expect((await second.query<{ v: number }>(`SELECT v FROM t`)).rows).toEqual([{ v: 1 }]);
    }, 60_000);

  it('refuses a rater while another process has the directory, and opens at once after that process is killed', async () => {
    const dir = await dataDir();
    const client = new URL('../rater/storage/pglite-thread.ts', import.meta.url).href;
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { PgliteThreadClient } = await import(${JSON.stringify(client)});
         const db = await PgliteThreadClient.create(${JSON.stringify(dir)});
         await db.exec('CREATE TABLE t (v int); INSERT INTO t VALUES (7)');
         console.log('holding');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (b: Buffer) => b.toString().includes('holding') && resolve());
        holder.once('exit', (code) => reject(new Error(`holder exited (${code})`)));
      });
      await expect(openStore(`embedded:${dir}`)).rejects.toMatchObject({
        code: 'DB_UNAVAILABLE',
        message: expect.stringMatching(IN_USE),
      });
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    // The kernel dropped the lock with the process: no stale lock to wait out.
    const store = await openStore(`embedded:${dir}`);
    try {
      expect((await store.sql.query<{ v: number }>(`SELECT v FROM t`)).rows).toEqual([{ v: 7 }]);
    } finally {
      await store.close();
    }
    expect(lockPath(dir)).toBe(`${dir}.lock`);
  }, 90_000);

  it('takes no lock for a database in memory', async () => {
    const a = await PgliteSqlClient.create('memory://');
    open.push(a);
    const b = await PgliteSqlClient.create('memory://');
    open.push(b);
    await a.exec(`CREATE TABLE t (v int)`);
    await b.exec(`CREATE TABLE t (v int)`); // two separate databases
  }, 60_000);
});
