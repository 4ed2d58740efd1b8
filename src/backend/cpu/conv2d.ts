/**
 * 2-D convolution, NCHW, no bias, on the native device (oneDNN primitives, native/compute/ops_conv.cpp):
 * forward and both backward passes with the signatures, parameters and errors of
 * src/kernels/conv2d.ts. x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW]; output
 * floor((H + 2 pad - KH) / stride) + 1. Any grouping (depthwise, with or without a multiplier).
 */
import { type Conv2dParams, type ConvDims, checkConvDy, conv2dMacs, conv2dOutShape, convDims } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

export { type Conv2dParams, conv2dMacs, conv2dOutShape };

/** The WGSL kernels' options (src/kernels/conv2d-gemm.ts: GEMM core, tile, f16 operands): accepted for signature parity, unused on the CPU. */
export type Conv2dOptions = object;

/** The addon's parameters (OH/OW are derived there again and must agree). */
function params(d: ConvDims): Record<string, number> {
  const { N, Cin, H, W, Cout, KH, KW, stride, pad, groups } = d;
  return { N, Cin, H, W, Cout, KH, KW, stride, pad, groups };
}

/**
 * Every entry point's tail: a new `shape` tensor that addon op `op` writes as its third tensor, after
 * the inputs a and b and before `rest` (reluMask's x). Zero channels (Cin or Cout 0) are legal, as
 * on the GPU, but the addon takes positive channel counts only: an output with no elements needs no
 * op, and one summing over no channels is zeros.
 */
function enqueueConv(
  dev: NativeDevice,
  op: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight',
  d: ConvDims,
  shape: readonly number[],
  [a, b, ...rest]: readonly [NativeTensor, NativeTensor, ...NativeTensor[]],
  flags: Record<string, boolean> = {},
): NativeTensor {
  if (!(d.Cin > 0 && d.Cout > 0)) return dev.zeros(shape);
  const out = dev.empty(shape);
  dev.enqueue(op, [a, b, out, ...rest], { ...params(d), ...flags });
  return out;
}

export function conv2d(
  dev: NativeDevice,
  x: NativeTensor,
  w: NativeTensor,
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2d', x.shape, w.shape, p);
  return enqueueConv(dev, 'conv2d', d, [d.N, d.Cout, d.OH, d.OW], [x, w]);
}

export function conv2dBackwardInput(
  dev: NativeDevice,
  dy: NativeTensor,
  w: NativeTensor,
  xShape: readonly number[],
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardInput', xShape, w.shape, p);
  checkConvDy('conv2dBackwardInput', dy.shape, d);
  return enqueueConv(dev, 'conv2dBackwardInput', d, xShape, [dy, w]);
}

export function conv2dBackwardWeight(
  dev: NativeDevice,
  x: NativeTensor,
  dy: NativeTensor,
  wShape: readonly number[],
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardWeight', x.shape, wShape, p);
  checkConvDy('conv2dBackwardWeight', dy.shape, d);
  return enqueueConv(dev, 'conv2dBackwardWeight', d, wShape, [x, dy]);
}

// conv2d(relu(x), w) and its gradients (src/kernels/conv2d.ts): the addon's convolutions with the
// ReLU folded into their relayout to and from oneDNN's blocked layout (relu: the input is relu(x);
// reluMask: the data gradient masked by x > 0), so relu(x) and the unmasked gradient are never
// written out; the same values as the ReLU op and the convolution, bit for bit.

export function reluConv2d(
  dev: NativeDevice,
  x: NativeTensor,
  w: NativeTensor,
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('reluConv2d', x.shape, w.shape, p);
  return enqueueConv(dev, 'conv2d', d, [d.N, d.Cout, d.OH, d.OW], [x, w], { relu: true });
}

export function reluConv2dBackwardInput(
  dev: NativeDevice,
  dy: NativeTensor,
  w: NativeTensor,
  x: NativeTensor,
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('reluConv2dBackwardInput', x.shape, w.shape, p);
  checkConvDy('reluConv2dBackwardInput', dy.shape, d);
  return enqueueConv(dev, 'conv2dBackwardInput', d, x.shape, [dy, w, x], { reluMask: true });
}

export function reluConv2dBackwardWeight(
  dev: NativeDevice,
  x: NativeTensor,
  dy: NativeTensor,
  wShape: readonly number[],
  p: Conv2dParams = {},
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('reluConv2dBackwardWeight', x.shape, wShape, p);
  checkConvDy('reluConv2dBackwardWeight', dy.shape, d);
  return enqueueConv(dev, 'conv2dBackwardWeight', d, wShape, [x, dy], { relu: true });
}
