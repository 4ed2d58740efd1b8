/** Element-wise optimizer steps (SGD with Nesterov momentum, Adam) on the native device (signatures and errors of src/kernels/optim.ts). */
import {
  type AdamOptions,
  adamStepParams,
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
