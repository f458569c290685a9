// Regenerates proto/gen/ from proto/edgemeter/v1/*.proto with protobufjs-cli (static code + typings).
// `node scripts/gen-proto.mjs --out DIR` writes elsewhere; the drift test uses that to check that
// the committed code matches the .proto files.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cliDir = dirname(require.resolve('protobufjs-cli/package.json'));
const outIdx = process.argv.indexOf('--out');
const outDir = outIdx > 0 ? resolve(process.argv[outIdx + 1]) : join(root, 'proto', 'gen');
mkdirSync(outDir, { recursive: true });

const js = join(outDir, 'edgemeter.js');
// --force-number: 64-bit integers are JS numbers; every producer validates values against
// Number.MAX_SAFE_INTEGER before encoding, so no precision is lost.
execFileSync(
  process.execPath,
  [
    join(cliDir, 'bin', 'pbjs'),
    '-t',
    'static-module',
    '-w',
    'es6',
    '--force-number',
    '--no-verify',
    '--no-convert',
    '--no-delimited',
    '--no-beautify',
    '-o',
    js,
    join(root, 'proto', 'edgemeter', 'v1', 'usage.proto'),
    join(root, 'proto', 'edgemeter', 'v1', 'quota.proto'),
  ],
  { stdio: 'inherit' },
);
execFileSync(
  process.execPath,
  [join(cliDir, 'bin', 'pbts'), '-o', join(outDir, 'edgemeter.d.ts'), js],
  {
    stdio: 'inherit',
  },
);
