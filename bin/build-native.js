#!/usr/bin/env node
// `npm ci` (through the `prepare` script) and `npm run build:native`: builds the one native
// addon, native/malloc-trim (why: its trim.c), with node-gyp, which npm ships and names in
// npm_config_node_gyp. It needs python3, make and a C compiler; where those are missing (a small
// gateway image, say) the build is skipped with a warning and everything else works the same:
// the collector then does not give freed malloc memory back after a burst (docs/operations.md).
// Never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'native', 'malloc-trim');
const ADDON = join(DIR, 'build', 'Release', 'trim.node');

/** node-gyp's script: the one npm runs scripts with, else the one inside npm itself. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    // npm-cli.js is npm/bin/; node-gyp is one of npm's own packages
    process.env.npm_execpath &&
      join(
        dirname(process.env.npm_execpath),
        '..',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    // npm installed beside node (…/bin/node, …/lib/node_modules/npm)
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((c) => c && existsSync(c)) ?? '';
}

if (process.platform !== 'linux') {
  console.log('edgemeter: native/malloc-trim is for Linux (glibc) only; not built');
} else {
  const gyp = nodeGyp();
  // Node's own headers when they were installed with it (official builds ship include/node):
  // node-gyp would otherwise download them, which fails offline.
  const prefix = join(dirname(process.execPath), '..');
  const headers =
    !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))
      ? [`--nodedir=${prefix}`]
      : [];
  const run = gyp
    ? spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${DIR}`, ...headers], {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      })
    : undefined;
  if (run?.status === 0 && existsSync(ADDON)) {
    console.log('edgemeter: built native/malloc-trim');
  } else {
    const why = run
      ? (run.stderr || run.stdout || String(run.error ?? ''))
          .trim()
          .split('\n')
          .slice(-3)
          .join('\n')
      : 'node-gyp not found';
    console.warn(
      'edgemeter: warning: native/malloc-trim was not built (needs python3, make and a C compiler); ' +
        'the collector runs without giving freed malloc memory back after bursts ' +
        `(docs/operations.md#memory).\n${why}`,
    );
  }
}
