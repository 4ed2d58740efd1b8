/** Element-wise optimizer steps (SGD with Nesterov momentum, Adam) on the native device (signatures and errors of src/kernels/optim.ts). */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';

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

function sameSize(op: string, ts: Record<string, NativeTensor>): void {
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
export function sgdStep(dev: NativeDevice, w: NativeTensor, grad: NativeTensor, buf: NativeTensor, o: SgdOptions): void {
  sameSize('sgdStep', { w, grad, buf });
  checkFinite('sgdStep', { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay });
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  if (o.nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError('sgdStep: Nesterov momentum needs momentum > 0 and dampening 0');
  }
  dev.enqueue('sgdStep', [w, grad, buf], {
    n: w.size,
    lr: o.lr,
    weightDecay: o.weightDecay ?? 0,
    momentum,
    dampening,
    nesterov: o.nesterov ?? false,
  });
}

/** In place: w, first and second moments m, v (zeros before step 1). */
export function adamStep(dev: NativeDevice, w: NativeTensor, grad: NativeTensor, m: NativeTensor, v: NativeTensor, o: AdamOptions): void {
  sameSize('adamStep', { w, grad, m, v });
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  checkFinite('adamStep', { lr: o.lr, beta1, beta2, eps, weightDecay: o.weightDecay });
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamStep: step must be an integer >= 1, got ${o.step}`);
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new RangeError('adamStep: betas must lie in [0, 1)');
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  // Bias corrections folded here, as src/kernels/optim.ts folds them into its uniforms.
  dev.enqueue('adamStep', [w, grad, m, v], {
    n: w.size,
    lr: o.lr / bc1,
    weightDecay: o.weightDecay ?? 0,
    beta1,
    beta2,
    eps,
    sqrtBc2: Math.sqrt(bc2),
  });
}
