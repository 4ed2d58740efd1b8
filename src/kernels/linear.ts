/** Fully connected layer y = x W^T + b on matmul.wgsl, with CPU references. x [N, In], w [Out, In]. */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { addBiasRows } from './elementwise.js';
import { matmul } from './matmul.js';
import { colSums } from './reduce.js';

function dims(op: string, x: { shape: readonly number[] }, w: { shape: readonly number[] }): [number, number, number] {
  if (x.shape.length !== 2) throw new ShapeError(`${op}: x must be [N, In], got [${x.shape.join(', ')}]`);
  if (w.shape.length !== 2) throw new ShapeError(`${op}: w must be [Out, In], got [${w.shape.join(', ')}]`);
  if (x.shape[1] !== w.shape[1]) {
    throw new ShapeError(`${op}: x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] disagree on In`);
  }
  return [x.shape[0], x.shape[1], w.shape[0]];
}

export function linear(gpu: Gpu, x: GpuTensor, w: GpuTensor, b: GpuTensor | null): GpuTensor {
  const [, , Out] = dims('linear', x, w);
  if (b && (b.shape.length !== 1 || b.shape[0] !== Out)) {
    throw new ShapeError(`linear: bias must be [${Out}], got [${b.shape.join(', ')}]`);
  }
  const y = matmul(gpu, x, w, { transB: true });
  if (b) addBiasRows(gpu, y, b);
  return y;
}

export function linearBackward(
  gpu: Gpu,
  dy: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  hasBias: boolean,
): { dx: GpuTensor; dw: GpuTensor; db: GpuTensor | null } {
  const [N, , Out] = dims('linearBackward', x, w);
  if (dy.shape.length !== 2 || dy.shape[0] !== N || dy.shape[1] !== Out) {
    throw new ShapeError(`linearBackward: dy must be [${N}, ${Out}], got [${dy.shape.join(', ')}]`);
  }
  const dx = matmul(gpu, dy, w); // [N, Out] x [Out, In]
  const dw = matmul(gpu, dy, x, { transA: true }); // [Out, N] x [N, In]
  const db = hasBias ? colSums(gpu, dy, Out) : null;
  return { dx, dw, db };
}

// ---- CPU references (f64 accumulation) ----------------------------------------------------------

export function linearF64(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, In: number, Out: number): Float64Array {
  const y = new Float64Array(N * Out);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < In; i++) s += x[n * In + i] * w[o * In + i];
      y[n * Out + o] = s;
    }
  }
  return y;
}

export function linearBackwardF64(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  N: number,
  In: number,
  Out: number,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(N * In);
  const dw = new Float64Array(Out * In);
  const db = new Float64Array(Out);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Out; o++) {
      const g = dy[n * Out + o];
      db[o] += g;
      for (let i = 0; i < In; i++) {
        dx[n * In + i] += g * w[o * In + i];
        dw[o * In + i] += g * x[n * In + i];
      }
    }
  }
  return { dx, dw, db };
}

export function linearCpu(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, In: number, Out: number): Float32Array {
  return Float32Array.from(linearF64(x, w, b, N, In, Out));
}

export function linearBackwardCpu(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  N: number,
  In: number,
  Out: number,
): { dx: Float32Array; dw: Float32Array; db: Float32Array } {
  const r = linearBackwardF64(dy, x, w, N, In, Out);
  return { dx: Float32Array.from(r.dx), dw: Float32Array.from(r.dw), db: Float32Array.from(r.db) };
}
