/**
 * References of fitness.wgsl: the AutoSpace mixture y = sum_k softmax(phi)_k o_k and its gradients, f64.
 * Plain indexed loops over the n elements: `wgnas bench` times these as the "cpu" baseline, and
 * Float64Array.from(x, mapFn) runs ~20x slower in V8 (a call per element through the iterator path).
 */
import { softmax } from '../../util/softmax.js';

export function fitnessSoftmaxCpu(logits: ArrayLike<number>): Float64Array {
  return Float64Array.from(softmax(logits));
}

/** y + probs[k]·o (a new array; y may be null for 0). */
export function mixAccumulateCpu(
  y: ArrayLike<number> | null,
  o: ArrayLike<number>,
  probs: ArrayLike<number>,
  k: number,
): Float64Array {
  const out = new Float64Array(o.length);
  const pk = probs[k];
  for (let i = 0; i < out.length; i++) out[i] = (y ? y[i] : 0) + pk * o[i];
  return out;
}

export function mixForwardCpu(outs: ReadonlyArray<ArrayLike<number>>, probs: ArrayLike<number>): Float64Array {
  const y = new Float64Array(outs[0].length);
  outs.forEach((o, k) => {
    for (let i = 0; i < y.length; i++) y[i] += probs[k] * o[i];
  });
  return y;
}

export function mixBackwardCpu(
  o: ArrayLike<number>,
  dy: ArrayLike<number>,
  probs: ArrayLike<number>,
  k: number,
): { dOut: Float64Array; gDot: number } {
  let g = 0;
  for (let i = 0; i < o.length; i++) g += o[i] * dy[i];
  const dOut = new Float64Array(dy.length);
  const pk = probs[k];
  for (let i = 0; i < dOut.length; i++) dOut[i] = pk * dy[i];
  return { dOut, gDot: g };
}

/** mixBackwardCpu for every candidate: each dOut and the gDots, f64. */
export function mixBackwardManyCpu(
  outs: ReadonlyArray<ArrayLike<number>>,
  dy: ArrayLike<number>,
  probs: ArrayLike<number>,
): { dOuts: Float64Array[]; gDots: Float64Array } {
  const back = outs.map((o, k) => mixBackwardCpu(o, dy, probs, k));
  return { dOuts: back.map((b) => b.dOut), gDots: Float64Array.from(back, (b) => b.gDot) };
}

export function fitnessGradCpu(probs: ArrayLike<number>, gDots: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < probs.length; i++) mean += probs[i] * gDots[i];
  return Float64Array.from(probs, (p, i) => p * (gDots[i] - mean));
}

/** The whole mixture in f64: y and, given dL/dy, dL/do_k and dL/dφ. */
export function mixtureCpu(
  outs: ReadonlyArray<ArrayLike<number>>,
  logits: ArrayLike<number>,
  dy?: ArrayLike<number>,
): { probs: Float64Array; y: Float64Array; dOuts?: Float64Array[]; dLogits?: Float64Array } {
  const probs = fitnessSoftmaxCpu(logits);
  const y = mixForwardCpu(outs, probs);
  if (!dy) return { probs, y };
  const back = outs.map((o, k) => mixBackwardCpu(o, dy, probs, k));
  return {
    probs,
    y,
    dOuts: back.map((b) => b.dOut),
    dLogits: fitnessGradCpu(
      probs,
      back.map((b) => b.gDot),
    ),
  };
}
