// The generated protobuf code must match proto/edgemeter/v1/usage.proto: regenerate into a
// temporary folder and compare byte for byte. Fix a failure with `npm run proto:gen`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('proto/gen', () => {
  it('is in step with the .proto files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgemeter-proto-'));
    try {
      execFileSync(process.execPath, ['scripts/gen-proto.mjs', '--out', dir], { stdio: 'pipe' });
      for (const f of ['edgemeter.js', 'edgemeter.d.ts']) {
        expect(
          readFileSync(join(dir, f), 'utf8'),
          `proto/gen/${f} is stale: run npm run proto:gen`,
        ).toBe(readFileSync(join('proto/gen', f), 'utf8'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
