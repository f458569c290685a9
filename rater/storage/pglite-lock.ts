// One process per embedded database directory. PostgreSQL guards its data directory with
// postmaster.pid, but PGlite writes -42 there as the PID and checks nothing: two raters started
// on one directory both opened it and wrote (tried: each inserted a row, and the second saw the
// first's), each with its own buffer pool and WAL position, which corrupts the database.
//
// Node has no advisory file lock of its own. LevelDB takes one (fcntl F_SETLK on its LOCK file)
// that the kernel drops when the process ends, however it ends: a rater killed with SIGKILL
// leaves no stale lock and no timeout to wait out before it can be restarted. A LevelDB of ours
// beside the data directory, in <dataDir>.lock, holds it; nothing is ever written to it. (Not
// inside: PGlite refuses to create a database in a directory that is not empty.) LevelDB also
// refuses a second open of the same directory from within one process.
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { isLevelLocked } from '../../common/errors.ts';
import { StorageError } from './errors.ts';

/** Where the lock of `dataDir` lives: beside it, `<dataDir>.lock`. */
export const lockPath = (dataDir: string): string => `${path.resolve(dataDir)}.lock`;

/**
 * Takes the directory's lock, or throws DB_UNAVAILABLE when another holder has it. A database in
 * memory (`memory://`) has nothing to lock.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  if (dataDir.startsWith('memory://')) return async () => {};
  const db = new ClassicLevel(lockPath(dataDir), { createIfMissing: true });
  try {
    await db.open();
  } catch (e) {
    if (!isLevelLocked(e)) throw e;
    throw new StorageError(
      'DB_UNAVAILABLE',
      `the embedded database ${dataDir} is already open, in another process or elsewhere in ` +
        'this one: one process per directory. Stop the other rater (or demo) first; to run ' +
        'several raters, use a PostgreSQL server',
      { cause: e },
    );
  }
  let released: Promise<void> | undefined;
  return () => (released ??= db.close());
}
