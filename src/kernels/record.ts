/**
 * What a GPU run's kernels compute with where that sets the sums' order, as results and
 * checkpoints record it (src/util/ab-env.ts bnSetting; src/cli/device.ts batchNormOf takes it from
 * the probed adapter before any work, a running search from its Gpu's).
 */
import type { KernelAdapter } from '../gpu/adapter.js';
import type { BnSetting } from '../util/ab-env.js';
import { bnRecord } from './batchnorm.js';
import { defaultConvCore } from './conv2d-gemm.js';
import { tilesRecord } from './matmul-tiles.js';

/**
 * The adapter kind and bnRecord, and on a hardware adapter the convolution core (WGNAS_CONV_CORE:
 * the tiled GEMMs and the depthwise programs' weight gradient sum in the core's order) and the
 * tuned tiles (matmul-tiles.ts tilesRecord: where split-K cuts). A software adapter runs the
 * broadcast GEMMs and conv2d_depthwise.wgsl whatever the core (conv2d.ts depthwiseByProgram) and
 * splits no matmul: neither recorded.
 */
export function kernelsRecord(adapter: KernelAdapter): BnSetting {
  return {
    adapter: adapter.isSoftware ? 'software' : 'hardware',
    ...bnRecord(adapter),
    ...(adapter.isSoftware ? {} : { core: defaultConvCore(), tiles: tilesRecord(adapter) }),
  };
}
