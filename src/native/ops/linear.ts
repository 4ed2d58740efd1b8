/** Fully connected layer y = x W^T + b on the native device (signatures of src/kernels/linear.ts). x [N, In], w [Out, In]. */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';
import { addBiasRows } from './elementwise.js';
import { matmul } from './matmul.js';
import { colSums } from './reduce.js';

function dims(op: string, x: { shape: readonly number[] }, w: { shape: readonly number[] }): [number, number, number] {
  if (x.shape.length !== 2) throw new ShapeError(`${op}: x must be [N, In], got [${x.shape.join(', ')}]`);
  if (w.shape.length !== 2) throw new ShapeError(`${op}: w must be [Out, In], got [${w.shape.join(', ')}]`);
  if (x.shape[1] !== w.shape[1]) {
    throw new ShapeError(`${op}: x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] disagree on In`);
  }
  return [x.shape[0], x.shape[1], w.shape[0]];
}

export function linear(dev: NativeDevice, x: NativeTensor, w: NativeTensor, b: NativeTensor | null): NativeTensor {
  const [, , Out] = dims('linear', x, w);
  if (b && (b.shape.length !== 1 || b.shape[0] !== Out)) {
    throw new ShapeError(`linear: bias must be [${Out}], got [${b.shape.join(', ')}]`);
  }
  const y = matmul(dev, x, w, { transB: true });
  if (b) addBiasRows(dev, y, b);
  return y;
}

export function linearBackward(
  dev: NativeDevice,
  dy: NativeTensor,
  x: NativeTensor,
  w: NativeTensor,
  hasBias: boolean,
): { dx: NativeTensor; dw: NativeTensor; db: NativeTensor | null } {
  const [N, , Out] = dims('linearBackward', x, w);
  if (dy.shape.length !== 2 || dy.shape[0] !== N || dy.shape[1] !== Out) {
    throw new ShapeError(`linearBackward: dy must be [${N}, ${Out}], got [${dy.shape.join(', ')}]`);
  }
  const dx = matmul(dev, dy, w); // [N, Out] x [Out, In]
  const dw = matmul(dev, dy, x, { transA: true }); // [Out, N] x [N, In]
  const db = hasBias ? colSums(dev, dy, Out) : null;
  return { dx, dw, db };
}
