/**
 * Reductions (reduce.wgsl): full reductions to a [1] tensor, and per-row / per-column / per-slice
 * sums. Full reductions run in stages: workgroup partials (WG * ITEMS elements each, the chunked
 * fold of chunked_fold.wgsl), then reduce_sum over the partials until one value remains, so any
 * size works (grids fold via grid1d).
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost, type KernelRef } from './descriptor.js';
import {
  assertDotPartialsUnaliased,
  assertSameShape,
  checkDotPartials,
  checkRowSumsOut,
  checkSumSlices,
  reduceRows,
} from './params.js';
import {
  colSumsCpu,
  dotPartialsCpu,
  rowSumsCpu,
  sumAbsProductCpu,
  sumCpu,
  sumSlicesCpu,
  sumSquaresCpu,
} from './reference/reduce.js';

export { colSumsCpu, dotPartialsCpu, rowSumsCpu, sumAbsProductCpu, sumCpu, sumSlicesCpu, sumSquaresCpu };

const FILE = 'reduce.wgsl';
/** The defaults reduce.wgsl declares for its override constants WG and ITEMS. */
export const REDUCE_WG = 64;
export const REDUCE_ITEMS = 32;
const CHUNK = REDUCE_WG * REDUCE_ITEMS;

export const REDUCE_PARAMS = defineUniforms(FILE, 'Params', { n: 'u32', cols: 'u32', s: 'f32', rows: 'u32' });

function reduceFull(gpu: Gpu, entry: string, inputs: [GpuTensor] | [GpuTensor, GpuTensor], scale: number): GpuTensor {
  let n = inputs[0].size;
  if (n === 0) return gpu.upload(new Float32Array(1), [1]);
  // Every full reduction binds a and b (reduce.wgsl): a unary one gets its input twice.
  let buffers: GpuTensor[] = inputs.length === 2 ? inputs : [inputs[0], inputs[0]];
  let owned: GpuTensor | null = null;
  for (;;) {
    const [gx, gy] = gpu.grid1d(n, CHUNK);
    const groups = gx * gy;
    const last = groups === 1;
    const out = gpu.empty(last ? [1] : [groups]);
    gpu.dispatch({
      kernel: { file: FILE, entry },
      buffers: [out, ...buffers],
      uniforms: REDUCE_PARAMS.pack({ n, cols: 0, s: last ? scale : 1, rows: 0 }),
      workgroups: [gx, gy],
    });
    // Safe to release while queued: the pool only hands it to later work on the same queue.
    owned?.dispose();
    if (last) return out;
    owned = out;
    buffers = [out, out];
    entry = 'reduce_sum';
    n = groups;
  }
}

/** sum(x) as a [1] tensor. */
export function sum(gpu: Gpu, x: GpuTensor, scale = 1): GpuTensor {
  return reduceFull(gpu, 'reduce_sum', [x], scale);
}

/** sum(x^2) as a [1] tensor. */
export function sumSquares(gpu: Gpu, x: GpuTensor): GpuTensor {
  return reduceFull(gpu, 'reduce_sumsq', [x], 1);
}

/** sum |a * b| as a [1] tensor (same shapes). */
export function sumAbsProduct(gpu: Gpu, a: GpuTensor, b: GpuTensor): GpuTensor {
  assertSameShape('sumAbsProduct', a, b);
  return reduceFull(gpu, 'reduce_absprod', [a, b], 1);
}

/**
 * Dot-product partials: partials[g] = sum of a * b over chunk g of wg * items elements (a and b
 * of n elements each; partials holds one value per workgroup of gpu.grid1d(n, wg * items)).
 */
export function dotPartials(
  gpu: Gpu,
  a: GpuTensor,
  b: GpuTensor,
  partials: GpuTensor,
  wg = REDUCE_WG,
  items = REDUCE_ITEMS,
): void {
  const n = a.size;
  const [gx, gy] = gpu.grid1d(n, wg * items);
  checkDotPartials(n, b.size, partials.size, gx * gy);
  assertDotPartialsUnaliased(partials, a, b, sameBuffer);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'reduce_dot', constants: { WG: wg, ITEMS: items } },
    buffers: [partials, a, b],
    uniforms: REDUCE_PARAMS.pack({ n, cols: 0, s: 1, rows: 0 }),
    workgroups: [gx, gy],
  });
}

/**
 * Treats x as [rows, cols] (row-major); returns scale * sum over each row, shaped outShape
 * (default [rows]).
 */
export function rowSums(gpu: Gpu, x: GpuTensor, cols: number, scale = 1, outShape?: readonly number[]): GpuTensor {
  const rows = reduceRows('rowSums', x, cols);
  const out = gpu.empty(outShape ?? [rows]);
  if (out.size !== rows) {
    out.dispose();
    checkRowSumsOut(out.size, rows, outShape);
  }
  gpu.dispatch({
    kernel: { file: FILE, entry: 'row_sum' },
    buffers: [out, x],
    uniforms: REDUCE_PARAMS.pack({ n: 0, cols, s: scale, rows }),
    workgroups: gpu.grid1d(rows, 1),
  });
  return out;
}

/** Treats x as [rows, cols]; returns [cols] with scale * sum over each column. */
export function colSums(gpu: Gpu, x: GpuTensor, cols: number, scale = 1): GpuTensor {
  const rows = reduceRows('colSums', x, cols);
  const out = gpu.empty([cols]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'col_sum' },
    buffers: [out, x],
    uniforms: REDUCE_PARAMS.pack({ n: 0, cols, s: scale, rows }),
    workgroups: gpu.grid1d(cols, REDUCE_WG),
  });
  return out;
}

/** x holds `slices` stacked blocks of shape outShape; returns their element-wise sum times scale. */
export function sumSlices(gpu: Gpu, x: GpuTensor, slices: number, outShape: readonly number[], scale = 1): GpuTensor {
  const out = gpu.empty(outShape);
  if (x.size !== slices * out.size) {
    out.dispose();
    checkSumSlices(x.size, slices, outShape, out.size);
  }
  sumSlicesInto(gpu, x, slices, out, scale);
  return out;
}

/** out = scale * the element-wise sum of the `slices` stacked blocks of x (x holds slices x out.size). */
export function sumSlicesInto(gpu: Gpu, x: GpuTensor, slices: number, out: GpuTensor, scale = 1): void {
  if (x.size < slices * out.size)
    throw new ShapeError(`sumSlicesInto: ${x.size} elements are not ${slices} slices of ${out.size}`);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'sum_slices' },
    buffers: [out, x],
    uniforms: REDUCE_PARAMS.pack({ n: out.size, cols: 0, s: scale, rows: slices }),
    workgroups: gpu.grid1d(out.size, REDUCE_WG),
  });
}

// ---- descriptors ----------------------------------------------------------------------------------

const FOLD = { WG: REDUCE_WG, ITEMS: REDUCE_ITEMS };
/** sumSlices' kernel: also in the descriptors of the ops that sum split-K partials with sumSlicesInto. */
export const SUM_SLICES_KERNEL: KernelRef = {
  file: FILE,
  entries: ['sum_slices'],
  uniforms: REDUCE_PARAMS,
  overrides: { WG: REDUCE_WG },
};
/** A full reduction of n elements reads each input once and writes one value (partials are noise). */
const fullCost =
  (inputs: number, flopsPerElem: number) =>
  ({ n }: { n: number }) => ({
    flops: flopsPerElem * n,
    bytes: 4 * (inputs * n + 1),
  });

export const sumOp = defineOp({
  name: 'sum',
  summary: 'scale * sum(x) as a [1] tensor (staged chunked folds)',
  kernels: [{ file: FILE, entries: ['reduce_sum'], uniforms: REDUCE_PARAMS, overrides: FOLD }],
  cost: fullCost(1, 1),
  reference: sumCpu,
  webgpu: sum,
});

export const sumSquaresOp = defineOp({
  name: 'sumSquares',
  summary: 'sum(x^2) as a [1] tensor',
  kernels: [{ file: FILE, entries: ['reduce_sumsq', 'reduce_sum'], uniforms: REDUCE_PARAMS, overrides: FOLD }],
  cost: fullCost(1, 2),
  reference: sumSquaresCpu,
  webgpu: sumSquares,
});

export const sumAbsProductOp = defineOp({
  name: 'sumAbsProduct',
  summary: 'sum |a * b| as a [1] tensor',
  kernels: [{ file: FILE, entries: ['reduce_absprod', 'reduce_sum'], uniforms: REDUCE_PARAMS, overrides: FOLD }],
  cost: fullCost(2, 3),
  reference: sumAbsProductCpu,
  webgpu: sumAbsProduct,
});

export const dotPartialsOp = defineOp({
  name: 'dotPartials',
  summary: 'per-chunk partial sums of a * b (first pass of a deterministic two-pass dot product)',
  kernels: [{ file: FILE, entries: ['reduce_dot'], uniforms: REDUCE_PARAMS, overrides: FOLD }],
  cost: ({ n }: { n: number }) => ({ flops: 2 * n, bytes: 4 * (2 * n + Math.ceil(n / (REDUCE_WG * REDUCE_ITEMS))) }),
  reference: dotPartialsCpu,
  webgpu: dotPartials,
});

export const rowSumsOp = defineOp({
  name: 'rowSums',
  summary: 'scale * per-row sums of a [rows, cols] matrix',
  kernels: [{ file: FILE, entries: ['row_sum'], uniforms: REDUCE_PARAMS, overrides: { WG: REDUCE_WG } }],
  cost: ({ rows, cols }: { rows: number; cols: number }) => ({ flops: rows * cols, bytes: 4 * (rows * cols + rows) }),
  reference: rowSumsCpu,
  webgpu: rowSums,
});

export const colSumsOp = defineOp({
  name: 'colSums',
  summary: 'scale * per-column sums of a [rows, cols] matrix',
  kernels: [{ file: FILE, entries: ['col_sum'], uniforms: REDUCE_PARAMS, overrides: { WG: REDUCE_WG } }],
  cost: ({ rows, cols }: { rows: number; cols: number }) => ({ flops: rows * cols, bytes: 4 * (rows * cols + cols) }),
  reference: colSumsCpu,
  webgpu: colSums,
});

export const sumSlicesOp = defineOp({
  name: 'sumSlices',
  summary: 'element-wise sum of stacked slices (split-K partials)',
  kernels: [SUM_SLICES_KERNEL],
  cost: ({ slices, n }: { slices: number; n: number }) => elementwiseCost(n, slices, 1, slices),
  reference: sumSlicesCpu,
  webgpu: sumSlices,
});
