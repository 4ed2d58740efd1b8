/** Element-wise helpers for the proxies on the native device (signatures and errors of src/kernels/proxy-ops.ts). */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';

/** dst += weight * |src| in place (same element count). */
export function accumulateAbs(dev: NativeDevice, dst: NativeTensor, src: NativeTensor, weight: number): void {
  if (dst.size !== src.size) throw new ShapeError(`accumulateAbs: ${dst.size} vs ${src.size} elements`);
  dev.enqueue('accumulateAbs', [dst, src], { n: dst.size, weight });
}

/** +1 where x > 0, else -1. */
export function signCodes(dev: NativeDevice, x: NativeTensor): NativeTensor {
  const out = dev.empty(x.shape);
  dev.enqueue('signCodes', [x, out], { n: x.size });
  return out;
}

/** Overwrites x with +1 where x > 0, else -1 (for buffers the caller owns, e.g. an arena). */
export function signCodesInPlace(dev: NativeDevice, x: NativeTensor, elems = x.size): void {
  dev.enqueue('signCodesInPlace', [x], { n: elems });
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

/** The checks of src/kernels/proxy-ops.ts batchedLayerMeta: sorted, in-range slots, one weight per layer. */
function checkLayers(slots: number, layerSlots: readonly number[], weights: readonly number[]): void {
  const L = layerSlots.length;
  if (weights.length !== L) throw new ShapeError(`accumulateAbsBatched: ${L} layer slots but ${weights.length} weights`);
  for (let l = 0; l < L; l++) {
    const s = layerSlots[l];
    if (!Number.isInteger(s) || s < 0 || s >= slots) throw new RangeError(`accumulateAbsBatched: layer ${l} has slot ${s}, not in [0, ${slots})`);
    if (l > 0 && s < layerSlots[l - 1]) throw new RangeError('accumulateAbsBatched: layers must be sorted by slot');
  }
}

/**
 * dst[s*outs] += sum over layers l of slot s of w_l * |src[l]| (and dst[s*outs+1] += sum |src[l]|
 * when outs = 2), in one pass over every slot.
 */
export function accumulateAbsBatched(dev: NativeDevice, dst: NativeTensor, src: NativeTensor, o: BatchedAccumulateOptions): void {
  const { n, slots } = o;
  const outs = o.outs ?? 1;
  const L = o.layerSlots.length;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(slots) || slots < 1) {
    throw new ShapeError(`accumulateAbsBatched: bad n=${n} or slots=${slots}`);
  }
  if (dst.size < slots * outs * n * n) throw new ShapeError(`accumulateAbsBatched: dst has ${dst.size} elements, needs ${slots}x${outs}x${n}x${n}`);
  if (src.size < L * n * n) throw new ShapeError(`accumulateAbsBatched: src has ${src.size} elements, needs ${L}x${n}x${n}`);
  if (L === 0) return;
  checkLayers(slots, o.layerSlots, o.weights);
  dev.enqueue('accumulateAbsBatched', [dst, src], {
    n,
    slots,
    outs,
    abs: o.abs ?? true,
    unitDiagonal: o.unitDiagonal ?? false,
    layerSlots: o.layerSlots,
    weights: o.weights,
  });
}
