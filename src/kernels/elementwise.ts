/** Element-wise ops on same-shape tensors (elementwise.wgsl). */
import type { Gpu } from '../gpu/gpu.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost, type KernelRef } from './descriptor.js';
import {
  assertFiniteNumber,
  assertSameShape,
  assertUnaliased,
  biasRowsCols,
  checkFillValue,
  maskedAddDims,
  sameShape,
} from './params.js';
import { absCpu, addBiasRowsCpu, addCpu, axpyCpu, fillCpu, maskedAddCpu, mulCpu, scaleCpu } from './reference/elementwise.js';

export { absCpu, addBiasRowsCpu, addCpu, axpyCpu, fillCpu, maskedAddCpu, mulCpu, scaleCpu };

const WG = 256;
const FILE = 'elementwise.wgsl';
export const ELEMENTWISE_PARAMS = defineUniforms(FILE, 'Params', { n: 'u32', cols: 'u32', s: 'f32', _pad: 'u32' });

/** The shared checks (src/kernels/params.ts), re-exported for existing importers. */
export { assertFiniteNumber, assertSameShape, sameShape };

function run(gpu: Gpu, entry: string, buffers: GpuTensor[], n: number, s = 0, cols = 0): void {
  gpu.dispatch({
    kernel: { file: FILE, entry },
    buffers,
    uniforms: ELEMENTWISE_PARAMS.pack({ n, cols, s }),
    workgroups: gpu.grid1d(n, WG),
  });
}

export function add(gpu: Gpu, a: GpuTensor, b: GpuTensor): GpuTensor {
  assertSameShape('add', a, b);
  const out = gpu.empty(a.shape);
  run(gpu, 'add', [out, a, b], a.size);
  return out;
}

export function mul(gpu: Gpu, a: GpuTensor, b: GpuTensor): GpuTensor {
  assertSameShape('mul', a, b);
  const out = gpu.empty(a.shape);
  run(gpu, 'mul', [out, a, b], a.size);
  return out;
}

export function scale(gpu: Gpu, x: GpuTensor, s: number): GpuTensor {
  assertFiniteNumber('scale', 's', s);
  const out = gpu.empty(x.shape);
  run(gpu, 'scale', [out, x], x.size, s);
  return out;
}

export function abs(gpu: Gpu, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  run(gpu, 'abs_value', [out, x], x.size);
  return out;
}

/** y += alpha * x in place (same shapes). x may be y itself. */
export function axpy(gpu: Gpu, y: GpuTensor, x: GpuTensor, alpha = 1): void {
  assertSameShape('axpy', y, x);
  assertFiniteNumber('axpy', 'alpha', alpha);
  // One buffer cannot be bound both writable and read-only in a dispatch.
  if (y.buffer === x.buffer) run(gpu, 'scale_self', [y], y.size, 1 + alpha);
  else run(gpu, 'axpy', [y, x], y.size, alpha);
}

/** t[:] = value in place. */
export function fill(gpu: Gpu, t: GpuTensor, value: number): void {
  checkFillValue(value);
  run(gpu, 'fill', [t], t.size, value);
}

/** y[r, c] += b[c] in place; y is [rows, cols] (or any shape whose last dimension is cols). */
export function addBiasRows(gpu: Gpu, y: GpuTensor, b: GpuTensor): void {
  const cols = biasRowsCols(y.shape, b.shape);
  assertUnaliased('addBiasRows', [['y', y]], [['b', b]], sameBuffer);
  if (y.size === 0) return;
  run(gpu, 'add_bias', [y, b], y.size, 0, cols);
}

export const MASKED_ADD_PARAMS = defineUniforms(FILE, 'MaskedParams', { n: 'u32', channels: 'u32', inner: 'u32', _pad: 'u32' });

/**
 * (acc or 0) + mask[c] * x, x [N, C, ...] and mask [C] (a new tensor): a channel-masked skip or
 * pool added to a node's sum in one pass (stacked networks: each network's channels kept or
 * silenced), and its input gradient mask[c] * dy, or that summed into a gradient so far.
 */
export function maskedAdd(gpu: Gpu, x: GpuTensor, mask: GpuTensor, acc: GpuTensor | null): GpuTensor {
  const { channels, inner } = maskedAddDims(x, mask, acc);
  const out = gpu.empty(x.shape);
  if (x.size === 0) return out;
  gpu.dispatch({
    kernel: { file: FILE, entry: acc ? 'masked_add' : 'masked_scale' },
    buffers: acc ? [out, x, mask, acc] : [out, x, mask],
    uniforms: MASKED_ADD_PARAMS.pack({ n: x.size, channels, inner, _pad: 0 }),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return out;
}

// ---- descriptors ----------------------------------------------------------------------------------

const kernel = (...entries: string[]): KernelRef[] => [{ file: FILE, entries, uniforms: ELEMENTWISE_PARAMS }];
type N = { n: number };

export const addOp = defineOp({
  name: 'add',
  summary: 'a + b',
  kernels: kernel('add'),
  cost: ({ n }: N) => elementwiseCost(n, 2, 1),
  reference: addCpu,
  webgpu: add,
});

export const mulOp = defineOp({
  name: 'mul',
  summary: 'a * b',
  kernels: kernel('mul'),
  cost: ({ n }: N) => elementwiseCost(n, 2, 1),
  reference: mulCpu,
  webgpu: mul,
});

export const scaleOp = defineOp({
  name: 'scale',
  summary: 's * x',
  kernels: kernel('scale'),
  cost: ({ n }: N) => elementwiseCost(n, 1, 1),
  reference: scaleCpu,
  webgpu: scale,
});

export const absOp = defineOp({
  name: 'abs',
  summary: '|x|',
  kernels: kernel('abs_value'),
  cost: ({ n }: N) => elementwiseCost(n, 1, 1),
  reference: absCpu,
  webgpu: abs,
});

export const axpyOp = defineOp({
  name: 'axpy',
  summary: 'y += alpha x in place (x may be y)',
  kernels: kernel('axpy', 'scale_self'),
  cost: ({ n }: N) => elementwiseCost(n, 2, 1, 2),
  reference: axpyCpu,
  webgpu: axpy,
});

export const fillOp = defineOp({
  name: 'fill',
  summary: 't[:] = value in place',
  kernels: kernel('fill'),
  cost: ({ n }: N) => elementwiseCost(n, 0, 1, 0),
  reference: fillCpu,
  webgpu: fill,
});

export const addBiasRowsOp = defineOp({
  name: 'addBiasRows',
  summary: 'y[r, c] += b[c] in place',
  kernels: kernel('add_bias'),
  cost: ({ rows, cols }: { rows: number; cols: number }) => ({ flops: rows * cols, bytes: 4 * (2 * rows * cols + cols) }),
  reference: addBiasRowsCpu,
  webgpu: addBiasRows,
});

export const maskedAddOp = defineOp({
  name: 'maskedAdd',
  summary: '(acc or 0) + mask[c] x for x [N, C, ...] (a channel-masked sum: stacked networks)',
  kernels: [{ file: FILE, entries: ['masked_add', 'masked_scale'], uniforms: MASKED_ADD_PARAMS }],
  cost: ({ n }: N) => elementwiseCost(n, 2, 1, 2),
  reference: maskedAddCpu,
  webgpu: maskedAdd,
});
