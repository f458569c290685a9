// What bin/edgemeter.js needs to know about the build in dist/ (made by bin/build.js): where it
// is, and whether it was built from exactly the sources in this checkout. The build lists every
// file it read with a hash of its content; the build is current when each of them still hashes
// the same. Contents, not modification times: a copy or a checkout that changes times but not
// contents keeps the build, and an edit that keeps the time and size still invalidates it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const ENTRY = join(DIST, 'edgemeter.js');
/** Written last by the build: `{ inputs: { "relative/path": "sha1", ... } }`. */
export const MANIFEST = join(DIST, 'inputs.json');

export function hashFile(relative) {
  return createHash('sha1')
    .update(readFileSync(join(ROOT, relative)))
    .digest('hex');
}

/** Whether dist/ holds a complete build of the sources as they are now. */
export function buildIsCurrent() {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(MANIFEST, 'utf8')).inputs;
  } catch {
    return false; // no build, or one that did not finish (the manifest is written last)
  }
  if (typeof inputs !== 'object' || inputs === null || Object.keys(inputs).length === 0)
    return false;
  try {
    return Object.entries(inputs).every(([file, hash]) => hashFile(file) === hash);
  } catch {
    return false; // an input was deleted or renamed
  }
}
