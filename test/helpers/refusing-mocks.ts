/**
 * The GPU and the native addon mocked to fail loudly, for the tests of what a command refuses before
 * any work (bad-input, bad-input-data, fuzz, spec): a command line wrongly accepted stops with
 * GPU_REACHED / NATIVE_REACHED instead of starting real work. A vi.mock factory runs while the
 * module it replaces is first imported, so it loads this file itself (nothing here imports src/):
 *
 *   vi.mock('../../src/gpu/index.js', async (orig) => (await import('../helpers/refusing-mocks.js')).refusingGpu(await orig()));
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
    probeAdapter: async () => ({ description: 'mocked GPU', isSoftware: false }),
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
