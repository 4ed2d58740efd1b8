/** Fully connected layer y = x W^T + b on the native device (signatures of src/kernels/linear.ts). x [N, In], w [Out, In]. */
import { checkLinearBias, checkLinearDy, linearDims } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';
import { addBiasRows } from './elementwise.js';
import { matmul } from './matmul.js';
import { colSums } from './reduce.js';

export function linear(dev: NativeDevice, x: NativeTensor, w: NativeTensor, b: NativeTensor | null): NativeTensor {
  const [, , Out] = linearDims('linear', x.shape, w.shape);
  checkLinearBias(b, Out);
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
  const [N, , Out] = linearDims('linearBackward', x.shape, w.shape);
  checkLinearDy(dy.shape, N, Out);
  const dx = matmul(dev, dy, w); // [N, Out] x [Out, In]
  const dw = matmul(dev, dy, x, { transA: true }); // [Out, N] x [N, In]
  const db = hasBias ? colSums(dev, dy, Out) : null;
  return { dx, dw, db };
}
