/** References of optim.wgsl: SGD (momentum, Nesterov, weight decay) and Adam steps, f64 math. */
import type { AdamOptions, AdamRow, SgdManyOptions, SgdOptions } from '../params.js';

/** CPU reference of sgdStep (f64 math, results stored in the given arrays). */
export function sgdStepCpu(
  w: Float32Array | Float64Array,
  grad: ArrayLike<number>,
  buf: Float32Array | Float64Array,
  o: SgdOptions,
): void {
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

/** CPU reference of sgdStepMany: sgdStepCpu on each tensor with its own lr and weight decay. */
export function sgdStepManyCpu(
  w: ReadonlyArray<Float32Array | Float64Array>,
  grad: ReadonlyArray<ArrayLike<number>>,
  buf: ReadonlyArray<Float32Array | Float64Array>,
  o: SgdManyOptions,
): void {
  w.forEach((wj, j) => sgdStepCpu(wj, grad[j], buf[j], { ...o, lr: o.lr[j], weightDecay: o.weightDecay[j] }));
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

/** CPU reference of adamStepRows: adamStepCpu on each row of the flat arrays, at its own step. */
export function adamStepRowsCpu(
  w: Float32Array | Float64Array,
  grad: ArrayLike<number>,
  m: Float32Array | Float64Array,
  v: Float32Array | Float64Array,
  rows: readonly AdamRow[],
  o: Omit<AdamOptions, 'step'>,
): void {
  for (const r of rows) {
    const at = (a: Float32Array | Float64Array) => a.subarray(r.offset, r.offset + r.size);
    adamStepCpu(
      at(w),
      Array.from({ length: r.size }, (_, i) => grad[r.offset + i]),
      at(m),
      at(v),
      { ...o, step: r.step },
    );
  }
}
