/** Element-wise optimizer steps on optim.wgsl (SGD with Nesterov momentum, Adam). */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import type { AdamOptions, SgdOptions } from './params.js';
import { adamStepCpu, sgdStepCpu } from './reference/optim.js';

export { type AdamOptions, type SgdOptions, adamStepCpu, sgdStepCpu };

const WG = 256;
/**
 * One struct serves both entries. flag: Nesterov (sgd). c0..c3: sgd momentum, dampening, -, -;
 * adam beta1, beta2, eps, sqrt(bias correction 2) (lr arrives divided by bias correction 1).
 */
export const OPTIM_PARAMS = defineUniforms('optim.wgsl', 'Params', {
  n: 'u32', flag: 'u32', lr: 'f32', wd: 'f32', c0: 'f32', c1: 'f32', c2: 'f32', c3: 'f32',
});

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
    uniforms: OPTIM_PARAMS.pack({
      n: w.size, flag: o.nesterov ? 1 : 0, lr: o.lr, wd: o.weightDecay ?? 0,
      c0: momentum, c1: dampening, c2: 0, c3: 0,
    }),
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
    uniforms: OPTIM_PARAMS.pack({
      n: w.size, flag: 0, lr: o.lr / bc1, wd: o.weightDecay ?? 0,
      c0: beta1, c1: beta2, c2: eps, c3: Math.sqrt(bc2),
    }),
    workgroups: gpu.grid1d(w.size, WG),
  });
}

/** Cosine annealing from lr0 to lrMin over `total` steps (step clamped to [0, total]). */
export function cosineLr(lr0: number, step: number, total: number, lrMin = 0): number {
  if (total <= 0) return lr0;
  const t = Math.min(Math.max(step, 0), total) / total;
  return lrMin + 0.5 * (lr0 - lrMin) * (1 + Math.cos(Math.PI * t));
}

export const sgdStepOp = defineOp({
  name: 'sgdStep',
  summary: 'SGD step in place (momentum, dampening, Nesterov, L2 weight decay; PyTorch semantics)',
  kernels: [{ file: 'optim.wgsl', entries: ['sgd'], uniforms: OPTIM_PARAMS, overrides: { WG } }],
  // w, grad, buf read; w, buf written; ~7 FLOPs per weight.
  cost: ({ n }: { n: number }) => elementwiseCost(n, 3, 2, 7),
  reference: sgdStepCpu,
  webgpu: sgdStep,
});

export const adamStepOp = defineOp({
  name: 'adamStep',
  summary: 'Adam step in place (bias-corrected, L2 weight decay)',
  kernels: [{ file: 'optim.wgsl', entries: ['adam'], uniforms: OPTIM_PARAMS, overrides: { WG } }],
  // w, grad, m, v read; w, m, v written; ~12 FLOPs per weight.
  cost: ({ n }: { n: number }) => elementwiseCost(n, 4, 3, 12),
  reference: adamStepCpu,
  webgpu: adamStep,
});
