/** Element-wise helpers for the proxies on the native device (signatures and errors of src/kernels/proxy-ops.ts). */
import {
  assertUnaliased,
  type BatchedAccumulateOptions,
  batchedAccumulateDims,
  checkAccumulateAbs,
  checkBatchedLayers,
  type UnstackGroupsOptions,
  unstackGroupsDims,
} from '../../kernels/params.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

export type { BatchedAccumulateOptions, UnstackGroupsOptions };

/** dst += weight * |src| in place (same element count). */
export function accumulateAbs(dev: NativeDevice, dst: NativeTensor, src: NativeTensor, weight: number): void {
  checkAccumulateAbs(dst.size, src.size);
  assertUnaliased('accumulateAbs', [['dst', dst]], [['src', src]], sameStorage);
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

/**
 * dst[s*outs] += sum over layers l of slot s of w_l * |src[l]| (and dst[s*outs+1] += sum |src[l]|
 * when outs = 2), in one pass over every slot.
 */
export function accumulateAbsBatched(dev: NativeDevice, dst: NativeTensor, src: NativeTensor, o: BatchedAccumulateOptions): void {
  const { outs, L } = batchedAccumulateDims(dst.size, src.size, o);
  assertUnaliased('accumulateAbsBatched', [['dst', dst]], [['src', src]], sameStorage);
  if (L === 0) return;
  checkBatchedLayers(o.slots, o.layerSlots, o.weights);
  dev.enqueue('accumulateAbsBatched', [dst, src], {
    n: o.n,
    slots: o.slots,
    outs,
    abs: o.abs ?? true,
    unitDiagonal: o.unitDiagonal ?? false,
    skipConstant: o.skipConstant ?? false,
    layerSlots: o.layerSlots,
    weights: o.weights,
    ...(o.weights2 ? { weights2: o.weights2 } : {}),
  });
}

/** Each group's rows of src [rows, groups, F] as one contiguous [rows, F] block at dst[offsets[g]] (offset -1: skipped). */
export function unstackGroups(dev: NativeDevice, dst: NativeTensor, src: NativeTensor, o: UnstackGroupsOptions): void {
  const { features } = unstackGroupsDims(dst.size, src.size, o);
  assertUnaliased('unstackGroups', [['dst', dst]], [['src', src]], sameStorage);
  if (src.size === 0 || o.offsets.every((off) => off === -1)) return;
  dev.enqueue('unstackGroups', [dst, src], { rows: o.rows, groups: o.groups, features, offsets: o.offsets });
}
