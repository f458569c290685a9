#!/usr/bin/env node
// `npm run build` (and `npm ci`, through the `prepare` script): bundles the TypeScript sources
// into dist/ so that bin/edgemeter.js runs plain JavaScript. Running them through tsx costs a
// second V8 isolate (tsx's loader thread) in every process: measured 189 MB RSS for an idle
// collector through tsx, 92 MB from the build.
//
// esbuild, not tsc: it is what tsx already uses to transform each file (so the code that runs
// is transformed the same way), it is a runtime dependency (so `npm ci --omit=dev` on a gateway
// builds too, where TypeScript is not installed), and a bundle takes well under a second.
// Packages stay outside the bundle; the programs' own modules are split into chunks, so the
// collector does not load the rater's code and the rater not the collector's.
//
// dist/inputs.json is removed first and written last, with a hash of every file the bundle was
// made from: bin/edgemeter.js runs dist/ only when that file exists and every hash still
// matches, and the sources through tsx otherwise.
import { rmSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { build } from 'esbuild';
import { DIST, MANIFEST, ROOT, hashFile } from './build-info.js';

rmSync(MANIFEST, { force: true });
rmSync(DIST, { recursive: true, force: true });

const result = await build({
  absWorkingDir: ROOT,
  // The embedded database's thread is its own entry: rater/storage/pglite-thread.ts starts
  // dist/pglite-worker.js, beside the chunks.
  entryPoints: { edgemeter: 'cli/main.ts', 'pglite-worker': 'rater/storage/pglite-worker.ts' },
  outdir: DIST,
  bundle: true,
  splitting: true,
  // Chunks beside the entry, one folder below the root like the sources' own folders, so
  // paths a module finds from its import.meta.url (demo/run.ts: ../examples) stay right.
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Stack traces point into the bundle, whose code keeps the sources' names and layout.
  minify: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// Build settings change the output as well as the sources do.
const files = [...Object.keys(result.metafile.inputs), 'bin/build.js', 'tsconfig.json'].map((f) =>
  relative(ROOT, `${ROOT}/${f}`),
);
const inputs = Object.fromEntries(files.sort().map((f) => [f, hashFile(f)]));
writeFileSync(MANIFEST, JSON.stringify({ inputs }, null, 1) + '\n');
console.log(`edgemeter: built dist/ from ${files.length} files`);
