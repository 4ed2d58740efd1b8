/** Element-wise optimizer steps on optim.wgsl (SGD with Nesterov momentum, Adam) and CPU references. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';

const WG = 256;

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1-based step count (bias correction). */
  step: number;
}

function sameSize(op: string, ts: Record<string, GpuTensor>): void {
  const names = Object.keys(ts);
  const n = ts[names[0]].size;
  for (const k of names) {
    if (ts[k].size !== n) throw new ShapeError(`${op}: ${k} has ${ts[k].size} elements, ${names[0]} has ${n}`);
  }
}

function checkFinite(op: string, o: Record<string, number | undefined>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`${op}: ${k} must be finite, got ${v}`);
  }
}

/** In place: w, momentum buffer `buf` (zeros before the first step). */
export function sgdStep(gpu: Gpu, w: GpuTensor, grad: GpuTensor, buf: GpuTensor, o: SgdOptions): void {
  sameSize('sgdStep', { w, grad, buf });
  checkFinite('sgdStep', { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay });
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  if (o.nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError('sgdStep: Nesterov momentum needs momentum > 0 and dampening 0');
  }
  gpu.dispatch({
    kernel: { file: 'optim.wgsl', entry: 'sgd', constants: { WG } },
    buffers: [w, grad, buf],
    uniforms: packUniforms([
      w.size, o.nesterov ? 1 : 0, { f32: o.lr }, { f32: o.weightDecay ?? 0 },
      { f32: momentum }, { f32: dampening }, { f32: 0 }, { f32: 0 },
    ]),
    workgroups: gpu.grid1d(w.size, WG),
  });
}

/** In place: w, first and second moments m, v (zeros before step 1). */
export function adamStep(gpu: Gpu, w: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, o: AdamOptions): void {
  sameSize('adamStep', { w, grad, m, v });
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  checkFinite('adamStep', { lr: o.lr, beta1, beta2, eps, weightDecay: o.weightDecay });
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamStep: step must be an integer >= 1, got ${o.step}`);
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new RangeError('adamStep: betas must lie in [0, 1)');
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  gpu.dispatch({
    kernel: { file: 'optim.wgsl', entry: 'adam', constants: { WG } },
    buffers: [w, grad, m, v],
    uniforms: packUniforms([
      w.size, 0, { f32: o.lr / bc1 }, { f32: o.weightDecay ?? 0 },
      { f32: beta1 }, { f32: beta2 }, { f32: eps }, { f32: Math.sqrt(bc2) },
    ]),
    workgroups: gpu.grid1d(w.size, WG),
  });
}

/** CPU reference of sgdStep (f64 math, results stored in the given arrays). */
export function sgdStepCpu(w: Float32Array | Float64Array, grad: ArrayLike<number>, buf: Float32Array | Float64Array, o: SgdOptions): void {
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  const wd = o.weightDecay ?? 0;
  for (let i = 0; i < w.length; i++) {
    let d = grad[i] + wd * w[i];
    const b = momentum * buf[i] + (1 - dampening) * d;
    buf[i] = b;
    d = o.nesterov ? d + momentum * b : b;
    w[i] = w[i] - o.lr * d;
  }
}

/** CPU reference of adamStep. */
export function adamStepCpu(
  w: Float32Array | Float64Array,
  grad: ArrayLike<number>,
  m: Float32Array | Float64Array,
  v: Float32Array | Float64Array,
  o: AdamOptions,
): void {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  const wd = o.weightDecay ?? 0;
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  for (let i = 0; i < w.length; i++) {
    const d = grad[i] + wd * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * d;
    v[i] = beta2 * v[i] + (1 - beta2) * d * d;
    w[i] = w[i] - ((o.lr / bc1) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
  }
}

/** Cosine annealing from lr0 to lrMin over `total` steps (step clamped to [0, total]). */
export function cosineLr(lr0: number, step: number, total: number, lrMin = 0): number {
  if (total <= 0) return lr0;
  const t = Math.min(Math.max(step, 0), total) / total;
  return lrMin + 0.5 * (lr0 - lrMin) * (1 + Math.cos(Math.PI * t));
}
