#!/usr/bin/env node
// The `edgemeter` executable. It runs the bundle in dist/ (bin/build.js, run by `npm ci` and
// `npm run build`) when that was built from exactly the sources in this checkout, and the
// TypeScript sources through tsx otherwise: a checkout without a build, or with sources edited
// since, still runs what it holds, only with tsx's second V8 isolate (about 80 MB more RSS).
import { pathToFileURL } from 'node:url';
import { ENTRY, buildIsCurrent } from './build-info.js';

if (buildIsCurrent()) {
  await import(pathToFileURL(ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
