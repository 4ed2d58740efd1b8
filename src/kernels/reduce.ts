/**
 * Reductions (reduce.wgsl): full reductions to a [1] tensor, and per-row / per-column / per-slice
 * sums. Full reductions run in stages: workgroup partials (WG * ITEMS elements each), then
 * reduce_sum over the partials until one value remains, so any size works (grids fold via grid1d).
 */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { assertSameShape } from './elementwise.js';

const FILE = 'reduce.wgsl';
const WG = 64;
const ITEMS = 32;
const CHUNK = WG * ITEMS;

function reduceFull(gpu: Gpu, entry: string, inputs: GpuTensor[], scale: number): GpuTensor {
  let n = inputs[0].size;
  if (n === 0) return gpu.upload(new Float32Array(1), [1]);
  let buffers = inputs;
  let owned: GpuTensor | null = null;
  for (;;) {
    const [gx, gy] = gpu.grid1d(n, CHUNK);
    const groups = gx * gy;
    const last = groups === 1;
    const out = gpu.empty(last ? [1] : [groups]);
    gpu.dispatch({
      kernel: { file: FILE, entry },
      buffers: [out, ...buffers],
      uniforms: packUniforms([n, 0, { f32: last ? scale : 1 }, 0]),
      workgroups: [gx, gy],
    });
    // Safe to release while queued: the pool only hands it to later work on the same queue.
    owned?.dispose();
    if (last) return out;
    owned = out;
    buffers = [out];
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

function matrixDims(op: string, x: GpuTensor, cols: number): number {
  if (!Number.isInteger(cols) || cols <= 0 || x.size % cols !== 0) {
    throw new ShapeError(`${op}: ${cols} columns do not divide [${x.shape.join(', ')}] (${x.size} elements)`);
  }
  return x.size / cols;
}

/**
 * Treats x as [rows, cols] (row-major); returns scale * sum over each row, shaped outShape
 * (default [rows]).
 */
export function rowSums(gpu: Gpu, x: GpuTensor, cols: number, scale = 1, outShape?: readonly number[]): GpuTensor {
  const rows = matrixDims('rowSums', x, cols);
  const out = gpu.empty(outShape ?? [rows]);
  if (out.size !== rows) {
    out.dispose();
    throw new ShapeError(`rowSums: out shape [${outShape!.join(', ')}] does not hold ${rows} rows`);
  }
  gpu.dispatch({
    kernel: { file: FILE, entry: 'row_sum' },
    buffers: [out, x],
    uniforms: packUniforms([0, cols, { f32: scale }, rows]),
    workgroups: gpu.grid1d(rows, 1),
  });
  return out;
}

/** Treats x as [rows, cols]; returns [cols] with scale * sum over each column. */
export function colSums(gpu: Gpu, x: GpuTensor, cols: number, scale = 1): GpuTensor {
  const rows = matrixDims('colSums', x, cols);
  const out = gpu.empty([cols]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'col_sum' },
    buffers: [out, x],
    uniforms: packUniforms([0, cols, { f32: scale }, rows]),
    workgroups: gpu.grid1d(cols, WG),
  });
  return out;
}

/** x holds `slices` stacked blocks of shape outShape; returns their element-wise sum times scale. */
export function sumSlices(gpu: Gpu, x: GpuTensor, slices: number, outShape: readonly number[], scale = 1): GpuTensor {
  const out = gpu.empty(outShape);
  if (x.size !== slices * out.size) {
    out.dispose();
    throw new ShapeError(`sumSlices: ${x.size} elements are not ${slices} slices of [${outShape.join(', ')}]`);
  }
  gpu.dispatch({
    kernel: { file: FILE, entry: 'sum_slices' },
    buffers: [out, x],
    uniforms: packUniforms([out.size, 0, { f32: scale }, slices]),
    workgroups: gpu.grid1d(out.size, WG),
  });
  return out;
}

// ---- CPU references (f64 accumulation) ----------------------------------------------------------

export function sumCpu(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}
export function sumSquaresCpu(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
export function sumAbsProductCpu(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return s;
}
export function rowSumsCpu(x: ArrayLike<number>, cols: number, scale = 1): Float32Array {
  const rows = x.length / cols;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = scale * s;
  }
  return out;
}
export function colSumsCpu(x: ArrayLike<number>, cols: number, scale = 1): Float32Array {
  const rows = x.length / cols;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) acc[c] += x[r * cols + c];
  return Float32Array.from(acc, (v) => scale * v);
}
