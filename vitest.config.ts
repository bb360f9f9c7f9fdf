import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Fixture images are cached on disk; e2e suites are separate files and run in parallel.
    pool: 'forks',
    maxWorkers: 2,
  },
});
