/**
 * Shared GPU for a test file. Without an adapter the GPU tests skip locally, but under CI=true
 * that is a failure: CI installs lavapipe so the kernels really run. Only *.gpu.test.ts files (the
 * vitest gpu project) may ask for it.
 */
import { acquireGpu, type Gpu, NoAdapterError } from '../../src/gpu/index.js';

let cached: Promise<Gpu | null> | undefined;

export function testGpu(): Promise<Gpu | null> {
  // The cpu project must run where Dawn has no adapter: a file there that needs one belongs in the
  // gpu project (WGNAS_TEST_DEVICE=gpu moves the method tests onto the GPU on purpose).
  if (process.env.WGNAS_TEST_PROJECT === 'cpu' && process.env.WGNAS_TEST_DEVICE !== 'gpu') {
    throw new Error('this test file needs a GPU adapter: name it *.gpu.test.ts (the vitest gpu project)');
  }
  cached ??= acquireGpu().catch((e) => {
    if (e instanceof NoAdapterError && process.env.CI !== 'true') {
      console.warn(`GPU tests skipped: ${e.message.split('\n')[0]}`);
      return null;
    }
    throw e;
  });
  return cached;
}

/**
 * Relative tolerance for a GPU result checked against values recorded on lavapipe, or against the
 * CPU / TypeScript reference where a test pins bits on a software adapter: a hardware GPU takes
 * other paths for the same op (tiles, convolution core, split-K: chosen by isSoftware) and contracts
 * a * b + c into FMAs, which moves f32 results by ~1e-7 relative per op; 1e-5 lets such a legitimate
 * reordering through a network's few dozen ops, not a wrong kernel.
 */
export const HARDWARE_RTOL = 1e-5;

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-4, rtol = 1e-4, label = '' }: { atol?: number; rtol?: number; label?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(err <= tol) && (err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = Number.isNaN(err) ? Infinity : err;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} = ${actual[worst]}, expected ${expected[worst]} (|err| ${worstErr} > atol ${atol} + rtol ${rtol})`,
    );
  }
}
