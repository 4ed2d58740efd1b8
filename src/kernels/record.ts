/**
 * What a GPU run's kernels compute with where that sets the sums' order, as results and
 * checkpoints record it (src/util/ab-env.ts bnSetting): src/cli/device.ts gpuKernelsOf takes it
 * from the probed adapter before any work (kernelsRecord, whose reading of the tuned tiles the
 * run's Gpu then computes with), a running search from its Gpu (kernelsRecordOf).
 */
import type { KernelAdapter } from '../gpu/adapter.js';
import type { Gpu } from '../gpu/gpu.js';
import type { BnSetting } from '../util/ab-env.js';
import { bnRecord } from './batchnorm.js';
import { defaultConvCore } from './conv2d-gemm.js';
import { adapterKeyOf, tilesRecord, tilesRecordOf } from './matmul-tiles.js';

/**
 * The adapter kind and bnRecord, and on a hardware adapter its identity (the autotune cache's
 * key: another GPU or driver may round the same kernels otherwise), the convolution core
 * (WGNAS_CONV_CORE: the tiled GEMMs and the depthwise programs' weight gradient sum in the core's
 * order) and the tuned tiles (matmul-tiles.ts tilesRecord: where split-K cuts). A software
 * adapter runs the broadcast GEMMs and conv2d_depthwise.wgsl whatever the core (conv2d.ts
 * depthwiseByProgram) and splits no matmul: none of those recorded. Before the run's Gpu opens:
 * the Gpu opened on this adapter afterwards computes with the tiles recorded here.
 */
export function kernelsRecord(adapter: KernelAdapter): BnSetting {
  return withTiles(adapter, () => tilesRecord(adapter));
}

/** kernelsRecord of a running Gpu, with the tiles it computes with (tilesRecordOf). */
export function kernelsRecordOf(gpu: Gpu): BnSetting {
  return withTiles(gpu.adapter, () => tilesRecordOf(gpu));
}

function withTiles(adapter: KernelAdapter, tiles: () => string): BnSetting {
  if (adapter.isSoftware) return { adapter: 'software', ...bnRecord(adapter) };
  return {
    adapter: 'hardware',
    identity: adapterKeyOf(adapter),
    ...bnRecord(adapter),
    core: defaultConvCore(),
    tiles: tiles(),
  };
}
