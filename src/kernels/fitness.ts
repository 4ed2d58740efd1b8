/**
 * AutoSpace fitness mixing (fitness.wgsl). Per layer, K candidate cells produce same-shape outputs
 * o_1..o_K, mixed by softmax fitness weights: p = softmax(φ), y = Σ_k p_k·o_k. Backward:
 * dL/do_k = p_k·dL/dy, g_k = Σ o_k ⊙ dL/dy, dL/dφ_i = p_i (g_i − Σ_k p_k g_k).
 * Every weight is read from the probs tensor on the GPU, so a training step needs no readback.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import {
  assertDistinct as assertDistinctBy,
  assertMixture,
  assertVector,
  checkFitnessOpts as checkOpts,
  checkMixAccumulate,
  checkMixBackward,
  checkMixBackwardMany,
} from './params.js';
import { MIX_FINAL_FILE, MIX_MANY_MAX, mixBackwardFile, mixForwardFile } from './fitness-many.js';
import { REDUCE_PARAMS, dotPartials } from './reduce.js';
import {
  fitnessGradCpu,
  fitnessSoftmaxCpu,
  mixAccumulateCpu,
  mixBackwardCpu,
  mixBackwardManyCpu,
  mixForwardCpu,
  mixtureCpu,
} from './reference/fitness.js';

export { fitnessGradCpu, fitnessSoftmaxCpu, mixAccumulateCpu, mixBackwardCpu, mixBackwardManyCpu, mixForwardCpu, mixtureCpu };

const FILE = 'fitness.wgsl';
export const FITNESS_PARAMS = defineUniforms(FILE, 'Params', { n: 'u32', k: 'u32', mode: 'u32', _pad: 'u32' });
/** Element-wise mix: one element per thread. */
const MIX_WG = 256;
/** Dot products: small workgroups, many items per thread (barriers are costly on CPU backends). */
const DOT_WG = 64;
const DOT_ITEMS = 32;
/** Softmax, final dot pass and φ gradient: one workgroup. */
const SMALL_WG = 64;

/** Tuning knobs (tests use tiny ones to force multi-row grids). wg: power of two ≤ 256. */
export interface FitnessKernelOpts {
  wg?: number;
  /** Elements per thread in the dot-product passes. */
  items?: number;
}

/** One buffer cannot be bound writable and also bound again in the same dispatch. */
function assertDistinct(op: string, written: GpuTensor, name: string, others: Array<[string, GpuTensor]>): void {
  assertDistinctBy(op, written, name, others, (a, b) => a.buffer === b.buffer);
}

/** Validates a mixture (src/kernels/params.ts); re-exported for existing importers. */
export { assertMixture };

/** p = softmax(φ) over a [K] logits tensor (max-subtracted: stable for large |φ|). */
export function fitnessSoftmax(gpu: Gpu, logits: GpuTensor): GpuTensor {
  assertVector('fitnessSoftmax', 'logits', logits);
  const probs = gpu.empty(logits.shape);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'softmax', constants: { WG: SMALL_WG } },
    buffers: [logits, probs],
    uniforms: FITNESS_PARAMS.pack({ n: logits.size, k: 0, mode: 0 }),
    workgroups: [1],
  });
  return probs;
}

export interface MixAccumulateOpts extends FitnessKernelOpts {
  /** Write y = probs[k]·o instead of adding (y's old contents are ignored). */
  overwrite?: boolean;
}

/** y += probs[k]·o in place (same shapes; probs is [K]). */
export function mixAccumulate(
  gpu: Gpu,
  y: GpuTensor,
  o: GpuTensor,
  probs: GpuTensor,
  k: number,
  opts: MixAccumulateOpts = {},
): void {
  const op = 'mixAccumulate';
  checkMixAccumulate(y, o, probs, k);
  const wg = opts.wg ?? MIX_WG;
  checkOpts(op, wg, 1);
  assertDistinct(op, y, 'y', [
    ['o', o],
    ['probs', probs],
  ]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'mix_accumulate', constants: { WG: wg } },
    buffers: [y, o, probs],
    uniforms: FITNESS_PARAMS.pack({ n: y.size, k, mode: opts.overwrite ? 0 : 1 }),
    workgroups: gpu.grid1d(y.size, wg),
  });
}

/** Storage buffers one dispatch may bind on this device. */
function storageLimit(gpu: Gpu): number {
  return gpu.adapter.limits.maxStorageBuffersPerShaderStage ?? 8;
}

/**
 * y = Σ_k probs[k]·outs[k] as a new tensor: one dispatch for all K where the device binds them
 * (fitness-many.ts), else one mixAccumulate each; the same values either way.
 */
export function mixForward(gpu: Gpu, outs: readonly GpuTensor[], probs: GpuTensor, opts: FitnessKernelOpts = {}): GpuTensor {
  assertMixture('mixForward', outs, probs);
  const wg = opts.wg ?? MIX_WG;
  checkOpts('mixForward', wg, 1);
  const y = gpu.empty(outs[0].shape);
  const K = outs.length;
  if (K <= MIX_MANY_MAX && K + 2 <= storageLimit(gpu)) {
    gpu.dispatch({
      kernel: { file: mixForwardFile(K), entry: 'main', constants: { WG: wg } },
      buffers: [y, ...outs, probs],
      uniforms: FITNESS_PARAMS.pack({ n: y.size, k: 0, mode: 0 }),
      workgroups: gpu.grid1d(y.size, wg),
    });
    return y;
  }
  outs.forEach((o, k) => mixAccumulate(gpu, y, o, probs, k, { ...opts, overwrite: k === 0 }));
  return y;
}

/**
 * Backward of candidate k: dOut = probs[k]·dy and gDots[k] = Σ o_k ⊙ dy, fused in one pass over
 * the data plus a one-workgroup pass over the partial sums (deterministic order). Pass dOut = null
 * when o_k needs no gradient (dot only), gDots = null when φ needs none (scale only).
 */
export function mixBackward(
  gpu: Gpu,
  o: GpuTensor,
  dy: GpuTensor,
  probs: GpuTensor,
  k: number,
  dOut: GpuTensor | null,
  gDots: GpuTensor | null,
  opts: FitnessKernelOpts = {},
): void {
  const op = 'mixBackward';
  checkMixBackward(o, dy, probs, k, dOut, gDots);
  const wg = opts.wg ?? DOT_WG;
  const items = opts.items ?? DOT_ITEMS;
  checkOpts(op, wg, items);
  const inputs: Array<[string, GpuTensor]> = [
    ['o', o],
    ['dy', dy],
    ['probs', probs],
  ];
  if (dOut) assertDistinct(op, dOut, 'dOut', gDots ? [...inputs, ['gDots', gDots]] : inputs);
  if (gDots) assertDistinct(op, gDots, 'gDots', inputs);
  if (!gDots) {
    if (dOut) mixAccumulate(gpu, dOut, dy, probs, k, { overwrite: true });
    return;
  }
  const n = o.size;
  const [gx, gy] = gpu.grid1d(n, wg * items);
  // grid1d may round the grid up; the extra workgroups see no elements and write 0. For n = 0 the
  // first pass is skipped and dot_final writes 0.
  const partials = gpu.empty([gx * gy]);
  if (dOut) {
    gpu.dispatch({
      kernel: { file: FILE, entry: 'mix_backward_partial', constants: { WG: wg, ITEMS: items } },
      buffers: [o, dy, probs, dOut, partials],
      uniforms: FITNESS_PARAMS.pack({ n, k, mode: 0 }),
      workgroups: [gx, gy],
    });
  } else {
    // Only the dot: reduce.wgsl's chunked fold, the same chunks and order as the fused pass.
    dotPartials(gpu, o, dy, partials, wg, items);
  }
  gpu.dispatch({
    kernel: { file: FILE, entry: 'dot_final', constants: { WG: SMALL_WG } },
    buffers: [partials, gDots],
    uniforms: FITNESS_PARAMS.pack({ n: partials.size, k, mode: 0 }),
    workgroups: [1],
  });
  // Safe while queued: the pool only hands the buffer to later work on the same queue.
  partials.dispose();
}

/**
 * mixBackward for every candidate: outs[k]'s dOuts[k] (or none: null) and gDots[k], the values of
 * one mixBackward per k. Where every candidate wants its dOut, gDots is given and the device binds
 * 2K + 3 buffers, one fused pass over dy for all K and one final pass (2 dispatches, not 2K).
 */
export function mixBackwardMany(
  gpu: Gpu,
  outs: readonly GpuTensor[],
  dy: GpuTensor,
  probs: GpuTensor,
  dOuts: readonly (GpuTensor | null)[],
  gDots: GpuTensor | null,
): void {
  checkMixBackwardMany(outs, dy, probs, dOuts, gDots, (a, b) => a.buffer === b.buffer);
  const K = outs.length;
  const all = dOuts.every((d) => d !== null);
  if (!gDots || !all || K > MIX_MANY_MAX || 2 * K + 3 > storageLimit(gpu)) {
    outs.forEach((o, k) => mixBackward(gpu, o, dy, probs, k, dOuts[k], gDots));
    return;
  }
  const n = dy.size;
  const [gx, gy] = gpu.grid1d(n, DOT_WG * DOT_ITEMS);
  const G = gx * gy;
  const partials = gpu.empty([K * G]);
  gpu.dispatch({
    kernel: { file: mixBackwardFile(K), entry: 'main', constants: { WG: DOT_WG, ITEMS: DOT_ITEMS } },
    buffers: [...outs, dy, probs, ...(dOuts as GpuTensor[]), partials],
    uniforms: FITNESS_PARAMS.pack({ n, k: G, mode: 0 }),
    workgroups: [gx, gy],
  });
  gpu.dispatch({
    kernel: { file: MIX_FINAL_FILE, entry: 'main', constants: { WG: SMALL_WG } },
    buffers: [partials, gDots],
    uniforms: FITNESS_PARAMS.pack({ n, k: G, mode: 0 }),
    workgroups: [K],
  });
  partials.dispose();
}

/** dL/dφ_i = p_i (g_i − Σ_k p_k g_k) as a new [K] tensor. */
export function fitnessGrad(gpu: Gpu, probs: GpuTensor, gDots: GpuTensor): GpuTensor {
  assertVector('fitnessGrad', 'probs', probs);
  assertVector('fitnessGrad', 'gDots', gDots, probs.size);
  const out = gpu.empty(probs.shape);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'fitness_grad', constants: { WG: SMALL_WG } },
    buffers: [probs, gDots, out],
    uniforms: FITNESS_PARAMS.pack({ n: probs.size, k: 0, mode: 0 }),
    workgroups: [1],
  });
  return out;
}

// ---- descriptors ----------------------------------------------------------------------------------

const WGSL_WG = { WG: DOT_WG };

export const fitnessSoftmaxOp = defineOp({
  name: 'fitnessSoftmax',
  summary: 'AutoSpace fitness weights p = softmax(phi) over a [K] logits tensor (one workgroup)',
  kernels: [{ file: FILE, entries: ['softmax'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG }],
  // max, exp, sum and divide per logit.
  cost: ({ K }: { K: number }) => elementwiseCost(K, 1, 1, 4),
  reference: fitnessSoftmaxCpu,
  webgpu: fitnessSoftmax,
});

export const mixAccumulateOp = defineOp({
  name: 'mixAccumulate',
  summary: 'y += probs[k] o in place (one candidate of the mixture)',
  kernels: [{ file: FILE, entries: ['mix_accumulate'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG }],
  cost: ({ n }: { n: number }) => elementwiseCost(n, 2, 1, 2),
  reference: mixAccumulateCpu,
  webgpu: mixAccumulate,
});

export const mixForwardOp = defineOp({
  name: 'mixForward',
  summary: 'AutoSpace mixture forward y = sum_k probs[k] o_k',
  kernels: [
    { file: FILE, entries: ['mix_accumulate'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG },
    ...Array.from({ length: MIX_MANY_MAX }, (_, k) => ({
      file: mixForwardFile(k + 1),
      entries: ['main'],
      uniforms: FITNESS_PARAMS,
      overrides: { WG: MIX_WG },
    })),
  ],
  // K mul-adds per element; every candidate read once, y written once, probs read once.
  cost: ({ K, n }: { K: number; n: number }) => ({ flops: 2 * K * n, bytes: 4 * (K * n + n + K) }),
  reference: mixForwardCpu,
  webgpu: mixForward,
});

export const mixBackwardOp = defineOp({
  name: 'mixBackward',
  summary: 'AutoSpace mixture backward of candidate k: dOut = probs[k] dy fused with g_k = sum o_k dy',
  kernels: [
    { file: FILE, entries: ['mix_backward_partial'], uniforms: FITNESS_PARAMS, overrides: { WG: DOT_WG, ITEMS: DOT_ITEMS } },
    { file: FILE, entries: ['dot_final'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG },
    // dOut = null: only the dot, through reduce.wgsl's fold.
    { file: 'reduce.wgsl', entries: ['reduce_dot'], uniforms: REDUCE_PARAMS, overrides: { WG: DOT_WG, ITEMS: DOT_ITEMS } },
  ],
  // Per element a scale and a multiply-add; o and dy read, dOut written; probs[k] read, g_k written.
  cost: ({ n }: { n: number }) => ({ flops: 3 * n, bytes: 4 * (3 * n + 2) }),
  reference: mixBackwardCpu,
  webgpu: mixBackward,
});

export const mixBackwardManyOp = defineOp({
  name: 'mixBackwardMany',
  summary: 'AutoSpace mixture backward of every candidate (mixBackward per k; 2 dispatches for all K where they bind)',
  kernels: [
    ...Array.from({ length: MIX_MANY_MAX }, (_, k) => ({
      file: mixBackwardFile(k + 1),
      entries: ['main'],
      uniforms: FITNESS_PARAMS,
      overrides: { WG: DOT_WG, ITEMS: DOT_ITEMS },
    })),
    { file: MIX_FINAL_FILE, entries: ['main'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG },
  ],
  cost: ({ K, n }: { K: number; n: number }) => ({ flops: 3 * K * n, bytes: 4 * (2 * K * n + n + 2 * K) }),
  reference: mixBackwardManyCpu,
  webgpu: mixBackwardMany,
});

export const fitnessGradOp = defineOp({
  name: 'fitnessGrad',
  summary: 'dL/dphi_i = p_i (g_i - sum_k p_k g_k) (one workgroup)',
  kernels: [{ file: FILE, entries: ['fitness_grad'], uniforms: FITNESS_PARAMS, overrides: WGSL_WG }],
  cost: ({ K }: { K: number }) => ({ flops: 4 * K, bytes: 4 * 3 * K }),
  reference: fitnessGradCpu,
  webgpu: fitnessGrad,
});
