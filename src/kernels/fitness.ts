/**
 * AutoSpace fitness mixing (fitness.wgsl). Per layer, K candidate cells produce same-shape outputs
 * o_1..o_K, mixed by softmax fitness weights: p = softmax(φ), y = Σ_k p_k·o_k. Backward:
 * dL/do_k = p_k·dL/dy, g_k = Σ o_k ⊙ dL/dy, dL/dφ_i = p_i (g_i − Σ_k p_k g_k).
 * Every weight is read from the probs tensor on the GPU, so a training step needs no readback.
 */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { sameShape } from './elementwise.js';

const FILE = 'fitness.wgsl';
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

function checkOpts(op: string, wg: number, items: number): void {
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || (wg & (wg - 1)) !== 0) {
    throw new RangeError(`${op}: workgroup size must be a power of two in [1, 256], got ${wg}`);
  }
  if (!Number.isInteger(items) || items < 1) throw new RangeError(`${op}: items must be a positive integer, got ${items}`);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** φ or probs: a 1-D tensor of K ≥ 1 entries. */
function assertVector(op: string, name: string, t: { shape: readonly number[] }, k?: number): void {
  if (t.shape.length !== 1 || t.shape[0] < 1 || (k !== undefined && t.shape[0] !== k)) {
    const want = k === undefined ? '[K] with K >= 1' : `[${k}]`;
    throw new ShapeError(`${op}: ${name} must have shape ${want}, got ${fmt(t.shape)}`);
  }
}

function assertIndex(op: string, k: number, K: number): void {
  if (!Number.isInteger(k) || k < 0 || k >= K) throw new RangeError(`${op}: candidate index ${k} is outside [0, ${K})`);
}

/** One buffer cannot be bound writable and also bound again in the same dispatch. */
function assertDistinct(op: string, written: GpuTensor, name: string, others: Array<[string, GpuTensor]>): void {
  for (const [n, t] of others) {
    if (t.buffer === written.buffer) throw new Error(`${op}: ${name} must not share its buffer with ${n}`);
  }
}

/**
 * Validates a mixture: ≥ 1 outputs of identical shape and a [K] logits/probs vector.
 * Throws ShapeError naming the problem.
 */
export function assertMixture(op: string, outs: ReadonlyArray<{ shape: readonly number[] }>, weights: { shape: readonly number[] }): void {
  if (outs.length < 1) throw new ShapeError(`${op}: needs at least one candidate output`);
  for (let k = 1; k < outs.length; k++) {
    if (!sameShape(outs[k].shape, outs[0].shape)) {
      throw new ShapeError(`${op}: candidate ${k} has shape ${fmt(outs[k].shape)}, candidate 0 has ${fmt(outs[0].shape)}`);
    }
  }
  assertVector(op, 'logits', weights, outs.length);
}

/** p = softmax(φ) over a [K] logits tensor (max-subtracted: stable for large |φ|). */
export function fitnessSoftmax(gpu: Gpu, logits: GpuTensor): GpuTensor {
  assertVector('fitnessSoftmax', 'logits', logits);
  const probs = gpu.empty(logits.shape);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'softmax', constants: { WG: SMALL_WG } },
    buffers: [logits, probs],
    uniforms: packUniforms([logits.size, 0, 0, 0]),
    workgroups: [1],
  });
  return probs;
}

export interface MixAccumulateOpts extends FitnessKernelOpts {
  /** Write y = probs[k]·o instead of adding (y's old contents are ignored). */
  overwrite?: boolean;
}

/** y += probs[k]·o in place (same shapes; probs is [K]). */
export function mixAccumulate(gpu: Gpu, y: GpuTensor, o: GpuTensor, probs: GpuTensor, k: number, opts: MixAccumulateOpts = {}): void {
  const op = 'mixAccumulate';
  if (!sameShape(y.shape, o.shape)) throw new ShapeError(`${op}: y ${fmt(y.shape)} and o ${fmt(o.shape)} differ`);
  assertVector(op, 'probs', probs);
  assertIndex(op, k, probs.size);
  const wg = opts.wg ?? MIX_WG;
  checkOpts(op, wg, 1);
  assertDistinct(op, y, 'y', [['o', o], ['probs', probs]]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'mix_accumulate', constants: { WG: wg } },
    buffers: [y, o, probs],
    uniforms: packUniforms([y.size, k, opts.overwrite ? 0 : 1, 0]),
    workgroups: gpu.grid1d(y.size, wg),
  });
}

/** y = Σ_k probs[k]·outs[k] as a new tensor. */
export function mixForward(gpu: Gpu, outs: readonly GpuTensor[], probs: GpuTensor, opts: FitnessKernelOpts = {}): GpuTensor {
  assertMixture('mixForward', outs, probs);
  checkOpts('mixForward', opts.wg ?? MIX_WG, 1);
  const y = gpu.empty(outs[0].shape);
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
  if (!sameShape(o.shape, dy.shape)) throw new ShapeError(`${op}: o ${fmt(o.shape)} and dy ${fmt(dy.shape)} differ`);
  if (dOut && !sameShape(dOut.shape, o.shape)) throw new ShapeError(`${op}: dOut ${fmt(dOut.shape)} does not match o ${fmt(o.shape)}`);
  assertVector(op, 'probs', probs);
  if (gDots) assertVector(op, 'gDots', gDots, probs.size);
  assertIndex(op, k, probs.size);
  const wg = opts.wg ?? DOT_WG;
  const items = opts.items ?? DOT_ITEMS;
  checkOpts(op, wg, items);
  const inputs: Array<[string, GpuTensor]> = [['o', o], ['dy', dy], ['probs', probs]];
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
  const constants = { WG: wg, ITEMS: items };
  gpu.dispatch({
    kernel: { file: FILE, entry: dOut ? 'mix_backward_partial' : 'dot_partial', constants },
    buffers: dOut ? [o, dy, probs, dOut, partials] : [o, dy, partials],
    uniforms: packUniforms([n, k, 0, 0]),
    workgroups: [gx, gy],
  });
  gpu.dispatch({
    kernel: { file: FILE, entry: 'dot_final', constants: { WG: SMALL_WG } },
    buffers: [partials, gDots],
    uniforms: packUniforms([partials.size, k, 0, 0]),
    workgroups: [1],
  });
  // Safe while queued: the pool only hands the buffer to later work on the same queue.
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
    uniforms: packUniforms([probs.size, 0, 0, 0]),
    workgroups: [1],
  });
  return out;
}

// ---- CPU references (f64) ---------------------------------------------------------------------

export function fitnessSoftmaxCpu(logits: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]);
  const e = Float64Array.from(logits, (v) => Math.exp(v - mx));
  let s = 0;
  for (const v of e) s += v;
  return e.map((v) => v / s);
}

/** y + probs[k]·o (a new array; y may be null for 0). */
export function mixAccumulateCpu(y: ArrayLike<number> | null, o: ArrayLike<number>, probs: ArrayLike<number>, k: number): Float64Array {
  return Float64Array.from(o, (v, i) => (y ? y[i] : 0) + probs[k] * v);
}

export function mixForwardCpu(outs: ReadonlyArray<ArrayLike<number>>, probs: ArrayLike<number>): Float64Array {
  const y = new Float64Array(outs[0].length);
  outs.forEach((o, k) => {
    for (let i = 0; i < y.length; i++) y[i] += probs[k] * o[i];
  });
  return y;
}

export function mixBackwardCpu(o: ArrayLike<number>, dy: ArrayLike<number>, probs: ArrayLike<number>, k: number): { dOut: Float64Array; gDot: number } {
  let g = 0;
  for (let i = 0; i < o.length; i++) g += o[i] * dy[i];
  return { dOut: Float64Array.from(dy, (v) => probs[k] * v), gDot: g };
}

export function fitnessGradCpu(probs: ArrayLike<number>, gDots: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < probs.length; i++) mean += probs[i] * gDots[i];
  return Float64Array.from(probs, (p, i) => p * (gDots[i] - mean));
}

/** The whole mixture in f64: y and, given dL/dy, dL/do_k and dL/dφ. */
export function mixtureCpu(
  outs: ReadonlyArray<ArrayLike<number>>,
  logits: ArrayLike<number>,
  dy?: ArrayLike<number>,
): { probs: Float64Array; y: Float64Array; dOuts?: Float64Array[]; dLogits?: Float64Array } {
  const probs = fitnessSoftmaxCpu(logits);
  const y = mixForwardCpu(outs, probs);
  if (!dy) return { probs, y };
  const back = outs.map((o, k) => mixBackwardCpu(o, dy, probs, k));
  return { probs, y, dOuts: back.map((b) => b.dOut), dLogits: fitnessGradCpu(probs, back.map((b) => b.gDot)) };
}
