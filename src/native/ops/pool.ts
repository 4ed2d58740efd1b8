/**
 * Average pooling and global average pooling, NCHW, on the native device (signatures and errors of
 * src/kernels/pool.ts; torch.nn.AvgPool2d semantics, ceil_mode=False).
 */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';
import { rowSums } from './reduce.js';

export interface Pool2dParams {
  kernel: number;
  stride: number;
  pad: number;
  /** Divide by the full window including zero padding (PyTorch default: true). */
  countIncludePad?: boolean;
}

function nchw(op: string, shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new ShapeError(`${op}: expected an NCHW shape, got [${shape.join(', ')}]`);
  return [shape[0], shape[1], shape[2], shape[3]];
}

export function avgPool2dOutShape(xShape: readonly number[], p: Pool2dParams): number[] {
  const [N, C, H, W] = nchw('avgPool2d', xShape);
  for (const k of ['kernel', 'stride'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`avgPool2d: ${k} must be a positive integer, got ${p[k]}`);
  }
  if (!Number.isInteger(p.pad) || p.pad < 0) throw new RangeError(`avgPool2d: pad must be a non-negative integer, got ${p.pad}`);
  if (2 * p.pad > p.kernel) throw new RangeError(`avgPool2d: pad ${p.pad} exceeds half the kernel ${p.kernel} (PyTorch rejects this too)`);
  const OH = Math.floor((H + 2 * p.pad - p.kernel) / p.stride) + 1;
  const OW = Math.floor((W + 2 * p.pad - p.kernel) / p.stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`avgPool2d: kernel ${p.kernel} with pad ${p.pad} does not fit input ${H}x${W}`);
  }
  return [N, C, OH, OW];
}

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
  if (!outShape.every((d, i) => d === dy.shape[i]) || dy.shape.length !== 4) {
    throw new ShapeError(`avgPool2dBackward: dy is [${dy.shape.join(', ')}], expected [${outShape.join(', ')}]`);
  }
  const dx = dev.empty(xShape);
  dev.enqueue('avgPool2dBackward', [dy, dx], poolParams(xShape, outShape, p));
  return dx;
}

/** [N, C, H, W] -> [N, C] spatial means. */
export function globalAvgPool(dev: NativeDevice, x: NativeTensor): NativeTensor {
  const [N, C, H, W] = nchw('globalAvgPool', x.shape);
  if (H * W === 0) throw new ShapeError(`globalAvgPool: empty spatial size in [${x.shape.join(', ')}]`);
  return rowSums(dev, x, H * W, 1 / (H * W), [N, C]);
}

export function globalAvgPoolBackward(dev: NativeDevice, dy: NativeTensor, xShape: readonly number[]): NativeTensor {
  const [N, C, H, W] = nchw('globalAvgPoolBackward', xShape);
  if (dy.shape.length !== 2 || dy.shape[0] !== N || dy.shape[1] !== C) {
    throw new ShapeError(`globalAvgPoolBackward: dy is [${dy.shape.join(', ')}], expected [${N}, ${C}]`);
  }
  const dx = dev.empty(xShape);
  if (dx.size > 0) dev.enqueue('globalAvgPoolBackward', [dy, dx], { planes: N * C, HW: H * W, scale: Math.fround(1 / (H * W)) });
  return dx;
}
