/**
 * ProxylessNAS gate gradients on the native device (gateDot of src/kernels/binarize.ts). Sampling,
 * the α gradient and the two-path rescale are scalar TypeScript in src/kernels/binarize.ts, shared
 * by both backends.
 */
import { checkGateDot } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/** out[index] = scale · Σ a ⊙ b (double accumulation). Many gates write one `out` tensor. */
export function gateDot(dev: NativeDevice, a: NativeTensor, b: NativeTensor, out: NativeTensor, index: number, scale = 1): void {
  checkGateDot(a, b, out.size, index);
  dev.enqueue('gateDot', [a, b, out], { n: a.size, index, scale });
}
