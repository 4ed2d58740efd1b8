/**
 * Training-mode batch norm (batchnorm.wgsl) over (N, H, W) per channel of NCHW input, biased
 * variance, with CPU references. gamma/beta null = affine off (gamma 1, beta 0).
 */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { assertSameShape } from './elementwise.js';

const FILE = 'batchnorm.wgsl';
/** Elements per statistics workgroup: enough work per workgroup, enough workgroups per channel. */
const CHUNK_TARGET = 16384;
const MAX_SPLITS = 256;

interface BnDims {
  N: number;
  C: number;
  HW: number;
  count: number;
  S: number;
  chunk: number;
}

function bnDims(op: string, shape: readonly number[]): BnDims {
  if (shape.length !== 4 && shape.length !== 2) {
    throw new ShapeError(`${op}: expected [N, C, H, W] (or [N, C]), got [${shape.join(', ')}]`);
  }
  const [N, C] = shape;
  const HW = shape.length === 4 ? shape[2] * shape[3] : 1;
  const count = N * HW;
  if (count === 0 || C === 0) throw new ShapeError(`${op}: empty input [${shape.join(', ')}]`);
  if (C > 65535) throw new ShapeError(`${op}: ${C} channels exceed the 65535-workgroup grid`);
  const S = Math.min(MAX_SPLITS, Math.ceil(count / CHUNK_TARGET));
  const chunk = Math.ceil(count / S);
  return { N, C, HW, count, S, chunk };
}

function checkParam(op: string, name: string, t: GpuTensor | null, C: number): void {
  if (t && (t.shape.length !== 1 || t.shape[0] !== C)) {
    throw new ShapeError(`${op}: ${name} must be [${C}], got [${t.shape.join(', ')}]`);
  }
}

function uniforms(d: BnDims, eps: number, gamma: boolean, beta: boolean): ArrayBuffer {
  const affine = (gamma ? 1 : 0) | (beta ? 2 : 0);
  return packUniforms([d.C, d.HW, d.S, d.count, d.chunk, { f32: eps }, affine, d.N * d.C * d.HW]);
}

export function batchNormForward(
  gpu: Gpu,
  x: GpuTensor,
  gamma: GpuTensor | null,
  beta: GpuTensor | null,
  eps = 1e-5,
): { y: GpuTensor; mean: GpuTensor; invStd: GpuTensor } {
  const d = bnDims('batchNormForward', x.shape);
  checkParam('batchNormForward', 'gamma', gamma, d.C);
  checkParam('batchNormForward', 'beta', beta, d.C);
  if (!(eps > 0)) throw new RangeError(`batchNormForward: eps must be > 0, got ${eps}`);
  const u = uniforms(d, eps, gamma !== null, beta !== null);
  const part = gpu.empty([d.C, d.S, 2]);
  gpu.dispatch({ kernel: { file: FILE, entry: 'stats_partial' }, buffers: [part, x], uniforms: u, workgroups: [d.S, d.C] });
  const mean = gpu.empty([d.C]);
  const invStd = gpu.empty([d.C]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'stats_merge' },
    buffers: [mean, invStd, part],
    uniforms: u,
    workgroups: [Math.ceil(d.C / 64)],
  });
  part.dispose();
  const y = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'apply' },
    // A missing gamma/beta is bound as a stand-in buffer that the kernel does not read.
    buffers: [y, x, mean, invStd, gamma ?? mean, beta ?? mean],
    uniforms: u,
    workgroups: gpu.grid1d(d.N * d.C, 1),
  });
  return { y, mean, invStd };
}

export function batchNormBackward(
  gpu: Gpu,
  dy: GpuTensor,
  x: GpuTensor,
  mean: GpuTensor,
  invStd: GpuTensor,
  gamma: GpuTensor | null,
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  const d = bnDims('batchNormBackward', x.shape);
  assertSameShape('batchNormBackward', dy, x);
  checkParam('batchNormBackward', 'mean', mean, d.C);
  checkParam('batchNormBackward', 'invStd', invStd, d.C);
  checkParam('batchNormBackward', 'gamma', gamma, d.C);
  const u = uniforms(d, 1e-5, gamma !== null, false);
  const part = gpu.empty([d.C, d.S, 2]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'bwd_partial' },
    buffers: [part, dy, x, mean, invStd],
    uniforms: u,
    workgroups: [d.S, d.C],
  });
  const dgamma = gpu.empty([d.C]);
  const dbeta = gpu.empty([d.C]);
  const coef = gpu.empty([d.C, 4]);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'bwd_merge' },
    buffers: [dgamma, dbeta, coef, part, mean, invStd, gamma ?? invStd],
    uniforms: u,
    workgroups: [Math.ceil(d.C / 64)],
  });
  part.dispose();
  const dx = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: FILE, entry: 'bwd_apply' },
    buffers: [dx, dy, x, coef],
    uniforms: u,
    workgroups: gpu.grid1d(d.N * d.C, 1),
  });
  coef.dispose();
  return { dx, dgamma, dbeta };
}

// ---- CPU references (f64) ---------------------------------------------------------------------

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

export function batchNormForwardCpu(
  x: ArrayLike<number>,
  shape: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps = 1e-5,
): { y: Float32Array; mean: Float32Array; invStd: Float32Array } {
  const r = batchNormForwardF64(x, shape, gamma, beta, eps);
  return { y: Float32Array.from(r.y), mean: Float32Array.from(r.mean), invStd: Float32Array.from(r.invStd) };
}

export function batchNormBackwardCpu(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  gamma: ArrayLike<number> | null,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const r = batchNormBackwardF64(dy, x, shape, mean, invStd, gamma);
  return { dx: Float32Array.from(r.dx), dgamma: Float32Array.from(r.dgamma), dbeta: Float32Array.from(r.dbeta) };
}
