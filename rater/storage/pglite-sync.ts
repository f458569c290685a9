// Real fsync for embedded PGlite. PostgreSQL makes a commit durable by syncing the WAL before it
// answers COMMIT, and lets a checkpoint discard WAL only after syncing the data files. In the
// pinned PGlite build neither sync reaches the disk: Emscripten's `fdatasync` (the WAL's
// wal_sync_method) returns 0 without doing anything, and `fsync` calls an `fsync` operation that
// its Node file system (NODEFS) does not have. strace over 50 committed transactions: 14,746
// pwrite64, not one fsync or fdatasync. A commit the rater acknowledged, after which the
// collector deletes the records, was only in the OS page cache: a power cut could lose it.
//
// PGlite takes the module's imports from `WebAssembly.instantiate`; while one database starts,
// this swaps the two imports for functions that sync the Node file descriptor behind the
// Emscripten one. PostgreSQL keeps its own order of writes and syncs; they are now real.
//
// A sync that fails stops the database's thread (and with it the rater: pglite-thread.ts
// `onStopped`), like PostgreSQL's PANIC on a failed fsync: data the kernel could not write may
// already be gone from its cache, so no later sync can vouch for it, and only recovery from the
// WAL after a restart can. Answering EIO to PostgreSQL instead was tried: PGlite's PANIC handling
// then spun at full CPU without ever settling the COMMIT.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** WASI's errno for an I/O error (what Emscripten's syscalls return, negated for __syscall_*). */
const EIO = 29;

/** An Emscripten file-system node: NODEFS mounts carry the real directory they map. */
interface FsNode {
  name: string;
  mode: number;
  parent: FsNode;
  mount: { opts?: { root?: string } };
}

/** The part of Emscripten's FS object this needs: a stream by fd, with NODEFS's Node fd. */
interface EmscriptenFs {
  getStream(fd: number): { nfd?: number; node?: FsNode } | null | undefined;
  isDir(mode: number): boolean;
}

/** The real path of a NODEFS node (NODEFS.realPath, which the module does not export). */
function realPath(node: FsNode): string | undefined {
  const parts: string[] = [];
  let n = node;
  for (; n.parent !== n; n = n.parent) parts.push(n.name);
  const root = n.mount.opts?.root;
  return root === undefined ? undefined : path.join(root, ...parts.reverse());
}

/** Ends the thread PGlite runs on (in a worker, process.exit ends only the worker). */
function stopThread(err: Error): void {
  process.stderr.write(`${err.message}; stopping\n`);
  process.exit(1);
}

export class PgliteSync {
  private fsApi: EmscriptenFs | undefined;
  /** Set by withRealSync once the module's imports were swapped. */
  hooked = false;
  /** Syncs that reached the disk through the hook (tests). */
  syncs = 0;
  /** Entries syncStartup synced once the database was up (tests). */
  startup = 0;
  /** The Node file descriptors synced (-1: a directory), most recent last, at most 64 (tests). */
  readonly recent: number[] = [];

  /** `onFailure` is called when a sync fails; by default it ends the thread (see above). */
  constructor(private readonly onFailure: (err: Error) => void = stopThread) {}

  /** Starts resolving fds once the module's FS exists (after PGlite.create). */
  attach(module: unknown): void {
    // A build that no longer starts through WebAssembly.instantiate would be silently unsynced.
    if (!this.hooked)
      throw new Error(
        'PGlite started without passing its imports through WebAssembly.instantiate: cannot make its fsync real',
      );
    const fsApi = (module as { FS?: EmscriptenFs } | undefined)?.FS;
    if (typeof fsApi?.getStream !== 'function')
      throw new Error('this PGlite build exposes no FS.getStream: cannot make its fsync real');
    this.fsApi = fsApi;
  }

  /** 0, or EIO when the sync failed (after onFailure). Before attach() there is nothing to resolve. */
  sync(fd: number, dataOnly: boolean): number {
    const stream = this.fsApi?.getStream(fd);
    if (!stream) return 0;
    try {
      if (typeof stream.nfd === 'number') {
        if (dataOnly) fs.fdatasyncSync(stream.nfd);
        else fs.fsyncSync(stream.nfd);
        this.note(stream.nfd);
        return 0;
      }
      // NODEFS opens no Node fd for a directory; PostgreSQL syncs one after a rename (a new WAL
      // segment, a recycled one) so that the new name survives a power cut.
      const dir =
        stream.node && this.fsApi?.isDir(stream.node.mode) ? realPath(stream.node) : undefined;
      if (dir === undefined) return 0; // not on disk (memory://, the COPY blob device)
      const dfd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
      this.note(-1);
      return 0;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.onFailure(new Error(`the embedded database could not sync its files to disk: ${why}`));
      return EIO;
    }
  }

  /** Syncs the whole data directory: what start-up wrote before attach() (see syncTree). */
  async syncStartup(dataDir: string): Promise<void> {
    this.startup = await syncTree(dataDir);
  }

  private note(nfd: number): void {
    this.syncs++;
    this.recent.push(nfd);
    if (this.recent.length > 64) this.recent.shift();
  }
}

/**
 * fsyncs every file and directory under `dir`, children before their directory. PostgreSQL's own
 * start-up syncs (SyncDataDirectory after a crash, the end-of-recovery checkpoint) run before
 * attach() can resolve a file descriptor, so they reached nothing; this stands in for them once
 * the database is up. Returns how many entries it synced.
 */
export async function syncTree(dir: string): Promise<number> {
  let n = 0;
  const syncPath = async (p: string) => {
    const h = await fsp.open(p, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    n++;
  };
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) await syncPath(p);
    }
    await syncPath(d);
  };
  await walk(dir);
  return n;
}

type Imports = Record<string, Record<string, unknown>>;
type Instantiate = (source: unknown, imports?: Imports) => Promise<unknown>;
/** Node's WebAssembly global (this project's TypeScript libs leave it undeclared). */
const wasm = (globalThis as unknown as { WebAssembly: { instantiate: Instantiate } }).WebAssembly;

let starting: Promise<unknown> = Promise.resolve();

/**
 * Runs `create` (PGlite.create) with the module's fdatasync and fsync imports going to `sync`.
 * Creates in one thread run one at a time, so each module gets its own PgliteSync.
 */
export function withRealSync<T>(sync: PgliteSync, create: () => Promise<T>): Promise<T> {
  const run = starting.then(async () => {
    const original = wasm.instantiate;
    wasm.instantiate = (source, imports) => {
      // env and wasi_snapshot_preview1 are the same object in Emscripten's output.
      const env = imports?.env;
      const wasi = imports?.wasi_snapshot_preview1;
      // Both or neither: real WAL syncs with unsynced checkpoints would still lose data.
      if (typeof env?.__syscall_fdatasync === 'function' && typeof wasi?.fd_sync === 'function') {
        env.__syscall_fdatasync = (fd: number) => -sync.sync(fd, true);
        wasi.fd_sync = (fd: number) => sync.sync(fd, false);
        sync.hooked = true;
      }
      return original.call(wasm, source, imports);
    };
    try {
      return await create();
    } finally {
      wasm.instantiate = original;
    }
  });
  starting = run.catch(() => undefined);
  return run;
}
