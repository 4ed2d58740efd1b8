import { configDefaults, defineConfig } from 'vitest/config';

// Two projects: `cpu` needs no GPU adapter (`npx vitest run --project cpu` on a machine without
// Vulkan); `gpu` is every file named *.gpu.test.ts (WGSL kernels on Dawn: lavapipe without a GPU).
// `npm test` runs both. A cpu-project file that asks for the test GPU fails naming this rule.
const GPU_TESTS = 'test/**/*.gpu.test.ts';

export default defineConfig({
  test: {
    // One Dawn device per worker; lavapipe is slow, so give GPU tests room.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'cpu',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, GPU_TESTS],
          env: { WGNAS_TEST_PROJECT: 'cpu' },
        },
      },
      { extends: true, test: { name: 'gpu', include: [GPU_TESTS], env: { WGNAS_TEST_PROJECT: 'gpu' } } },
    ],
  },
});
