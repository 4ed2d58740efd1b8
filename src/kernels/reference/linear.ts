/** References of the fully connected layer y = x W^T + b (x [N, In], w [Out, In]), f64 accumulation. */
import { f32Twin } from './f32.js';

export function linearF64(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  N: number,
  In: number,
  Out: number,
): Float64Array {
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

export const linearCpu = f32Twin(linearF64);
export const linearBackwardCpu = f32Twin(linearBackwardF64);
