/** Element-wise ops on same-shape tensors (elementwise.wgsl), with CPU references. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';

const WG = 256;
const FILE = 'elementwise.wgsl';

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a ShapeError unless a and b have identical shapes. */
export function assertSameShape(op: string, a: { shape: readonly number[] }, b: { shape: readonly number[] }): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
}

export function assertFiniteNumber(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
}

function run(gpu: Gpu, entry: string, buffers: GpuTensor[], n: number, s = 0, cols = 0): void {
  gpu.dispatch({
    kernel: { file: FILE, entry },
    buffers,
    uniforms: packUniforms([n, cols, { f32: s }, 0]),
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
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`fill: value must be a number, got ${value}`);
  run(gpu, 'fill', [t], t.size, value);
}

/** y[r, c] += b[c] in place; y is [rows, cols] (or any shape whose last dimension is cols). */
export function addBiasRows(gpu: Gpu, y: GpuTensor, b: GpuTensor): void {
  const cols = y.shape[y.shape.length - 1];
  if (b.shape.length !== 1 || b.shape[0] !== cols) {
    throw new ShapeError(`addBiasRows: bias [${b.shape.join(', ')}] does not match the last dimension ${cols} of [${y.shape.join(', ')}]`);
  }
  if (y.size === 0) return;
  run(gpu, 'add_bias', [y, b], y.size, 0, cols);
}

// ---- CPU references -----------------------------------------------------------------------------

export function addCpu(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v + b[i]);
}
export function mulCpu(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v * b[i]);
}
export function scaleCpu(x: ArrayLike<number>, s: number): Float32Array {
  return Float32Array.from(x, (v) => v * s);
}
export function absCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.abs(v));
}
export function axpyCpu(y: Float32Array, x: ArrayLike<number>, alpha = 1): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}
