/** References of batchnorm.wgsl: training-mode batch norm over (N, H, W) per channel, biased variance, f64. */
import { f32Twin } from './f32.js';

function cpuDims(shape: readonly number[]): [number, number, number] {
  const [N, C] = shape;
  return [N, C, shape.length === 4 ? shape[2] * shape[3] : 1];
}

export function batchNormForwardF64(
  x: ArrayLike<number>,
  shape: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps = 1e-5,
): { y: Float64Array; mean: Float64Array; invStd: Float64Array } {
  const [N, C, HW] = cpuDims(shape);
  const mean = new Float64Array(C);
  const invStd = new Float64Array(C);
  const y = new Float64Array(N * C * HW);
  const M = N * HW;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
    const m = s / M;
    let v = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) v += (x[(n * C + c) * HW + i] - m) ** 2;
    mean[c] = m;
    invStd[c] = 1 / Math.sqrt(v / M + eps);
    const g = gamma ? gamma[c] : 1;
    const b = beta ? beta[c] : 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        y[k] = (x[k] - m) * invStd[c] * g + b;
      }
    }
  }
  return { y, mean, invStd };
}

export function batchNormBackwardF64(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  gamma: ArrayLike<number> | null,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const [N, C, HW] = cpuDims(shape);
  const M = N * HW;
  const dx = new Float64Array(N * C * HW);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sdy = 0;
    let sdyx = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        sdy += dy[k];
        sdyx += dy[k] * (x[k] - mean[c]) * invStd[c];
      }
    }
    dbeta[c] = sdy;
    dgamma[c] = sdyx;
    const g = gamma ? gamma[c] : 1;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        const xhat = (x[k] - mean[c]) * invStd[c];
        dx[k] = g * invStd[c] * (dy[k] - sdy / M - (xhat * sdyx) / M);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

export const batchNormForwardCpu = f32Twin(batchNormForwardF64);

/** batchNormForwardCpu's y plus a residual, each sum rounded to f32 once. */
export function batchNormForwardAddCpu(
  x: ArrayLike<number>,
  shape: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  residual: ArrayLike<number>,
  eps = 1e-5,
): { y: Float32Array; mean: Float32Array; invStd: Float32Array } {
  const r = batchNormForwardCpu(x, shape, gamma, beta, eps);
  return { ...r, y: r.y.map((v, i) => v + residual[i]) };
}

export const batchNormBackwardCpu = f32Twin(batchNormBackwardF64);

/** relu6 of batchNormForwardF64's y (the MBConv pair), f64. */
export function batchNormRelu6ForwardF64(
  x: ArrayLike<number>,
  shape: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps = 1e-5,
): { z: Float64Array; mean: Float64Array; invStd: Float64Array } {
  const { y, mean, invStd } = batchNormForwardF64(x, shape, gamma, beta, eps);
  return { z: y.map((v) => Math.min(Math.max(v, 0), 6)), mean, invStd };
}

export const batchNormRelu6ForwardCpu = f32Twin(batchNormRelu6ForwardF64);

/**
 * relu6(batch norm)'s backward, f64: dz where the batch norm's value (x - mean) invStd gamma + beta
 * lies in (0, 6), else 0 (relu6Backward), then batchNormBackwardF64.
 */
export function batchNormRelu6BackwardF64(
  dz: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const [, C, HW] = cpuDims(shape);
  const dy = Float64Array.from(dz, (g, k) => {
    const c = Math.floor(k / HW) % C;
    const v = (x[k] - mean[c]) * invStd[c] * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
    return v > 0 && v < 6 ? g : 0;
  });
  return batchNormBackwardF64(dy, x, shape, mean, invStd, gamma);
}

export const batchNormRelu6BackwardCpu = f32Twin(batchNormRelu6BackwardF64);

/**
 * Eval-mode batch norm with given statistics (the running averages): y = (x - mean[c]) invStd[c]
 * gamma[c] + beta[c], f64. gamma/beta null = affine off.
 */
export function batchNormEvalF64(
  x: ArrayLike<number>,
  shape: readonly number[],
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
): Float64Array {
  const [N, C, HW] = cpuDims(shape);
  const y = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const k = invStd[c] * (gamma ? gamma[c] : 1);
      const b = beta ? beta[c] : 0;
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        y[j] = (x[j] - mean[c]) * k + b;
      }
    }
  }
  return y;
}

export const batchNormEvalCpu = f32Twin(batchNormEvalF64);
