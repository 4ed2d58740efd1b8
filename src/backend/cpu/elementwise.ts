/** Element-wise ops on same-shape tensors, on the native device (signatures and errors of src/kernels/elementwise.ts). */
import {
  assertFiniteNumber,
  assertSameShape,
  assertUnaliased,
  biasRowsCols,
  checkFillValue,
  maskedAddDims,
} from '../../kernels/params.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

export function add(dev: NativeDevice, a: NativeTensor, b: NativeTensor): NativeTensor {
  assertSameShape('add', a, b);
  const out = dev.empty(a.shape);
  dev.enqueue('add', [a, b, out], { n: a.size });
  return out;
}

export function mul(dev: NativeDevice, a: NativeTensor, b: NativeTensor): NativeTensor {
  assertSameShape('mul', a, b);
  const out = dev.empty(a.shape);
  dev.enqueue('mul', [a, b, out], { n: a.size });
  return out;
}

export function scale(dev: NativeDevice, x: NativeTensor, s: number): NativeTensor {
  assertFiniteNumber('scale', 's', s);
  const out = dev.empty(x.shape);
  dev.enqueue('scale', [x, out], { n: x.size, s });
  return out;
}

export function abs(dev: NativeDevice, x: NativeTensor): NativeTensor {
  const out = dev.empty(x.shape);
  dev.enqueue('abs', [x, out], { n: x.size });
  return out;
}

/** y += alpha * x in place (same shapes). x may be y itself. */
export function axpy(dev: NativeDevice, y: NativeTensor, x: NativeTensor, alpha = 1): void {
  assertSameShape('axpy', y, x);
  assertFiniteNumber('axpy', 'alpha', alpha);
  dev.enqueue('axpy', [y, x], { n: y.size, alpha });
}

/** t[:] = value in place. */
export function fill(dev: NativeDevice, t: NativeTensor, value: number): void {
  checkFillValue(value);
  dev.enqueue('fill', [t], { n: t.size, value });
}

/** y[r, c] += b[c] in place; y is [rows, cols] (or any shape whose last dimension is cols). */
export function addBiasRows(dev: NativeDevice, y: NativeTensor, b: NativeTensor): void {
  const cols = biasRowsCols(y.shape, b.shape);
  assertUnaliased('addBiasRows', [['y', y]], [['b', b]], sameStorage);
  if (y.size === 0) return;
  dev.enqueue('addBiasRows', [y, b], { n: y.size, cols });
}

/** (acc or 0) + mask[c] * x for x [N, C, ...] and mask [C] (a new tensor). */
export function maskedAdd(dev: NativeDevice, x: NativeTensor, mask: NativeTensor, acc: NativeTensor | null): NativeTensor {
  const { channels, inner } = maskedAddDims(x, mask, acc);
  const out = dev.empty(x.shape);
  if (x.size === 0) return out;
  // Without acc, x stands in for its buffer (not read).
  dev.enqueue('maskedAdd', [out, x, mask, acc ?? x], { n: x.size, channels, inner, acc: acc ? 1 : 0 });
  return out;
}
