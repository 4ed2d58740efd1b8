/**
 * AutoSpace fitness mixing on the native device (signatures and errors of src/kernels/fitness.ts):
 * p = softmax(φ), y = Σ_k p_k·o_k; backward dL/do_k = p_k·dL/dy, g_k = Σ o_k ⊙ dL/dy,
 * dL/dφ_i = p_i (g_i − Σ_k p_k g_k). The weights are read from the probs tensor, so a step needs no
 * read-back. The GPU tuning knobs (wg, items) are validated as there and otherwise unused.
 */
import {
  assertDistinct as assertDistinctBy,
  assertMixture,
  assertVector,
  checkFitnessOpts,
  checkMixAccumulate,
  checkMixBackward,
  checkMixBackwardMany,
} from '../../kernels/params.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

const MIX_WG = 256;
const DOT_WG = 64;
const DOT_ITEMS = 32;

/** The WGSL kernels' tuning knobs; wg: power of two ≤ 256. */
export interface FitnessKernelOpts {
  wg?: number;
  /** Elements per thread in the dot-product passes. */
  items?: number;
}

/** The GPU path cannot bind one buffer twice with a write; the same aliasing is refused here for one behaviour. */
function assertDistinct(op: string, written: NativeTensor, name: string, others: Array<[string, NativeTensor]>): void {
  assertDistinctBy(op, written, name, others, (a, b) => a.handle === b.handle);
}

/** p = softmax(φ) over a [K] logits tensor (max-subtracted). */
export function fitnessSoftmax(dev: NativeDevice, logits: NativeTensor): NativeTensor {
  assertVector('fitnessSoftmax', 'logits', logits);
  const probs = dev.empty(logits.shape);
  dev.enqueue('fitnessSoftmax', [logits, probs], { K: logits.size });
  return probs;
}

export interface MixAccumulateOpts extends FitnessKernelOpts {
  /** Write y = probs[k]·o instead of adding (y's old contents are ignored). */
  overwrite?: boolean;
}

/** y += probs[k]·o in place (same shapes; probs is [K]). */
export function mixAccumulate(
  dev: NativeDevice,
  y: NativeTensor,
  o: NativeTensor,
  probs: NativeTensor,
  k: number,
  opts: MixAccumulateOpts = {},
): void {
  checkMixAccumulate(y, o, probs, k);
  checkFitnessOpts('mixAccumulate', opts.wg ?? MIX_WG, 1);
  assertDistinct('mixAccumulate', y, 'y', [
    ['o', o],
    ['probs', probs],
  ]);
  if (y.size === 0) return;
  dev.enqueue('mixAccumulate', [y, o, probs], { n: y.size, k, overwrite: opts.overwrite ?? false });
}

/** y = Σ_k probs[k]·outs[k] as a new tensor. */
export function mixForward(
  dev: NativeDevice,
  outs: readonly NativeTensor[],
  probs: NativeTensor,
  opts: FitnessKernelOpts = {},
): NativeTensor {
  assertMixture('mixForward', outs, probs);
  checkFitnessOpts('mixForward', opts.wg ?? MIX_WG, 1);
  const y = dev.empty(outs[0].shape);
  outs.forEach((o, k) => mixAccumulate(dev, y, o, probs, k, { ...opts, overwrite: k === 0 }));
  return y;
}

/**
 * Backward of candidate k: dOut = probs[k]·dy and gDots[k] = Σ o_k ⊙ dy. Pass dOut = null when o_k
 * needs no gradient (dot only), gDots = null when φ needs none (scale only).
 */
export function mixBackward(
  dev: NativeDevice,
  o: NativeTensor,
  dy: NativeTensor,
  probs: NativeTensor,
  k: number,
  dOut: NativeTensor | null,
  gDots: NativeTensor | null,
  opts: FitnessKernelOpts = {},
): void {
  const op = 'mixBackward';
  checkMixBackward(o, dy, probs, k, dOut, gDots);
  checkFitnessOpts(op, opts.wg ?? DOT_WG, opts.items ?? DOT_ITEMS);
  const inputs: Array<[string, NativeTensor]> = [
    ['o', o],
    ['dy', dy],
    ['probs', probs],
  ];
  if (dOut) assertDistinct(op, dOut, 'dOut', gDots ? [...inputs, ['gDots', gDots]] : inputs);
  if (gDots) assertDistinct(op, gDots, 'gDots', inputs);
  if (!dOut && !gDots) return;
  const tensors = [o, dy, probs, ...(dOut ? [dOut] : []), ...(gDots ? [gDots] : [])];
  dev.enqueue('mixBackward', tensors, { n: o.size, k, hasDOut: dOut !== null, hasGDots: gDots !== null });
}

/** mixBackward for every candidate (one native op each: no dispatch cost here). */
export function mixBackwardMany(
  dev: NativeDevice,
  outs: readonly NativeTensor[],
  dy: NativeTensor,
  probs: NativeTensor,
  dOuts: readonly (NativeTensor | null)[],
  gDots: NativeTensor | null,
): void {
  checkMixBackwardMany(outs, dy, probs, dOuts, gDots, sameStorage);
  outs.forEach((o, k) => mixBackward(dev, o, dy, probs, k, dOuts[k], gDots));
}

/** dL/dφ_i = p_i (g_i − Σ_k p_k g_k) as a new [K] tensor. */
export function fitnessGrad(dev: NativeDevice, probs: NativeTensor, gDots: NativeTensor): NativeTensor {
  assertVector('fitnessGrad', 'probs', probs);
  assertVector('fitnessGrad', 'gDots', gDots, probs.size);
  const out = dev.empty(probs.shape);
  dev.enqueue('fitnessGrad', [probs, gDots, out], { K: probs.size });
  return out;
}
