/**
 * 2-D convolution, NCHW, no bias, on the native device (oneDNN primitives, native/compute/ops_conv.cpp):
 * forward and both backward passes with the signatures, parameters and errors of
 * src/kernels/conv2d.ts. x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW]; output
 * floor((H + 2 pad - KH) / stride) + 1. Any grouping (depthwise, with or without a multiplier).
 */
import { type Conv2dParams, type ConvDims, checkConvDy, conv2dMacs, conv2dOutShape, convDims } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';
import { relu, reluBackward } from './activation.js';

export { type Conv2dParams, conv2dMacs, conv2dOutShape };

/** The WGSL kernels' options (src/kernels/conv2d-gemm.ts: GEMM core, tile, f16 operands): accepted for signature parity, unused on the CPU. */
export type Conv2dOptions = object;

/** The addon's parameters (OH/OW are derived there again and must agree). */
function params(d: ConvDims): Record<string, number> {
  const { N, Cin, H, W, Cout, KH, KW, stride, pad, groups } = d;
  return { N, Cin, H, W, Cout, KH, KW, stride, pad, groups };
}

/**
 * Zero channels (Cin or Cout 0) are legal, as on the GPU, but the addon takes positive channel
 * counts only: an output with no elements needs no op, and one summing over no channels is zeros.
 */
function withoutChannels(dev: NativeDevice, d: ConvDims, shape: readonly number[]): NativeTensor | null {
  if (d.Cin > 0 && d.Cout > 0) return null;
  return dev.zeros(shape);
}

export function conv2d(
  dev: NativeDevice,
  x: NativeTensor,
  w: NativeTensor,
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2d', x.shape, w.shape, p);
  const empty = withoutChannels(dev, d, [d.N, d.Cout, d.OH, d.OW]);
  if (empty) return empty;
  const y = dev.empty([d.N, d.Cout, d.OH, d.OW]);
  dev.enqueue('conv2d', [x, w, y], params(d));
  return y;
}

export function conv2dBackwardInput(
  dev: NativeDevice,
  dy: NativeTensor,
  w: NativeTensor,
  xShape: readonly number[],
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardInput', xShape, w.shape, p);
  checkConvDy('conv2dBackwardInput', dy.shape, d);
  const empty = withoutChannels(dev, d, xShape);
  if (empty) return empty;
  const dx = dev.empty(xShape);
  dev.enqueue('conv2dBackwardInput', [dy, w, dx], params(d));
  return dx;
}

export function conv2dBackwardWeight(
  dev: NativeDevice,
  x: NativeTensor,
  dy: NativeTensor,
  wShape: readonly number[],
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardWeight', x.shape, wShape, p);
  checkConvDy('conv2dBackwardWeight', dy.shape, d);
  const empty = withoutChannels(dev, d, wShape);
  if (empty) return empty;
  const dw = dev.empty(wShape);
  dev.enqueue('conv2dBackwardWeight', [x, dy, dw], params(d));
  return dw;
}

// conv2d(relu(x), w) and its gradients (src/kernels/conv2d.ts): composed here from the ReLU and
// convolution primitives, the ReLU's output freed as soon as its convolution is queued.

export function reluConv2d(
  dev: NativeDevice,
  x: NativeTensor,
  w: NativeTensor,
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  convDims('reluConv2d', x.shape, w.shape, p);
  const r = relu(dev, x);
  const y = conv2d(dev, r, w, p);
  r.dispose();
  return y;
}

export function reluConv2dBackwardInput(
  dev: NativeDevice,
  dy: NativeTensor,
  w: NativeTensor,
  x: NativeTensor,
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  checkConvDy('reluConv2dBackwardInput', dy.shape, convDims('reluConv2dBackwardInput', x.shape, w.shape, p));
  const dr = conv2dBackwardInput(dev, dy, w, x.shape, p);
  const dx = reluBackward(dev, dr, x);
  dr.dispose();
  return dx;
}

export function reluConv2dBackwardWeight(
  dev: NativeDevice,
  x: NativeTensor,
  dy: NativeTensor,
  wShape: readonly number[],
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  checkConvDy('reluConv2dBackwardWeight', dy.shape, convDims('reluConv2dBackwardWeight', x.shape, wShape, p));
  const r = relu(dev, x);
  const dw = conv2dBackwardWeight(dev, r, dy, wShape, p);
  r.dispose();
  return dw;
}
