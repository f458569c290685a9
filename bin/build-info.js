// What bin/edgemeter.js needs to know about the build in dist/ (made by bin/build.js): where it
// is, and how it relates to the sources beside it. The build lists every file it read with a
// hash of its content. Contents, not modification times: a copy or a checkout that changes times
// but not contents keeps the build, and an edit that keeps the time and size still invalidates it.
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

/**
 * How dist/ relates to the files beside it:
 * - `current`: a complete build, and every file it was made from is here with the same content
 *   (a built checkout);
 * - `without-sources`: a complete build, and none of the files it was made from is here (the
 *   container image, which ships the bundle and not the sources: there is nothing else to run);
 * - `stale`: anything else: no build, one that did not finish (the manifest is written last), or
 *   one whose inputs were edited, renamed or deleted since, even if only some of them.
 */
export function buildState() {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(MANIFEST, 'utf8')).inputs;
  } catch {
    return 'stale'; // no build, or one that did not finish
  }
  if (typeof inputs !== 'object' || inputs === null || Object.keys(inputs).length === 0)
    return 'stale';
  let present = 0;
  let missing = 0;
  for (const [file, hash] of Object.entries(inputs)) {
    let actual;
    try {
      actual = hashFile(file);
    } catch (err) {
      if (err?.code !== 'ENOENT') return 'stale'; // unreadable: do not trust the build
      missing++;
      continue;
    }
    if (actual !== hash) return 'stale'; // edited since the build
    present++;
  }
  if (missing === 0) return 'current';
  // Some inputs here, some gone (renamed or deleted in a checkout): stale. Only a tree that
  // holds none of them at all runs the bundle as it is.
  return present === 0 ? 'without-sources' : 'stale';
}
