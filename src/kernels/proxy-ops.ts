/** Element-wise helpers for the proxies (proxy_ops.wgsl) and their CPU references. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';

const WG = 256;

/** dst += weight * |src| in place (same element count). */
export function accumulateAbs(gpu: Gpu, dst: GpuTensor, src: GpuTensor, weight: number): void {
  if (dst.size !== src.size) throw new ShapeError(`accumulateAbs: ${dst.size} vs ${src.size} elements`);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'accumulate_abs' },
    buffers: [dst, src],
    uniforms: packUniforms([dst.size, { f32: weight }, 0, 0]),
    workgroups: gpu.grid1d(dst.size, WG),
  });
}

/** +1 where x > 0, else -1. */
export function signCodes(gpu: Gpu, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'sign_codes' },
    buffers: [out, x],
    uniforms: packUniforms([x.size, { f32: 0 }, 0, 0]),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return out;
}

/** Overwrites x with +1 where x > 0, else -1 (for buffers the caller owns, e.g. an arena). */
export function signCodesInPlace(gpu: Gpu, x: GpuTensor, elems = x.size): void {
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'sign_codes_inplace' },
    buffers: [x],
    uniforms: packUniforms([elems, { f32: 0 }, 0, 0]),
    workgroups: gpu.grid1d(elems, WG),
  });
}

export interface BatchedAccumulateOptions {
  /** Matrix size N: dst holds [slots * outs, N, N], src [L, N, N] (at least). */
  n: number;
  slots: number;
  /** Per layer of src (sorted by slot): its slot in [0, slots) and weight. */
  layerSlots: readonly number[];
  weights: readonly number[];
  /** 2: also add the unweighted sum into the matrix after each slot's weighted one. Default 1. */
  outs?: 1 | 2;
  /** Add |C| (default) or C. */
  abs?: boolean;
  /** Count every diagonal entry as exactly 1 (correlation Gram products without set_diag). */
  unitDiagonal?: boolean;
}

/** Slot ranges + weights, laid out as accumulate_abs_batched reads them. Throws on unsorted slots. */
export function batchedLayerMeta(slots: number, layerSlots: readonly number[], weights: readonly number[]): Float32Array {
  const L = layerSlots.length;
  if (weights.length !== L) throw new ShapeError(`accumulateAbsBatched: ${L} layer slots but ${weights.length} weights`);
  const meta = new Float32Array(2 * slots + L);
  for (let l = 0; l < L; l++) {
    const s = layerSlots[l];
    if (!Number.isInteger(s) || s < 0 || s >= slots) throw new RangeError(`accumulateAbsBatched: layer ${l} has slot ${s}, not in [0, ${slots})`);
    if (l > 0 && s < layerSlots[l - 1]) throw new RangeError('accumulateAbsBatched: layers must be sorted by slot');
    if (l === 0 || s !== layerSlots[l - 1]) meta[2 * s] = l;
    meta[2 * s + 1] = l + 1;
    meta[2 * slots + l] = weights[l];
  }
  return meta;
}

/**
 * dst[s*outs] += sum over layers l of slot s of w_l * |src[l]|  (and dst[s*outs+1] += sum |src[l]|
 * when outs = 2), in one dispatch for every layer and slot.
 */
export function accumulateAbsBatched(gpu: Gpu, dst: GpuTensor, src: GpuTensor, o: BatchedAccumulateOptions): void {
  const { n, slots } = o;
  const outs = o.outs ?? 1;
  const L = o.layerSlots.length;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(slots) || slots < 1) {
    throw new ShapeError(`accumulateAbsBatched: bad n=${n} or slots=${slots}`);
  }
  if (dst.size < slots * outs * n * n) throw new ShapeError(`accumulateAbsBatched: dst has ${dst.size} elements, needs ${slots}x${outs}x${n}x${n}`);
  if (src.size < L * n * n) throw new ShapeError(`accumulateAbsBatched: src has ${src.size} elements, needs ${L}x${n}x${n}`);
  if (L === 0) return;
  const meta = gpu.upload(batchedLayerMeta(slots, o.layerSlots, o.weights));
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'accumulate_abs_batched' },
    buffers: [dst, src, meta],
    uniforms: packUniforms([n, slots, outs, (o.abs ?? true ? 1 : 0) | (o.unitDiagonal ? 2 : 0)]),
    workgroups: gpu.grid1d(slots * n * n, WG),
  });
  // The pool hands this buffer out again only to work queued after this dispatch.
  meta.dispose();
}

/** CPU reference of accumulateAbsBatched (same layout). */
export function accumulateAbsBatchedCpu(dst: Float64Array | Float32Array, src: ArrayLike<number>, o: BatchedAccumulateOptions): void {
  const { n } = o;
  const outs = o.outs ?? 1;
  const nn = n * n;
  o.layerSlots.forEach((s, l) => {
    for (let e = 0; e < nn; e++) {
      let v = src[l * nn + e];
      if (o.abs ?? true) v = Math.abs(v);
      if (o.unitDiagonal && e % (n + 1) === 0) v = 1;
      dst[s * outs * nn + e] += o.weights[l] * v;
      if (outs > 1) dst[(s * outs + 1) * nn + e] += v;
    }
  });
}

export function accumulateAbsCpu(dst: Float32Array, src: ArrayLike<number>, weight: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] += weight * Math.abs(src[i]);
}

export function signCodesCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => (v > 0 ? 1 : -1));
}
