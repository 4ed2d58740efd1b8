/**
 * Training-mode batch norm over (N, H, W) per channel of NCHW input (or [N, C]), biased variance,
 * on the native device; signatures and errors of src/kernels/batchnorm.ts. gamma/beta null = affine
 * off (gamma 1, beta 0).
 */
import { assertSameShape, batchNormDims, checkBatchNormEps, checkChannelParam } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

export function batchNormForward(
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  eps = 1e-5,
): { y: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const { N, C, HW } = batchNormDims('batchNormForward', x.shape);
  checkChannelParam('batchNormForward', 'gamma', gamma, C);
  checkChannelParam('batchNormForward', 'beta', beta, C);
  checkBatchNormEps(eps);
  const y = dev.empty(x.shape);
  const mean = dev.empty([C]);
  const invStd = dev.empty([C]);
  const affine = [gamma, beta].filter((t): t is NativeTensor => t !== null);
  dev.enqueue('batchNormForward', [x, y, mean, invStd, ...affine], { N, C, HW, eps, hasGamma: gamma !== null, hasBeta: beta !== null });
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
  const { N, C, HW } = batchNormDims('batchNormBackward', x.shape);
  assertSameShape('batchNormBackward', dy, x);
  checkChannelParam('batchNormBackward', 'mean', mean, C);
  checkChannelParam('batchNormBackward', 'invStd', invStd, C);
  checkChannelParam('batchNormBackward', 'gamma', gamma, C);
  const dx = dev.empty(x.shape);
  const dgamma = dev.empty([C]);
  const dbeta = dev.empty([C]);
  dev.enqueue('batchNormBackward', [dy, x, mean, invStd, dx, dgamma, dbeta, ...(gamma ? [gamma] : [])], { N, C, HW, hasGamma: gamma !== null });
  return { dx, dgamma, dbeta };
}
