/**
 * Training-mode batch norm over (N, H, W) per channel of NCHW input (or [N, C]), biased variance,
 * on the native device; signatures and errors of src/kernels/batchnorm.ts. gamma/beta null = affine
 * off (gamma 1, beta 0).
 */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';
import { assertSameShape } from './checks.js';

function bnDims(op: string, shape: readonly number[]): { N: number; C: number; HW: number } {
  if (shape.length !== 4 && shape.length !== 2) {
    throw new ShapeError(`${op}: expected [N, C, H, W] (or [N, C]), got [${shape.join(', ')}]`);
  }
  const [N, C] = shape;
  const HW = shape.length === 4 ? shape[2] * shape[3] : 1;
  if (N * HW === 0 || C === 0) throw new ShapeError(`${op}: empty input [${shape.join(', ')}]`);
  return { N, C, HW };
}

function checkParam(op: string, name: string, t: NativeTensor | null, C: number): void {
  if (t && (t.shape.length !== 1 || t.shape[0] !== C)) {
    throw new ShapeError(`${op}: ${name} must be [${C}], got [${t.shape.join(', ')}]`);
  }
}

export function batchNormForward(
  dev: NativeDevice,
  x: NativeTensor,
  gamma: NativeTensor | null,
  beta: NativeTensor | null,
  eps = 1e-5,
): { y: NativeTensor; mean: NativeTensor; invStd: NativeTensor } {
  const d = bnDims('batchNormForward', x.shape);
  checkParam('batchNormForward', 'gamma', gamma, d.C);
  checkParam('batchNormForward', 'beta', beta, d.C);
  if (!(eps > 0)) throw new RangeError(`batchNormForward: eps must be > 0, got ${eps}`);
  const y = dev.empty(x.shape);
  const mean = dev.empty([d.C]);
  const invStd = dev.empty([d.C]);
  const affine = [gamma, beta].filter((t): t is NativeTensor => t !== null);
  dev.enqueue('batchNormForward', [x, y, mean, invStd, ...affine], { ...d, eps, hasGamma: gamma !== null, hasBeta: beta !== null });
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
  const d = bnDims('batchNormBackward', x.shape);
  assertSameShape('batchNormBackward', dy, x);
  checkParam('batchNormBackward', 'mean', mean, d.C);
  checkParam('batchNormBackward', 'invStd', invStd, d.C);
  checkParam('batchNormBackward', 'gamma', gamma, d.C);
  const dx = dev.empty(x.shape);
  const dgamma = dev.empty([d.C]);
  const dbeta = dev.empty([d.C]);
  dev.enqueue('batchNormBackward', [dy, x, mean, invStd, dx, dgamma, dbeta, ...(gamma ? [gamma] : [])], { ...d, hasGamma: gamma !== null });
  return { dx, dgamma, dbeta };
}
