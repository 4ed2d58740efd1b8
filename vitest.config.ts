import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real CIFAR-10 pixels for a clone without ../shared (test/fixtures/cifar10-mini).
    setupFiles: ['test/setup/data-roots.ts'],
    // One Dawn device per worker; lavapipe is slow, so give GPU tests room.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
