/** Element-wise optimizer steps (SGD with Nesterov momentum, Adam) on the native device (signatures and errors of src/kernels/optim.ts). */
import {
  type AdamOptions,
  type AdamRow,
  adamStepParams,
  checkAdamRows,
  assertAdamUnaliased,
  assertSgdUnaliased,
  checkSgdMany,
  type SgdManyOptions,
  type SgdOptions,
  sgdStepParams,
} from '../../kernels/params.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

export type { AdamOptions, SgdOptions };

/** In place: w, momentum buffer `buf` (zeros before the first step). */
export function sgdStep(dev: NativeDevice, w: NativeTensor, grad: NativeTensor, buf: NativeTensor, o: SgdOptions): void {
  const { momentum, dampening } = sgdStepParams(w, grad, buf, o);
  assertSgdUnaliased(w, grad, buf, sameStorage);
  dev.enqueue('sgdStep', [w, grad, buf], {
    n: w.size,
    lr: o.lr,
    weightDecay: o.weightDecay ?? 0,
    momentum,
    dampening,
    nesterov: o.nesterov ?? false,
  });
}

/** sgdStep on each tensor with its own lr and weight decay (one native op each: no dispatch cost here). */
export function sgdStepMany(
  dev: NativeDevice,
  w: readonly NativeTensor[],
  grad: readonly NativeTensor[],
  buf: readonly NativeTensor[],
  o: SgdManyOptions,
): void {
  const { momentum, dampening } = checkSgdMany(w, grad, buf, o, (t) => t.handle);
  w.forEach((wj, j) => {
    if (wj.size === 0) return;
    dev.enqueue('sgdStep', [wj, grad[j], buf[j]], {
      n: wj.size,
      lr: o.lr[j],
      weightDecay: o.weightDecay[j],
      momentum,
      dampening,
      nesterov: o.nesterov ?? false,
    });
  });
}

/** In place: w, first and second moments m, v (zeros before step 1). */
export function adamStep(
  dev: NativeDevice,
  w: NativeTensor,
  grad: NativeTensor,
  m: NativeTensor,
  v: NativeTensor,
  o: AdamOptions,
): void {
  const { beta1, beta2, eps, lrCorrected, sqrtBc2 } = adamStepParams(w, grad, m, v, o);
  assertAdamUnaliased(w, grad, m, v, sameStorage);
  // Bias corrections folded here, as src/kernels/optim.ts folds them into its uniforms.
  dev.enqueue('adamStep', [w, grad, m, v], {
    n: w.size,
    lr: lrCorrected,
    weightDecay: o.weightDecay ?? 0,
    beta1,
    beta2,
    eps,
    sqrtBc2,
  });
}

/**
 * adamStep per row of the flat tensors, each at its own step: the row copied out, stepped by the
 * native adamStep and copied back (exact copies: the values of adamStep on the row).
 */
export function adamStepRows(
  dev: NativeDevice,
  w: NativeTensor,
  grad: NativeTensor,
  m: NativeTensor,
  v: NativeTensor,
  rows: readonly AdamRow[],
  o: Omit<AdamOptions, 'step'>,
): void {
  const c = checkAdamRows(w, grad, m, v, rows, o, sameStorage);
  rows.forEach((r, k) => {
    if (r.size === 0) return;
    const parts = [w, grad, m, v].map((t) => {
      const part = dev.empty([r.size]);
      dev.copy(t, part, r.size, r.offset, 0);
      return part;
    });
    dev.enqueue('adamStep', parts, {
      n: r.size,
      lr: c.rows[k].lrCorrected,
      weightDecay: o.weightDecay ?? 0,
      beta1: c.beta1,
      beta2: c.beta2,
      eps: c.eps,
      sqrtBc2: c.rows[k].sqrtBc2,
    });
    [w, m, v].forEach((t, i) => dev.copy(parts[[0, 2, 3][i]], t, r.size, 0, r.offset));
    for (const part of parts) part.dispose();
  });
}
