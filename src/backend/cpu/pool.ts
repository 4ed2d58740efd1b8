/**
 * Average pooling and global average pooling, NCHW, on the native device (signatures and errors of
 * src/kernels/pool.ts; torch.nn.AvgPool2d semantics, ceil_mode=False).
 */
import {
  avgPool2dOutShape,
  checkAvgPoolDy,
  globalAvgPoolBackwardDims,
  globalAvgPoolDims,
  type Pool2dParams,
} from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';
import { rowSums } from './reduce.js';

export { avgPool2dOutShape, type Pool2dParams };

function poolParams(xShape: readonly number[], outShape: readonly number[], p: Pool2dParams): Record<string, number | boolean> {
  const [N, C, H, W] = xShape;
  return {
    planes: N * C,
    H,
    W,
    OH: outShape[2],
    OW: outShape[3],
    kernel: p.kernel,
    stride: p.stride,
    pad: p.pad,
    countIncludePad: p.countIncludePad !== false,
  };
}

export function avgPool2d(dev: NativeDevice, x: NativeTensor, p: Pool2dParams): NativeTensor {
  const outShape = avgPool2dOutShape(x.shape, p);
  const out = dev.empty(outShape);
  dev.enqueue('avgPool2d', [x, out], poolParams(x.shape, outShape, p));
  return out;
}

export function avgPool2dBackward(dev: NativeDevice, dy: NativeTensor, xShape: readonly number[], p: Pool2dParams): NativeTensor {
  const outShape = avgPool2dOutShape(xShape, p);
  checkAvgPoolDy(dy.shape, outShape);
  const dx = dev.empty(xShape);
  dev.enqueue('avgPool2dBackward', [dy, dx], poolParams(xShape, outShape, p));
  return dx;
}

/** [N, C, H, W] -> [N, C] spatial means. */
export function globalAvgPool(dev: NativeDevice, x: NativeTensor): NativeTensor {
  const [N, C, H, W] = globalAvgPoolDims(x.shape);
  return rowSums(dev, x, H * W, 1 / (H * W), [N, C]);
}

export function globalAvgPoolBackward(dev: NativeDevice, dy: NativeTensor, xShape: readonly number[]): NativeTensor {
  const [N, C, H, W] = globalAvgPoolBackwardDims(dy.shape, xShape);
  const dx = dev.empty(xShape);
  if (dx.size > 0) dev.enqueue('globalAvgPoolBackward', [dy, dx], { planes: N * C, HW: H * W, scale: Math.fround(1 / (H * W)) });
  return dx;
}
