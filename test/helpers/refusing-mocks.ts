/**
 * The GPU and the native addon mocked to fail loudly, for the tests of what a command refuses before
 * any work (bad-input, bad-input-data, fuzz, spec): a command line wrongly accepted stops with
 * GPU_REACHED / NATIVE_REACHED instead of starting real work. A vi.mock factory runs while the
 * module it replaces is first imported, so it loads this file itself (nothing here imports src/):
 *
 *   vi.mock('../../src/gpu/index.js', async (orig) => (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig()));
 *
 * simulatedHardwareGpu is the seam for a command's hardware paths on lavapipe: switched on
 * (`simulated.hardware`), the adapter probed is MOCK_HARDWARE and opening it stops with GPU_REACHED.
 */
export const GPU_REACHED = 'GPU_REACHED: the command got past its checks';
export const NATIVE_REACHED = 'NATIVE_REACHED: the command got past its checks';

/** src/gpu/index.js whose acquireGpu throws GPU_REACHED. */
export function refusingGpu<M extends object>(orig: M): M {
  return {
    ...orig,
    acquireGpu: async () => {
      throw new Error(GPU_REACHED);
    },
    // --device auto takes the (mocked) hardware GPU, so a run that got past its checks stops there.
    probeAdapter: async () => MOCK_HARDWARE,
  };
}

/**
 * A hardware adapter as probeAdapter reports it (src/gpu/adapter.ts AdapterProbe): untuned (no
 * autotune cache entry has its name), with the limits of a WebGPU device that fits every tile.
 */
export const MOCK_HARDWARE = {
  description: 'mocked GPU',
  isSoftware: false,
  f16: false,
  kernels: {
    vendor: 'mock',
    architecture: 'mock',
    device: 'mocked GPU',
    description: 'mocked GPU',
    isSoftware: false,
    limits: {
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupSizeX: 1024,
      maxComputeWorkgroupSizeY: 1024,
      maxComputeWorkgroupStorageSize: 32768,
      maxStorageBufferBindingSize: 2 ** 31,
      maxComputeWorkgroupsPerDimension: 65535,
    },
  },
};

/**
 * What a test on lavapipe simulates (the seam for the hardware paths of a command's checks): with
 * `hardware` set, probeAdapter reports MOCK_HARDWARE and acquireGpu throws GPU_REACHED, so a
 * command whose checks passed stops before any work; unset, the real adapter.
 */
export const simulated: { hardware: boolean } = { hardware: false };

/** src/gpu/index.js switched by `simulated` (vi.mock factory, as refusingGpu). */
export function simulatedHardwareGpu<
  M extends { probeAdapter: () => Promise<unknown>; acquireGpu: (...a: never[]) => Promise<unknown> },
>(orig: M): M {
  return {
    ...orig,
    probeAdapter: async () => (simulated.hardware ? MOCK_HARDWARE : orig.probeAdapter()),
    acquireGpu: async (...a: never[]) => {
      if (simulated.hardware) throw new Error(GPU_REACHED);
      return orig.acquireGpu(...a);
    },
  };
}

/** src/native/binding.js whose loadNative throws NATIVE_REACHED. */
export function refusingNative<M extends object>(orig: M): M {
  return {
    ...orig,
    loadNative: () => {
      throw new Error(NATIVE_REACHED);
    },
  };
}
