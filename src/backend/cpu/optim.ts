/** Element-wise optimizer steps (SGD with Nesterov momentum, Adam) on the native device (signatures and errors of src/kernels/optim.ts). */
import {
  type AdamOptions,
  adamStepParams,
  assertAdamUnaliased,
  assertSgdUnaliased,
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
