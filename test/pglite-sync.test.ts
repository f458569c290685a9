// Embedded PGlite's fsync made real (rater/storage/pglite-sync.ts): without it the pinned build
// never syncs (its fdatasync is a no-op and NODEFS has no fsync), so a commit the rater
// acknowledged could be lost in a power cut. A real database on disk, in this thread.
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteSqlClient } from '../rater/storage/pglite-client.ts';
import { PgliteSync, syncTree } from '../rater/storage/pglite-sync.ts';

/** The files behind the Node fds synced most recently (those still open). */
async function syncedFiles(sync: PgliteSync, last: number): Promise<string[]> {
  const out: string[] = [];
  for (const fd of sync.recent.slice(-last))
    if (fd >= 0) out.push(await readlink(`/proc/self/fd/${fd}`).catch(() => ''));
  return out;
}

/** Files and directories under `dir`, itself included. */
async function countEntries(dir: string): Promise<number> {
  let n = 1;
  for (const e of await readdir(dir, { withFileTypes: true }))
    n += e.isDirectory() ? await countEntries(path.join(dir, e.name)) : e.isFile() ? 1 : 0;
  return n;
}

describe('embedded PGlite on disk: fsync reaches the disk', () => {
  let dir: string;
  let db: PgliteSqlClient;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pglite-sync-'));
    db = await PgliteSqlClient.create(dir);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs what start-up wrote: every file and directory of the new database', async () => {
    // initdb wrote about a thousand files before any fd could be resolved.
    expect(db.sync.startup).toBeGreaterThan(500);
    expect(db.sync.startup).toBeLessThanOrEqual(await countEntries(dir));
  });

  it('syncs the WAL before a COMMIT returns', async () => {
    await db.exec(`CREATE TABLE t (v int8)`);
    const before = db.sync.syncs;
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t SELECT generate_series(1, 1000)`);
    });
    expect(db.sync.syncs).toBeGreaterThan(before);
    const files = await syncedFiles(db.sync, db.sync.syncs - before);
    expect(files.some((f) => f.startsWith(path.join(dir, 'pg_wal') + path.sep))).toBe(true);
  });

  it('syncs once per commit, not per statement', async () => {
    const before = db.sync.syncs;
    await db.transaction(async (tx) => {
      for (let i = 0; i < 20; i++) await tx.query(`INSERT INTO t VALUES ($1)`, [i]);
    });
    // One WAL flush at COMMIT; a WAL segment filling up could add one or two.
    expect(db.sync.syncs - before).toBeGreaterThanOrEqual(1);
    expect(db.sync.syncs - before).toBeLessThanOrEqual(3);
  });
});

describe('a sync that fails', () => {
  it('stops the database’s thread before the COMMIT is acknowledged', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pglite-sync-eio-'));
    // In a child process: the failure ends the thread PGlite runs on, here the main one. The
    // disk is made to fail by fs itself answering EIO once the table exists.
    const client = new URL('../rater/storage/pglite-client.ts', import.meta.url).href;
    const script = `
      import fs from 'node:fs';
      const { PgliteSqlClient } = await import(${JSON.stringify(client)});
      const db = await PgliteSqlClient.create(${JSON.stringify(dir)});
      await db.exec('CREATE TABLE t (v int)');
      const eio = () => { throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }); };
      fs.fdatasyncSync = eio;
      fs.fsyncSync = eio;
      await db.transaction((tx) => tx.query('INSERT INTO t VALUES (1)'));
      console.log('committed');
      process.exit(0);`;
    try {
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) =>
          execFile(
            process.execPath,
            ['--import', 'tsx', '--input-type=module', '-e', script],
            { timeout: 60_000 },
            (err, stdout, stderr) =>
              resolve({
                code: err ? ((err as { code?: number }).code ?? null) : 0,
                stdout,
                stderr,
              }),
          ),
      );
      expect(run.stderr).toContain('the embedded database could not sync its files to disk: EIO');
      expect(run.stdout).not.toContain('committed');
      expect(run.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('embedded PGlite in memory', () => {
  it('has nothing to sync and works as before', async () => {
    const db = await PgliteSqlClient.create('memory://');
    try {
      await db.exec(`CREATE TABLE t (v int8); INSERT INTO t VALUES (1)`);
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM t`)).rows).toEqual([
        { n: 1 },
      ]);
      expect(db.sync.syncs).toBe(0);
      expect(db.sync.startup).toBe(0);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('syncTree', () => {
  it('syncs every file and directory, and counts them', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pglite-sync-tree-'));
    try {
      await mkdir(path.join(root, 'a', 'b'), { recursive: true });
      await writeFile(path.join(root, 'one'), '1');
      await writeFile(path.join(root, 'a', 'two'), '2');
      await writeFile(path.join(root, 'a', 'b', 'three'), '3');
      expect(await syncTree(root)).toBe(6); // 3 files, 3 directories
      expect(await countEntries(root)).toBe(6);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('PgliteSync', () => {
  /** A stand-in for Emscripten's FS: one stream per fd. */
  const fsWith = (streams: Record<number, object>) => ({
    FS: {
      getStream: (fd: number) => streams[fd],
      isDir: (mode: number) => (mode & 0o170000) === 0o040000,
    },
  });

  it('refuses to attach when the imports were never swapped', () => {
    expect(() => new PgliteSync().attach(fsWith({}))).toThrow(/WebAssembly.instantiate/);
  });

  it('reports a failed sync and answers EIO', () => {
    const failures: string[] = [];
    const sync = new PgliteSync((err) => failures.push(err.message));
    sync.hooked = true;
    const fd = openSync(fileURLToPath(import.meta.url), 'r');
    closeSync(fd); // a Node fd that is no longer open: fsync fails with EBADF
    sync.attach(fsWith({ 7: { nfd: fd } }));
    expect(sync.sync(7, true)).toBe(29);
    expect(sync.syncs).toBe(0);
    expect(failures).toEqual([expect.stringMatching(/could not sync its files to disk: EBADF/)]);
  });

  it('syncs a directory through its real path (NODEFS opens no fd for one)', async () => {
    const real = await mkdtemp(path.join(tmpdir(), 'pglite-sync-dir-'));
    try {
      const root = { name: '/', mode: 0o040755, mount: { opts: { root: path.dirname(real) } } } as {
        parent?: unknown;
      } & Record<string, unknown>;
      root.parent = root;
      const node = { name: path.basename(real), mode: 0o040755, parent: root, mount: root.mount };
      const failures: Error[] = [];
      const sync = new PgliteSync((err) => failures.push(err));
      sync.hooked = true;
      sync.attach(fsWith({ 3: { node } }));
      expect(sync.sync(3, false)).toBe(0);
      expect(sync.syncs).toBe(1);
      // The same node under a directory that is gone: the open fails, EIO.
      const gone = { ...node, name: 'no-such-dir' };
      sync.attach(fsWith({ 4: { node: gone } }));
      expect(sync.sync(4, false)).toBe(29);
      expect(failures).toHaveLength(1);
    } finally {
      await rm(real, { recursive: true, force: true });
    }
  });

  it('leaves streams that are not on disk alone', () => {
    const sync = new PgliteSync();
    sync.hooked = true;
    sync.attach(fsWith({ 5: { node: { mode: 0o020000 } } })); // a device, no Node fd
    expect(sync.sync(5, true)).toBe(0);
    expect(sync.sync(6, true)).toBe(0); // no such stream
    expect(sync.syncs).toBe(0);
  });
});
