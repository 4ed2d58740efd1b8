/** Reference of loss.wgsl: mean softmax cross-entropy over a batch, f64. */
import { f32Twin } from './f32.js';

/** CPU reference in f64; returns the mean loss and dlogits (target (1 - smoothing) onehot + smoothing / K). */
export function softmaxCrossEntropyF64(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  K: number,
  smoothing = 0,
): { loss: number; dlogits: Float64Array } {
  const dlogits = new Float64Array(N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    if (!Number.isInteger(label) || label < 0 || label >= K) {
      loss = NaN;
      dlogits.fill(NaN, n * K, (n + 1) * K);
      continue;
    }
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, logits[n * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[n * K + k] - m);
    const lse = m + Math.log(s);
    for (let k = 0; k < K; k++) {
      const target = (k === label ? 1 - smoothing : 0) + smoothing / K;
      loss += target * (lse - logits[n * K + k]);
      dlogits[n * K + k] = (Math.exp(logits[n * K + k] - m) / s - target) / N;
    }
  }
  return { loss: loss / N, dlogits };
}

export const softmaxCrossEntropyCpu = f32Twin(softmaxCrossEntropyF64);
