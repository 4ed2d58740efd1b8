/**
 * ProxylessNAS gate gradients on the native device (gateDot of src/kernels/binarize.ts). Sampling,
 * the α gradient and the two-path rescale are scalar TypeScript in src/kernels/binarize.ts, shared
 * by both backends.
 */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';

/** out[index] = scale · Σ a ⊙ b (double accumulation). Many gates write one `out` tensor. */
export function gateDot(dev: NativeDevice, a: NativeTensor, b: NativeTensor, out: NativeTensor, index: number, scale = 1): void {
  if (a.size !== b.size) {
    throw new ShapeError(`gateDot: operands differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= out.size) {
    throw new RangeError(`gateDot: index ${index} is outside out (${out.size} elements)`);
  }
  dev.enqueue('gateDot', [a, b, out], { n: a.size, index, scale });
}
