/**
 * Softmax cross-entropy with label smoothing on the CPU, for the few-class heads of the searches:
 * the target is (1 − ε)·one-hot + ε/K (ProxylessNAS' cross_entropy_with_label_smoothing). Returns
 * the mean loss and dL/dlogits to seed a tape's backward with.
 */
export function labelSmoothedCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  smoothing: number,
): { loss: number; dlogits: Float32Array } {
  const N = labels.length;
  const K = classes;
  if (!(Number.isInteger(K) && K >= 1 && logits.length === N * K))
    throw new RangeError(`labelSmoothedCrossEntropy: ${logits.length} logits for ${N} labels x ${K} classes`);
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`label smoothing must be in [0, 1), got ${smoothing}`);
  const dlogits = new Float32Array(N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const o = n * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[o + k]);
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logits[o + k] - max);
    const logZ = Math.log(z) + max;
    for (let k = 0; k < K; k++) {
      const target = (k === labels[n] ? 1 - smoothing : 0) + smoothing / K;
      const logp = logits[o + k] - logZ;
      loss -= target * logp;
      dlogits[o + k] = (Math.exp(logp) - target) / N;
    }
  }
  return { loss: loss / N, dlogits };
}
