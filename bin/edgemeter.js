#!/usr/bin/env node
// The `edgemeter` executable. It runs the bundle in dist/ (bin/build.js, run by `npm ci` and
// `npm run build`) when that was built from exactly the sources in this checkout, or when there
// are no sources at all beside it (the container image ships dist/ alone, without tsx). Otherwise
// it runs the TypeScript sources through tsx: a checkout without a build, or with sources edited
// since, still runs what it holds, only with tsx's second V8 isolate (about 80 MB more RSS).
// See bin/build-info.js buildState().
import { pathToFileURL } from 'node:url';
import { ENTRY, buildState } from './build-info.js';

if (buildState() !== 'stale') {
  await import(pathToFileURL(ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
