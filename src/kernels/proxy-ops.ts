/** Element-wise helpers for the proxies (proxy_ops.wgsl). */
import type { Gpu } from '../gpu/gpu.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import {
  assertUnaliased,
  type BatchedAccumulateOptions,
  batchedAccumulateDims,
  checkAccumulateAbs,
  checkBatchedLayers,
  type UnstackGroupsOptions,
  unstackGroupsDims,
} from './params.js';
import { accumulateAbsBatchedCpu, accumulateAbsCpu, signCodesCpu, unstackGroupsCpu } from './reference/proxy-ops.js';

export {
  type BatchedAccumulateOptions,
  accumulateAbsBatchedCpu,
  accumulateAbsCpu,
  signCodesCpu,
  type UnstackGroupsOptions,
  unstackGroupsCpu,
};

const WG = 256;
const FILE = 'proxy_ops.wgsl';
export const PROXY_OPS_PARAMS = defineUniforms(FILE, 'Params', { n: 'u32', weight: 'f32', _a: 'u32', _b: 'u32' });
/** flags: bit 0 take |C|, bit 1 count the diagonal as exactly 1, bit 2 skip a layer with a zero diagonal entry. */
export const BATCHED_ACCUMULATE_PARAMS = defineUniforms(FILE, 'BatchedParams', {
  n: 'u32',
  slots: 'u32',
  outs: 'u32',
  flags: 'u32',
  slot_begin: 'u32',
  slot_end: 'u32',
  _a: 'u32',
  _b: 'u32',
});

/** dst += weight * |src| in place (same element count). */
export function accumulateAbs(gpu: Gpu, dst: GpuTensor, src: GpuTensor, weight: number): void {
  checkAccumulateAbs(dst.size, src.size);
  assertUnaliased('accumulateAbs', [['dst', dst]], [['src', src]], sameBuffer);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'accumulate_abs' },
    buffers: [dst, src],
    uniforms: PROXY_OPS_PARAMS.pack({ n: dst.size, weight }),
    workgroups: gpu.grid1d(dst.size, WG),
  });
}

/** +1 where x > 0, else -1. */
export function signCodes(gpu: Gpu, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'sign_codes' },
    buffers: [out, x],
    uniforms: PROXY_OPS_PARAMS.pack({ n: x.size, weight: 0 }),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return out;
}

/** Overwrites x with +1 where x > 0, else -1 (for buffers the caller owns, e.g. an arena). */
export function signCodesInPlace(gpu: Gpu, x: GpuTensor, elems = x.size): void {
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'sign_codes_inplace' },
    buffers: [x],
    uniforms: PROXY_OPS_PARAMS.pack({ n: elems, weight: 0 }),
    workgroups: gpu.grid1d(elems, WG),
  });
}

/**
 * Slot ranges + weights, laid out as accumulate_abs_batched reads them (with weights2, each layer's
 * two weights side by side). An empty slot's range is empty at the layers of the slots before it,
 * so the ranges ascend and a workgroup reads its layers' span from its first and last slot.
 * Throws on unsorted slots.
 */
export function batchedLayerMeta(
  slots: number,
  layerSlots: readonly number[],
  weights: readonly number[],
  weights2?: readonly number[],
): Float32Array {
  const L = layerSlots.length;
  checkBatchedLayers(slots, layerSlots, weights);
  const stride = weights2 ? 2 : 1;
  const meta = new Float32Array(2 * slots + stride * L);
  for (let s = 0, l = 0; s < slots; s++) {
    meta[2 * s] = l;
    while (l < L && layerSlots[l] === s) l++;
    meta[2 * s + 1] = l;
  }
  for (let l = 0; l < L; l++) {
    meta[2 * slots + stride * l] = weights[l];
    if (weights2) meta[2 * slots + stride * l + 1] = weights2[l];
  }
  return meta;
}

function batchedAccumulateFlags(o: BatchedAccumulateOptions): number {
  return ((o.abs ?? true) ? 1 : 0) | (o.unitDiagonal ? 2 : 0) | (o.skipConstant ? 4 : 0);
}

/**
 * How skipConstant finds a layer's zero diagonal: 'workgroup' (default) reads each layer's n
 * diagonal entries once per workgroup, into workgroup memory; 'per-thread' is the kernel before
 * it (every thread reads them for every layer of its slot), kept for A/B runs. Both add the same
 * terms in the same order: their sums agree bit for bit.
 */
export type SkipCheck = 'workgroup' | 'per-thread';

/**
 * dst[s*outs] += sum over layers l of slot s of w_l * |src[l]|  (and dst[s*outs+1] += sum |src[l]|
 * when outs >= 2, dst[s*outs+2] += sum w2_l |src[l]| when outs = 3), in one dispatch for every
 * layer and slot.
 */
export function accumulateAbsBatched(
  gpu: Gpu,
  dst: GpuTensor,
  src: GpuTensor,
  o: BatchedAccumulateOptions,
  skipCheck: SkipCheck = 'workgroup',
): void {
  const { n, slots } = o;
  const { outs, L } = batchedAccumulateDims(dst.size, src.size, o);
  assertUnaliased('accumulateAbsBatched', [['dst', dst]], [['src', src]], sameBuffer);
  if (L === 0) return;
  const meta = gpu.upload(batchedLayerMeta(slots, o.layerSlots, o.weights, o.weights2));
  const perThread = skipCheck === 'per-thread';
  // Threads only for the slots with layers (a chunk of WRCor's arena fills a few of 2 per network).
  const [slotBegin, slotEnd] = perThread ? [0, slots] : [o.layerSlots[0], o.layerSlots[L - 1] + 1];
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: perThread ? 'accumulate_abs_batched_per_thread' : 'accumulate_abs_batched' },
    buffers: [dst, src, meta],
    uniforms: BATCHED_ACCUMULATE_PARAMS.pack({
      n,
      slots,
      outs,
      flags: batchedAccumulateFlags(o),
      slot_begin: slotBegin,
      slot_end: slotEnd,
    }),
    workgroups: gpu.grid1d((slotEnd - slotBegin) * n * n, WG),
  });
  // The pool hands this buffer out again only to work queued after this dispatch.
  meta.dispose();
}

export const UNSTACK_PARAMS = defineUniforms(FILE, 'UnstackParams', { rows: 'u32', groups: 'u32', features: 'u32', _pad: 'u32' });
const SKIP = 0xffffffff;

/**
 * Each group's rows of src [rows, groups, F] as one contiguous [rows, F] block at dst[offsets[g]]
 * (offset -1: not written), in one dispatch: a channel-stacked network's ReLU tensor cut into
 * its networks' slices where the batched correlations want them.
 */
export function unstackGroups(gpu: Gpu, dst: GpuTensor, src: GpuTensor, o: UnstackGroupsOptions): void {
  const { features } = unstackGroupsDims(dst.size, src.size, o);
  assertUnaliased('unstackGroups', [['dst', dst]], [['src', src]], sameBuffer);
  if (src.size === 0 || o.offsets.every((off) => off === -1)) return;
  // u32 offsets (the arena may pass 2^24 elements, where f32 stops being exact), uploaded as raw bits.
  const offs = gpu.upload(new Float32Array(Uint32Array.from(o.offsets, (off) => (off === -1 ? SKIP : off)).buffer));
  gpu.dispatch({
    kernel: { file: FILE, entry: 'unstack_groups' },
    buffers: [dst, src, offs],
    uniforms: UNSTACK_PARAMS.pack({ rows: o.rows, groups: o.groups, features, _pad: 0 }),
    workgroups: gpu.grid1d(src.size, WG),
  });
  // The pool hands this buffer out again only to work queued after this dispatch.
  offs.dispose();
}

// ---- descriptors ----------------------------------------------------------------------------------

export const accumulateAbsOp = defineOp({
  name: 'accumulateAbs',
  summary: 'dst += weight |src| in place (WRCor: sums |correlation| matrices)',
  kernels: [{ file: FILE, entries: ['accumulate_abs'], uniforms: PROXY_OPS_PARAMS }],
  cost: ({ n }: { n: number }) => elementwiseCost(n, 2, 1, 2),
  reference: accumulateAbsCpu,
  webgpu: accumulateAbs,
});

export const signCodesOp = defineOp({
  name: 'signCodes',
  summary: '+1 where x > 0, else -1 (NASWOT binary codes)',
  kernels: [{ file: FILE, entries: ['sign_codes'], uniforms: PROXY_OPS_PARAMS }],
  cost: ({ n }: { n: number }) => elementwiseCost(n, 1, 1),
  reference: signCodesCpu,
  webgpu: signCodes,
});

export const signCodesInPlaceOp = defineOp({
  name: 'signCodesInPlace',
  summary: 'x = +1 where x > 0, else -1, over the first elems of a buffer the caller owns (NASWOT arena)',
  kernels: [{ file: FILE, entries: ['sign_codes_inplace'], uniforms: PROXY_OPS_PARAMS }],
  cost: ({ n }: { n: number }) => elementwiseCost(n, 1, 1),
  reference: signCodesCpu,
  webgpu: signCodesInPlace,
});

export const accumulateAbsBatchedOp = defineOp({
  name: 'accumulateAbsBatched',
  summary: "dst[slot] += sum over the slot's layers of w_l |C_l| for a stack of N x N matrices, one dispatch",
  kernels: [
    { file: FILE, entries: ['accumulate_abs_batched', 'accumulate_abs_batched_per_thread'], uniforms: BATCHED_ACCUMULATE_PARAMS },
  ],
  // Every layer's matrix read once, each slot's output(s) read and written once.
  cost: ({ n, layers, slots, outs = 1 }: { n: number; layers: number; slots: number; outs?: number }) => ({
    flops: (1 + outs) * layers * n * n,
    bytes: 4 * (layers * n * n + 2 * slots * outs * n * n),
  }),
  reference: accumulateAbsBatchedCpu,
  webgpu: accumulateAbsBatched,
});

export const unstackGroupsOp = defineOp({
  name: 'unstackGroups',
  summary:
    'each group of src [rows, groups, F] as a contiguous [rows, F] block at its dst offset (stacked networks -> per-network slices)',
  kernels: [{ file: FILE, entries: ['unstack_groups'], uniforms: UNSTACK_PARAMS }],
  // A copy: every element read once and written once (skipped groups count as moved).
  cost: ({ n }: { n: number }) => ({ flops: 0, bytes: 8 * n }),
  reference: unstackGroupsCpu,
  webgpu: unstackGroups,
});
