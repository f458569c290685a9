// bin/edgemeter.js runs the bundle in dist/ (bin/build.js) only when it was built from exactly the
// sources beside it, or when none of them is there (the container image), and the sources
// through tsx otherwise. Checked on a copy of the checkout, so the repository's own dist/ (which
// other tests run) is never touched.
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../chaos/procs.ts';
import { tempDir } from './helpers/stack.ts';

const exec = promisify(execFile);

describe('bin/edgemeter.js and the build in dist/', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let root: string;
  const run = async (...args: string[]) =>
    (await exec(process.execPath, ['bin/edgemeter.js', ...args], { cwd: root })).stdout;

  beforeAll(async () => {
    dir = await tempDir('edgemeter-build-');
    root = join(dir.path, 'edgemeter');
    await mkdir(root);
    for (const f of ['bin', 'cli', 'common', 'collector', 'rater', 'proto', 'demo', 'examples'])
      await cp(join(REPO, f), join(root, f), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json']) await cp(join(REPO, f), join(root, f));
    await rm(join(root, 'dist'), { recursive: true, force: true });
    await symlink(join(REPO, 'node_modules'), join(root, 'node_modules'));
  });
  afterAll(() => dir?.remove());

  it('builds a bundle that runs the programs like the sources do', async () => {
    const fromSources = await run('config'); // no dist/ yet: through tsx
    await exec(process.execPath, ['bin/build.js'], { cwd: root });
    const manifest = JSON.parse(await readFile(join(root, 'dist/inputs.json'), 'utf8')) as {
      inputs: Record<string, string>;
    };
    expect(Object.keys(manifest.inputs)).toContain('collector/buffer/outbox.ts');
    expect(Object.keys(manifest.inputs)).toContain('bin/build.js');
    expect(await run('config')).toBe(fromSources);
    expect(await run('collector', '--help')).toContain('Usage: edgemeter collector');
  });

  it('runs dist/ only while every input still has the content it was built from', async () => {
    const entry = join(root, 'dist/edgemeter.js');
    const real = await readFile(entry);
    // A stand-in bundle shows which of the two ran (the manifest only hashes the inputs).
    await writeFile(entry, "console.log('from dist');\n");
    try {
      expect(await run('--version')).toBe('from dist\n');
      // Any edit to a source makes the build stale: the sources run, through tsx.
      const logger = join(root, 'common/logger.ts');
      const before = await readFile(logger);
      await appendFile(logger, '\n// edited\n');
      expect(await run('--version')).toBe('0.1.0\n');
      await writeFile(logger, before);
      expect(await run('--version')).toBe('from dist\n');
      // A build that did not finish has no manifest (written last): the sources run.
      const manifest = join(root, 'dist/inputs.json');
      const saved = await readFile(manifest);
      await rm(manifest);
      expect(await run('--version')).toBe('0.1.0\n');
      await writeFile(manifest, saved);
      // An input deleted since the build (renamed or removed) makes it stale too.
      await rm(join(root, 'demo/run.ts'));
      expect(await run('--version')).toBe('0.1.0\n');
    } finally {
      await writeFile(entry, real);
    }
  });

  it('runs dist/ as it is where none of the files it was built from is present', async () => {
    // The container image's layout (deploy/container/Dockerfile): the launcher and dist/, with
    // neither the sources nor bin/build.js.
    const image = join(dir.path, 'image');
    await mkdir(join(image, 'bin'), { recursive: true });
    for (const f of ['package.json', 'bin/edgemeter.js', 'bin/build-info.js'])
      await cp(join(root, f), join(image, f));
    await cp(join(root, 'dist'), join(image, 'dist'), { recursive: true });
    await symlink(join(REPO, 'node_modules'), join(image, 'node_modules'));
    const runImage = async (...args: string[]) =>
      (await exec(process.execPath, ['bin/edgemeter.js', ...args], { cwd: image })).stdout;
    expect(await runImage('collector', '--help')).toContain('Usage: edgemeter collector');
    await writeFile(join(image, 'dist/edgemeter.js'), "console.log('from dist');\n");
    expect(await runImage('--version')).toBe('from dist\n');
    // One of them present, as bin/build.js is in every checkout: the build is stale, and the
    // sources are what runs (here: what fails, as they are not there).
    await cp(join(root, 'bin/build.js'), join(image, 'bin/build.js'));
    await expect(runImage('--version')).rejects.toThrow(/cli\/main\.ts/);
  });
});
