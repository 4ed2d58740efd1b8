/**
 * ProxylessNAS gate gradients on the native device (gateDot of src/kernels/binarize.ts). Sampling,
 * the α gradient and the two-path rescale are scalar TypeScript in src/kernels/binarize.ts, shared
 * by both backends.
 */
import { checkGateDot, checkGateDotMany } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/** out[index] = scale · Σ a ⊙ b (double accumulation). Many gates write one `out` tensor. */
export function gateDot(dev: NativeDevice, a: NativeTensor, b: NativeTensor, out: NativeTensor, index: number, scale = 1): void {
  checkGateDot(a, b, out.size, index);
  dev.enqueue('gateDot', [a, b, out], { n: a.size, index, scale });
}

/** gateDot for every pair j into out[indices[j]] (one native op each: no dispatch cost here). */
export function gateDotMany(
  dev: NativeDevice,
  a: readonly NativeTensor[],
  b: readonly NativeTensor[],
  out: NativeTensor,
  indices: readonly number[],
  scale = 1,
): void {
  checkGateDotMany(a, b, out, indices, (t) => t.handle);
  a.forEach((x, j) => dev.enqueue('gateDot', [x, b[j], out], { n: x.size, index: indices[j], scale }));
}
