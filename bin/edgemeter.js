#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci` alone leaves a working
// `edgemeter` command: there is no build step to forget and no stale output to run.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
