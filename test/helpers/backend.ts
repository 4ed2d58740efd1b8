/**
 * Backends for the tests. `gpuBackend()`: the WGSL kernels on the shared test GPU (lavapipe on a
 * machine without one): for tests of the kernels and of what runs them. `cpuTestBackend()`: the
 * native CPU backend. `methodBackend()`: where tests of search and method logic run - the CPU
 * backend (10-100x faster than lavapipe), or the GPU with WGNAS_TEST_DEVICE=gpu (a machine with a
 * real GPU). Locally a missing adapter or addon skips (null); under CI=true it is a failure.
 */
import { type Backend, cpuBackend, webgpuBackend } from '../../src/backend/index.js';
import { NativeUnavailableError } from '../../src/native/binding.js';
import { NativeDevice } from '../../src/native/device.js';
import type { Gpu } from '../../src/gpu/index.js';
import { testGpu } from './gpu.js';

let gpuCached: Promise<Backend | null> | undefined;
let cpuCached: Backend | null | undefined;

/** The webgpu backend on the shared test Gpu (not disposed: the Gpu lives as long as the worker). */
export function gpuBackend(): Promise<Backend | null> {
  gpuCached ??= testGpu().then((g) => (g ? onGpu(g) : null));
  return gpuCached;
}

/** The CPU backend with 2 threads (shared by a test file; the device lives as long as the worker). */
export function cpuTestBackend(): Backend | null {
  if (cpuCached !== undefined) return cpuCached;
  try {
    cpuCached = cpuBackend(NativeDevice.create({ threads: Number(process.env.WGNAS_TEST_THREADS ?? 2) }));
  } catch (e) {
    if (!(e instanceof NativeUnavailableError) || process.env.CI === 'true') throw e;
    console.warn(`CPU backend tests skipped: ${e.message.split('\n')[0]}`);
    cpuCached = null;
  }
  return cpuCached;
}

/** Where tests of search and method logic run (see the file comment). */
export async function methodBackend(): Promise<Backend | null> {
  return process.env.WGNAS_TEST_DEVICE === 'gpu' ? gpuBackend() : cpuTestBackend();
}

/** Both backends, named, for parity tests (an unavailable one is null; see the file comment). */
export async function bothBackends(): Promise<Array<{ name: 'webgpu' | 'cpu'; backend: Backend | null }>> {
  return [
    { name: 'webgpu', backend: await gpuBackend() },
    { name: 'cpu', backend: cpuTestBackend() },
  ];
}

const onGpuCache = new WeakMap<Gpu, Backend>();

/** The webgpu backend on `gpu` (one per Gpu), for tests that also call the WGSL kernels directly. */
export function onGpu(gpu: Gpu): Backend {
  let b = onGpuCache.get(gpu);
  if (!b) onGpuCache.set(gpu, (b = webgpuBackend(gpu)));
  return b;
}
