/**
 * Training-mode batch norm over (N, H, W) per channel of NCHW input (or [N, C]), biased variance,
 * on the native device; signatures and errors of src/kernels/batchnorm.ts. gamma/beta null = affine
 * off (gamma 1, beta 0). The eval mode (given running statistics) is composed of existing native
 * commands, so the addon needs no new op.
 */
import { assertSameShape, batchNormDims, checkBatchNormEps, checkChannelParam, DEFAULT_BN_EPS } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/** The two forward ops (plain and fused ReLU6) take the same tensors and parameters; `out` is y or z. */
function enqueueBnForward(
  op: 'batchNormForward' | 'batchNormRelu6Forward',
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  eps: number,
): { out: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const { N, C, HW } = batchNormDims(op, x.shape);
  checkChannelParam(op, 'gamma', gamma, C);
  checkChannelParam(op, 'beta', beta, C);
  checkBatchNormEps(eps);
  const out = dev.empty(x.shape);
  const mean = dev.empty([C]);
  const invStd = dev.empty([C]);
  const affine = [gamma, beta].filter((t): t is NativeTensor => t !== null);
  dev.enqueue(op, [x, out, mean, invStd, ...affine], {
    N,
    C,
    HW,
    eps,
    hasGamma: gamma !== null,
    hasBeta: beta !== null,
  });
  return { out, mean, invStd };
}

/**
 * The two backward ops (plain and fused ReLU6): [dy, x, mean, invStd, dx, dgamma, dbeta, gamma?,
 * beta?]. Only the ReLU6 op takes beta (its mask is rebuilt from x, gamma and beta).
 */
function enqueueBnBackward(
  op: 'batchNormBackward' | 'batchNormRelu6Backward',
  dev: NativeDevice,
  dy: NativeTensor,
  x: NativeTensor,
  mean: NativeTensor,
  invStd: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
): { dx: NativeTensor; dgamma: NativeTensor; dbeta: NativeTensor } {
  const relu6 = op === 'batchNormRelu6Backward';
  const { N, C, HW } = batchNormDims(op, x.shape);
  assertSameShape(op, dy, x);
  checkChannelParam(op, 'mean', mean, C);
  checkChannelParam(op, 'invStd', invStd, C);
  checkChannelParam(op, 'gamma', gamma, C);
  if (relu6) checkChannelParam(op, 'beta', beta, C);
  const dx = dev.empty(x.shape);
  const dgamma = dev.empty([C]);
  const dbeta = dev.empty([C]);
  const affine = [gamma, relu6 ? beta : null].filter((t): t is NativeTensor => t !== null);
  dev.enqueue(op, [dy, x, mean, invStd, dx, dgamma, dbeta, ...affine], {
    N,
    C,
    HW,
    hasGamma: gamma !== null,
    ...(relu6 ? { hasBeta: beta !== null } : {}),
  });
  return { dx, dgamma, dbeta };
}

export function batchNormForward(
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  eps = DEFAULT_BN_EPS,
): { y: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const { out: y, mean, invStd } = enqueueBnForward('batchNormForward', dev, x, gamma, beta, eps);
  return { y, mean, invStd };
}

/** batchNormForward(x) + residual (src/kernels/batchnorm.ts): the batch norm, then y += residual in place. */
export function batchNormForwardAdd(
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  residual: NativeTensor,
  eps = DEFAULT_BN_EPS,
): { y: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const { C } = batchNormDims('batchNormForwardAdd', x.shape);
  checkChannelParam('batchNormForwardAdd', 'gamma', gamma, C);
  checkChannelParam('batchNormForwardAdd', 'beta', beta, C);
  assertSameShape('batchNormForwardAdd', residual, x);
  const { out: y, mean, invStd } = enqueueBnForward('batchNormForward', dev, x, gamma, beta, eps);
  dev.enqueue('axpy', [y, residual], { n: y.size, alpha: 1 });
  return { y, mean, invStd };
}

export function batchNormBackward(
  dev: NativeDevice,
  dy: NativeTensor,
  x: NativeTensor,
  mean: NativeTensor,
  invStd: NativeTensor,
  gamma: NativeTensor | null,
): { dx: NativeTensor; dgamma: NativeTensor; dbeta: NativeTensor } {
  return enqueueBnBackward('batchNormBackward', dev, dy, x, mean, invStd, gamma, null);
}

/**
 * [C] -> x's shape, v[c] in every element of channel c: rows [N, C] by addBiasRows, then the
 * planes by globalAvgPoolBackward at scale 1 (an exact copy, no divide by HW).
 */
function broadcastChannels(
  dev: NativeDevice,
  v: NativeTensor,
  shape: readonly number[],
  N: number,
  C: number,
  HW: number,
): NativeTensor {
  const rows = dev.zeros([N, C]);
  dev.enqueue('addBiasRows', [rows, v], { n: N * C, cols: C });
  if (shape.length === 2) return rows;
  const full = dev.empty(shape);
  dev.enqueue('globalAvgPoolBackward', [rows, full], { planes: N * C, HW, scale: 1 });
  rows.dispose();
  return full;
}

/** Eval-mode batch norm: y = (x - mean[c]) invStd[c] gamma[c] + beta[c] with given (running) statistics. */
export function batchNormEval(
  dev: NativeDevice,
  x: NativeTensor,
  mean: NativeTensor,
  invStd: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
): NativeTensor {
  const { N, C, HW } = batchNormDims('batchNormEval', x.shape);
  checkChannelParam('batchNormEval', 'mean', mean, C);
  checkChannelParam('batchNormEval', 'invStd', invStd, C);
  checkChannelParam('batchNormEval', 'gamma', gamma, C);
  checkChannelParam('batchNormEval', 'beta', beta, C);
  const n = x.size;
  let k = invStd;
  if (gamma) {
    k = dev.empty([C]);
    dev.enqueue('mul', [invStd, gamma, k], { n: C });
  }
  // (x - mean) first, as the WGSL kernel: folding mean into the offset would cancel for large means.
  const y = dev.empty(x.shape);
  dev.enqueue('copy', [x, y], { elems: n, srcOffset: 0, dstOffset: 0 });
  const m = broadcastChannels(dev, mean, x.shape, N, C, HW);
  dev.enqueue('axpy', [y, m], { n, alpha: -1 });
  m.dispose();
  const kf = broadcastChannels(dev, k, x.shape, N, C, HW);
  if (k !== invStd) k.dispose();
  const out = dev.empty(x.shape);
  dev.enqueue('mul', [y, kf, out], { n });
  y.dispose();
  kf.dispose();
  if (beta) {
    const b = broadcastChannels(dev, beta, x.shape, N, C, HW);
    dev.enqueue('axpy', [out, b], { n, alpha: 1 });
    b.dispose();
  }
  return out;
}

/** relu6(batchNormForward(x)) in one pass over the output, without the batch norm's output (the MBConv pair). */
export function batchNormRelu6Forward(
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  eps = DEFAULT_BN_EPS,
): { z: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const { out: z, mean, invStd } = enqueueBnForward('batchNormRelu6Forward', dev, x, gamma, beta, eps);
  return { z, mean, invStd };
}

/** The gradients of relu6(batchNorm(x)) from dz; the ReLU6 mask is rebuilt from x, gamma and beta. */
export function batchNormRelu6Backward(
  dev: NativeDevice,
  dz: NativeTensor,
  x: NativeTensor,
  mean: NativeTensor,
  invStd: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
): { dx: NativeTensor; dgamma: NativeTensor; dbeta: NativeTensor } {
  return enqueueBnBackward('batchNormRelu6Backward', dev, dz, x, mean, invStd, gamma, beta);
}
