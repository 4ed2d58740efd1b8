/**
 * Training-mode batch norm (batchnorm.wgsl) over (N, H, W) per channel of NCHW input, biased
 * variance, and its eval mode (batchNormEval: given statistics, the running averages that
 * src/nn/bn-running.ts keeps). gamma/beta null = affine off (gamma 1, beta 0).
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import {
  BN_ENV,
  BN_PLAN_ENV,
  BN_WORKGROUP_SIZES,
  type BnPlanName,
  type BnSetting,
  type BnWg,
  parseBnPlan,
  parseBnWorkgroup,
} from '../util/ab-env.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, type KernelRef, type OpCost } from './descriptor.js';
import { assertSameShape, batchNormDims, checkBatchNormEps, checkChannelParam as checkParam, DEFAULT_BN_EPS } from './params.js';
import {
  batchNormBackwardCpu,
  batchNormBackwardF64,
  batchNormEvalCpu,
  batchNormEvalF64,
  batchNormForwardAddCpu,
  batchNormForwardCpu,
  batchNormForwardF64,
  batchNormRelu6BackwardCpu,
  batchNormRelu6BackwardF64,
  batchNormRelu6ForwardCpu,
  batchNormRelu6ForwardF64,
} from './reference/batchnorm.js';

export {
  batchNormBackwardCpu,
  batchNormBackwardF64,
  batchNormEvalCpu,
  batchNormEvalF64,
  batchNormForwardAddCpu,
  batchNormForwardCpu,
  batchNormForwardF64,
  batchNormRelu6BackwardCpu,
  batchNormRelu6BackwardF64,
  batchNormRelu6ForwardCpu,
  batchNormRelu6ForwardF64,
};

const FILE = 'batchnorm.wgsl';
/** affine: bit 0 gamma, bit 1 beta, bit 2 residual, bit 3 relu6; count = N * HW; total = N * C * HW. */
export const BATCHNORM_PARAMS = defineUniforms(FILE, 'Params', {
  C: 'u32',
  HW: 'u32',
  S: 'u32',
  count: 'u32',
  chunk: 'u32',
  eps: 'f32',
  affine: 'u32',
  total: 'u32',
});
/**
 * The statistics kernels' workgroup widths (batchnorm.wgsl's override WG). The width sets the
 * statistics' summation order, so each gives its own bits (the per-plane passes' results do not
 * depend on theirs).
 *   64: software adapters (lavapipe, CI): the plan from before the width was a setting, so their
 *       results and timings are unchanged; channels in chunks of CHUNK_TARGET, one accumulator per thread.
 *   128, 256: hardware. 64 threads a channel left an H100 nearly idle (NB201 at batch 64: 16-64
 *       workgroups, each thread looping 64-256 elements three times; docs/results.md). 256 is the
 *       widest WebGPU guarantees (maxComputeInvocationsPerWorkgroup); each thread keeps 4 loads in
 *       flight (the WGSL's 4 accumulators), and channels split by shape (bnPlanFor).
 */
export { BN_ENV, BN_WORKGROUP_SIZES, type BnWg, parseBnWorkgroup } from '../util/ab-env.js';
export { BN_PLAN_ENV, BN_PLANS, type BnPlanName, parseBnPlan } from '../util/ab-env.js';

let envWg: BnWg | null | undefined;
let envPlan: BnPlanName | null | undefined;

/**
 * The statistics kernels' width on an adapter: WGNAS_BN_WG (read once: an A/B run on one GPU), else
 * 64 on a software adapter and 256 on hardware.
 */
export function bnWorkgroup(adapter: { readonly isSoftware: boolean }): BnWg {
  if (envWg === undefined) envWg = parseBnWorkgroup(process.env[BN_ENV]);
  return envWg ?? (adapter.isSoftware ? 64 : 256);
}

/** The dispatch plan: WGNAS_BN_PLAN (read once: an A/B run), else 'auto'. */
export function bnPlanSetting(): BnPlanName {
  if (envPlan === undefined) envPlan = parseBnPlan(process.env[BN_PLAN_ENV]);
  return envPlan ?? 'auto';
}

/**
 * What a run's batch-norm bits depend on, as results record it (src/cli/device.ts): the width and
 * the plan. At width 64 every plan gives the same bits (the same chunks; one kernel and two at one
 * chunk agree bit for bit), so it records 'auto' whatever WGNAS_BN_PLAN says.
 */
export function bnRecord(adapter: { readonly isSoftware: boolean }): BnSetting {
  const wg = bnWorkgroup(adapter);
  return { wg, plan: wg === 64 ? 'auto' : bnPlanSetting() };
}

/** Elements per statistics chunk at width 64: enough work per workgroup, enough workgroups per channel. */
const CHUNK_TARGET = 16384;
const MAX_SPLITS = 256;
/**
 * Width 64, and the 'single' plan at every width: channels of at most this many elements run
 * forward and backward as one kernel each (one workgroup per channel, x read once more than by the
 * two-kernel plan), saving a dispatch per pass.
 */
const SINGLE_PASS_MAX_COUNT = CHUNK_TARGET;
/** Threads that fill a big GPU (an H100 holds 132 SMs x 2048): the wide plans' target per statistics pass. */
const GPU_FILL_THREADS = 262144;
/**
 * A wide plan's chunks give each thread at least this many elements ('auto', 'single': 4 rounds of
 * 4 loads in flight per barrier tree; 'split': one round, the most workgroups that still hold a round).
 */
const MIN_ITEMS_PER_THREAD = 16;
const SPLIT_MIN_ITEMS_PER_THREAD = 4;
/**
 * A wide plan's chunks per channel at most: every thread of the per-plane pass merges all of a
 * channel's chunks itself (no extra dispatch), so many chunks would cost more than the elements.
 */
const GPU_MAX_SPLITS = 32;

/**
 * How a training-mode forward or backward is dispatched: a plan by name (bnPlanFor), or its
 * resolution (tests: any chunk count, one kernel or two). Both plans give the same bits at the same
 * width and chunk count; one kernel needs S = 1.
 */
export type BnPlan = BnPlanName | BnChoice;
/** S statistics chunks per channel; onePass: channel_forward/channel_backward (S = 1) instead of partials then the per-plane pass. */
export interface BnChoice {
  readonly S: number;
  readonly onePass: boolean;
}

/**
 * The plan's chunks per channel of `count` elements (C channels) at width wg, and whether the
 * channel runs as one kernel.
 *
 * Width 64 (software adapters; every plan name): as before the plan was chosen by shape: one kernel
 * per channel up to 16384 elements, else chunks of 16384 ('split' takes two kernels at one chunk too).
 *
 * Wider (GPUs), 'auto': chunks of at least 16 elements per thread, as many as bring the pass to
 * ~GPU_FILL_THREADS threads (at most 32); one chunk is one kernel. The cost it weighs (a model, to
 * be checked by the suite's bench-bn A/B): idle SMs cost nothing by themselves (each dispatch waits
 * for the last), the longest thread does; a one-kernel channel's threads walk count / wg elements
 * three times (two statistics loops, the output), one dependent round of 4 loads (~0.15 us from L2:
 * the H100's 85 us channel_forward at width 64 walked 64-256 elements a thread, one load a round)
 * per 4 elements; a split walks a
 * chunk twice, then a per-plane pass with every element in flight at once, for one more dispatch:
 * ~2-3 us of GPU drain and launch, and ~35-50 us of host recording, which the GPU hides while it
 * is the bound (docs/results.md). NB201 at batch 64, width 256:
 *   C32 16x16 (16384/channel): one kernel is 32 workgroups of 256 threads, 16 rounds x 3 (~7-10 us);
 *     auto: 4 chunks: 128 workgroups, 4 rounds x 2, then 2048 planes x 64 threads (~4-5 us with the
 *     drain), +1 dispatch per pass (2 + 5 x ~2.4 such layers per network: ~+28 dispatches of ~314);
 *   C64 8x8 (4096): 64 workgroups, 4 rounds x 3 (~2 us): a split would save less than its drain;
 *   C16 32x32 (65536): 16 chunks, 256 workgroups (two kernels at every plan).
 * Channels that fill the GPU alone (C x wg >= GPU_FILL_THREADS) keep one kernel at any count, and
 * so do channels of <= 16 elements a thread (MBConv's C960 7x7 at batch 64: 960 workgroups).
 * 'single': one kernel wherever a channel has at most 16384 elements (the wide plan before this
 * rule), else auto's chunks. 'split': always two kernels, chunks of at least 4 elements per thread
 * (one round), filling the GPU. The device suite A/Bs the three (bench-bn-*).
 */
export function bnPlanFor(count: number, C: number, wg: BnWg, plan: BnPlanName): BnChoice {
  if (wg === 64) {
    const S = count <= SINGLE_PASS_MAX_COUNT ? 1 : Math.min(MAX_SPLITS, Math.ceil(count / CHUNK_TARGET));
    return { S, onePass: S === 1 && plan !== 'split' };
  }
  const chunks = (minItems: number) =>
    Math.max(1, Math.min(GPU_MAX_SPLITS, Math.ceil(GPU_FILL_THREADS / (wg * C)), Math.ceil(count / (minItems * wg))));
  if (plan === 'split') return { S: chunks(SPLIT_MIN_ITEMS_PER_THREAD), onePass: false };
  const S = plan === 'single' && count <= SINGLE_PASS_MAX_COUNT ? 1 : chunks(MIN_ITEMS_PER_THREAD);
  return { S, onePass: S === 1 };
}

/** Statistics chunks per channel under `plan` (default: WGNAS_BN_PLAN's, else 'auto'): bnPlanFor's S. */
export function bnSplits(count: number, C: number, wg: BnWg, plan: BnPlanName = bnPlanSetting()): number {
  return bnPlanFor(count, C, wg, plan).S;
}

/**
 * The per-plane passes' width (merge_apply, bwd_merge_apply, apply: their results do not depend on
 * it): 64, widened up to wg while each thread keeps MIN_ITEMS_PER_THREAD elements of the plane, as
 * every thread also merges the channel's chunks (NB201's planes of <= 1024 stay at 64).
 */
export function bnPlaneWorkgroup(HW: number, wg: BnWg): number {
  let w = 64;
  while (w < wg && 2 * w * MIN_ITEMS_PER_THREAD <= HW) w *= 2;
  return w;
}

interface BnDims {
  N: number;
  C: number;
  HW: number;
  count: number;
  S: number;
  chunk: number;
  /** channel_forward/channel_backward (S = 1) instead of the two-kernel plan. */
  onePass: boolean;
  /** The statistics kernels' width and the per-plane kernels'. */
  wg: BnWg;
  planeWg: number;
}

function bnDims(op: string, shape: readonly number[], wg: BnWg, plan: BnPlan): BnDims {
  const { N, C, HW, count } = batchNormDims(op, shape);
  if (C > 65535) throw new ShapeError(`${op}: ${C} channels exceed the 65535-workgroup grid`);
  if (!BN_WORKGROUP_SIZES.includes(wg))
    throw new RangeError(`${op}: workgroup width ${wg} is not one of ${BN_WORKGROUP_SIZES.join(', ')}`);
  const { S, onePass } = typeof plan === 'string' ? bnPlanFor(count, C, wg, plan) : plan;
  if (!Number.isInteger(S) || S < 1 || S > MAX_SPLITS || (onePass && S !== 1))
    throw new RangeError(
      `${op}: ${S} chunks per channel${onePass ? ' in one kernel' : ''} is not a plan (1 to ${MAX_SPLITS}; one kernel: 1)`,
    );
  const chunk = Math.ceil(count / S);
  return { N, C, HW, count, S, chunk, onePass, wg, planeWg: bnPlaneWorkgroup(HW, wg) };
}

/** A statistics entry (width d.wg) or a per-plane one (d.planeWg). */
const statsKernel = (entry: string, d: BnDims) => ({ file: FILE, entry, constants: { WG: d.wg } });
const planeKernel = (entry: string, d: BnDims) => ({ file: FILE, entry, constants: { WG: d.planeWg } });

function uniforms(d: BnDims, eps: number, gamma: boolean, beta: boolean, residual = false, relu6 = false): ArrayBuffer {
  const affine = (gamma ? 1 : 0) | (beta ? 2 : 0) | (residual ? 4 : 0) | (relu6 ? 8 : 0);
  return BATCHNORM_PARAMS.pack({
    C: d.C,
    HW: d.HW,
    S: d.S,
    count: d.count,
    chunk: d.chunk,
    eps,
    affine,
    total: d.N * d.C * d.HW,
  });
}

export function batchNormForward(
  gpu: Gpu,
  x: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  eps = DEFAULT_BN_EPS,
): { y: GpuTensor; mean: GpuTensor; invStd: GpuTensor } {
  return batchNormForwardPlanned(gpu, x, gamma, beta, eps, bnPlanSetting());
}

/**
 * batchNormForward(x) + residual in the same pass: y = bn(x) + residual, bit for bit the batch norm
 * then add(residual, y) (a sum of two is commutative), one dispatch and one tensor less (the node
 * sums of NAS-Bench-201's cells). mean/invStd are batchNormForward's.
 */
export function batchNormForwardAdd(
  gpu: Gpu,
  x: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  residual: GpuTensor,
  eps = DEFAULT_BN_EPS,
): { y: GpuTensor; mean: GpuTensor; invStd: GpuTensor } {
  return batchNormForwardPlanned(gpu, x, gamma, beta, eps, bnPlanSetting(), residual);
}

/**
 * relu6(batchNormForward(x)) in the batch norm's own pass (the MBConv pair): z bit for bit relu6 of
 * batchNormForward's y, which is never stored; mean/invStd are batchNormForward's.
 */
export function batchNormRelu6Forward(
  gpu: Gpu,
  x: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  eps = DEFAULT_BN_EPS,
): { z: GpuTensor; mean: GpuTensor; invStd: GpuTensor } {
  const { y, mean, invStd } = batchNormForwardPlanned(gpu, x, gamma, beta, eps, bnPlanSetting(), null, true);
  return { z: y, mean, invStd };
}

/**
 * batchNormForward (with a residual: batchNormForwardAdd; with relu6: batchNormRelu6Forward's z as
 * y) with the dispatch plan and the statistics' width chosen (tests; the public entries pass
 * WGNAS_BN_PLAN's plan and the adapter's width).
 */
export function batchNormForwardPlanned(
  gpu: Gpu,
  x: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  eps: number,
  plan: BnPlan,
  residual: GpuTensor | null = null,
  relu6 = false,
  wg: BnWg = bnWorkgroup(gpu.adapter),
): { y: GpuTensor; mean: GpuTensor; invStd: GpuTensor } {
  const op = residual ? 'batchNormForwardAdd' : relu6 ? 'batchNormRelu6Forward' : 'batchNormForward';
  if (residual && relu6) throw new Error('batchNormForwardPlanned: a residual and relu6 together are not supported');
  const d = bnDims(op, x.shape, wg, plan);
  checkParam(op, 'gamma', gamma, d.C);
  checkParam(op, 'beta', beta, d.C);
  if (residual) assertSameShape(op, residual, x);
  checkBatchNormEps(eps);
  const u = uniforms(d, eps, gamma !== null, beta !== null, residual !== null, relu6);
  const y = gpu.empty(x.shape);
  const mean = gpu.empty([d.C]);
  const invStd = gpu.empty([d.C]);
  // mean/invStd are written here, so a missing gamma/beta/residual is bound as x (read-only, never read).
  const affine = [gamma ?? x, beta ?? x, residual ?? x];
  if (d.onePass) {
    gpu.dispatch({
      kernel: statsKernel('channel_forward', d),
      buffers: [y, x, mean, invStd, ...affine],
      uniforms: u,
      workgroups: [1, d.C],
    });
    return { y, mean, invStd };
  }
  const part = gpu.empty([d.C, d.S, 2]);
  gpu.dispatch({ kernel: statsKernel('stats_partial', d), buffers: [part, x], uniforms: u, workgroups: [d.S, d.C] });
  gpu.dispatch({
    kernel: planeKernel('merge_apply', d),
    buffers: [y, x, mean, invStd, ...affine, part],
    uniforms: u,
    workgroups: gpu.grid1d(d.N * d.C, 1),
  });
  part.dispose();
  return { y, mean, invStd };
}

/**
 * Eval-mode batch norm: y = (x - mean[c]) invStd[c] gamma[c] + beta[c] with the given per-channel
 * statistics (running averages), no batch statistics: one per-plane pass (`apply`).
 */
export function batchNormEval(
  gpu: Gpu,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
): GpuTensor {
  return batchNormEvalPlanned(gpu, x, mean, invStd, gamma, beta, bnWorkgroup(gpu.adapter));
}

/** batchNormEval at a chosen width (tests): its plane width follows from it (bnPlaneWorkgroup). */
export function batchNormEvalPlanned(
  gpu: Gpu,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  wg: BnWg,
): GpuTensor {
  // `apply` reads no statistics chunks: any plan.
  const d = bnDims('batchNormEval', x.shape, wg, 'auto');
  checkParam('batchNormEval', 'mean', mean, d.C);
  checkParam('batchNormEval', 'invStd', invStd, d.C);
  checkParam('batchNormEval', 'gamma', gamma, d.C);
  checkParam('batchNormEval', 'beta', beta, d.C);
  const y = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: planeKernel('apply', d),
    buffers: [y, x, mean, invStd, gamma ?? mean, beta ?? mean, x],
    // `apply` reads no eps: the given invStd has it.
    uniforms: uniforms(d, DEFAULT_BN_EPS, gamma !== null, beta !== null),
    workgroups: gpu.grid1d(d.N * d.C, 1),
  });
  return y;
}

export function batchNormBackward(
  gpu: Gpu,
  dy: GpuTensor,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  return batchNormBackwardPlanned(gpu, dy, x, mean, invStd, gamma, bnPlanSetting());
}

/**
 * The gradients of relu6(batchNorm(x)) from dz (batchNormRelu6Forward's mean and invStd), bit for
 * bit relu6Backward(dz, y) then batchNormBackward: the ReLU6 mask is rebuilt from x, gamma and beta
 * with the forward's own f32 operations, in the batch norm's passes (one kernel per channel where
 * the device binds 9 storage buffers, else the two-kernel plan).
 */
export function batchNormRelu6Backward(
  gpu: Gpu,
  dz: GpuTensor,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  return batchNormBackwardPlanned(gpu, dz, x, mean, invStd, gamma, bnPlanSetting(), { beta });
}

/**
 * batchNormBackward (with `relu6`: batchNormRelu6Backward, beta given) with the dispatch plan and
 * the statistics' width chosen (tests; callers use those two). relu6's one kernel binds 9 storage
 * buffers: on a device with 8, it runs as two kernels at its one chunk (the same bits).
 */
export function batchNormBackwardPlanned(
  gpu: Gpu,
  dy: GpuTensor,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
  plan: BnPlan,
  relu6: { beta: GpuTensor | null } | null = null,
  wg: BnWg = bnWorkgroup(gpu.adapter),
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  const op = relu6 ? 'batchNormRelu6Backward' : 'batchNormBackward';
  const d = bnDims(op, x.shape, wg, plan);
  const nine = (gpu.adapter.limits.maxStorageBuffersPerShaderStage ?? 8) >= 9;
  assertSameShape(op, dy, x);
  checkParam(op, 'mean', mean, d.C);
  checkParam(op, 'invStd', invStd, d.C);
  checkParam(op, 'gamma', gamma, d.C);
  const beta = relu6?.beta ?? null;
  checkParam(op, 'beta', beta, d.C);
  // The backward reads no eps: the saved invStd has it.
  const u = uniforms(d, DEFAULT_BN_EPS, gamma !== null, beta !== null, false, relu6 !== null);
  const dx = gpu.empty(x.shape);
  const dgamma = gpu.empty([d.C]);
  const dbeta = gpu.empty([d.C]);
  // A missing gamma or beta is bound as a stand-in buffer whose values the kernels ignore.
  if (d.onePass && (relu6 === null || nine)) {
    gpu.dispatch({
      kernel: statsKernel(relu6 ? 'channel_backward_relu6' : 'channel_backward', d),
      buffers: [dx, dy, x, mean, invStd, gamma ?? invStd, dgamma, dbeta, ...(relu6 ? [beta ?? invStd] : [])],
      uniforms: u,
      workgroups: [1, d.C],
    });
    return { dx, dgamma, dbeta };
  }
  // [C][S][2] partial sums, then [C][4] (mean, invStd, gamma or 1, beta or 0) for bwd_merge_apply (see the WGSL).
  const part = gpu.empty([d.C * (2 * d.S + 4)]);
  gpu.dispatch({
    kernel: statsKernel(relu6 ? 'bwd_partial_relu6' : 'bwd_partial', d),
    buffers: [part, dy, x, mean, invStd, gamma ?? invStd, ...(relu6 ? [beta ?? invStd] : [])],
    uniforms: u,
    workgroups: [d.S, d.C],
  });
  gpu.dispatch({
    kernel: planeKernel('bwd_merge_apply', d),
    buffers: [dx, dy, x, part, dgamma, dbeta],
    uniforms: u,
    workgroups: gpu.grid1d(d.N * d.C, 1),
  });
  part.dispose();
  return { dx, dgamma, dbeta };
}

// ---- descriptors ----------------------------------------------------------------------------------

type BnProblem = { N: number; C: number; HW: number };
/** batchnorm.wgsl's entries an op dispatches, at the WGSL's default width (WG 64). */
const bnKernels = (...entries: string[]): KernelRef[] => [
  { file: FILE, entries, uniforms: BATCHNORM_PARAMS, overrides: { WG: 64 } },
];
/** flopsPerElem FLOPs per element of x; `planes` tensors of x's size and `vectors` [C] vectors moved once each. */
const bnCost =
  (flopsPerElem: number, planes: number, vectors: number) =>
  ({ N, C, HW }: BnProblem): OpCost => ({
    flops: flopsPerElem * N * C * HW,
    bytes: 4 * (planes * N * C * HW + vectors * C),
  });
/** The training-mode forward's kernels: with a residual too (an affine bit, see uniforms()). */
const FORWARD_KERNELS = bnKernels('stats_partial', 'merge_apply', 'channel_forward');

export const batchNormForwardOp = defineOp({
  name: 'batchNormForward',
  summary: 'training-mode batch norm: per-channel batch statistics, then (x - mean) invStd gamma + beta',
  kernels: FORWARD_KERNELS,
  // Statistics (sum, sum of squares) and the affine normalisation: ~6 FLOPs per element; x read, y written.
  cost: bnCost(6, 2, 4),
  reference: batchNormForwardCpu,
  webgpu: batchNormForward,
});

export const batchNormForwardAddOp = defineOp({
  name: 'batchNormForwardAdd',
  summary: 'training-mode batch norm plus a residual in the same pass: bn(x) + residual (a node sum)',
  kernels: FORWARD_KERNELS,
  cost: bnCost(7, 3, 4),
  reference: batchNormForwardAddCpu,
  webgpu: batchNormForwardAdd,
});

export const batchNormEvalOp = defineOp({
  name: 'batchNormEval',
  summary: 'eval-mode batch norm: (x - mean) invStd gamma + beta with given (running) statistics',
  kernels: bnKernels('apply'),
  // One fused multiply-add per element after the subtraction; x read, y written.
  cost: bnCost(2, 2, 4),
  reference: batchNormEvalCpu,
  webgpu: batchNormEval,
});

export const batchNormRelu6ForwardOp = defineOp({
  name: 'batchNormRelu6Forward',
  summary: "relu6 of a training-mode batch norm in the batch norm's pass (the MBConv pair), without its output",
  kernels: FORWARD_KERNELS,
  cost: bnCost(7, 2, 4),
  reference: batchNormRelu6ForwardCpu,
  webgpu: batchNormRelu6Forward,
});

export const batchNormBackwardOp = defineOp({
  name: 'batchNormBackward',
  summary: 'batch norm backward: dx, dgamma, dbeta from dy, x and the saved statistics',
  kernels: bnKernels('bwd_partial', 'bwd_merge_apply', 'channel_backward'),
  // Two per-channel sums over dy and dy x_hat, then dx: ~9 FLOPs per element; dy, x read, dx written.
  cost: bnCost(9, 3, 5),
  reference: batchNormBackwardCpu,
  webgpu: batchNormBackward,
});

export const batchNormRelu6BackwardOp = defineOp({
  name: 'batchNormRelu6Backward',
  summary: "relu6(batch norm)'s backward: dx, dgamma, dbeta from dz, the ReLU6 mask rebuilt from x, gamma and beta",
  kernels: bnKernels('bwd_partial_relu6', 'bwd_merge_apply', 'channel_backward_relu6'),
  cost: bnCost(12, 3, 6),
  reference: batchNormRelu6BackwardCpu,
  webgpu: batchNormRelu6Backward,
});
