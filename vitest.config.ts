import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Set-up (an embedded PGlite + TimescaleDB, its migrations) took over 60 s once, in a fresh-clone
    // CI run on a shared machine running ~3x slower than usual; a hook is not a timing assertion.
    hookTimeout: 180_000,
    // Two cores: run test files two at a time; each file starts its own servers on free ports.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
