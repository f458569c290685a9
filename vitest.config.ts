import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run test files two at a time; each file starts its own servers on free ports.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
