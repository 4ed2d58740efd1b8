// The bad-input audit's own config (audit.test.ts is not part of `npm test`).
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = join(import.meta.dirname, '..', '..', '..', '..');
export default defineConfig({
  test: {
    root,
    include: ['bench/results/cli-bad-input/**/audit.test.ts'],
    setupFiles: ['test/setup/data-roots.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
