/**
 * The training loss on the host: softmax cross-entropy with label smoothing (PyTorch's
 * CrossEntropyLoss(label_smoothing=ε), ProxylessNAS' cross_entropy_with_label_smoothing: target
 * (1 - ε) one-hot + ε / K), mean over the batch, and its gradient dL/dlogits = (softmax - target) / N
 * to seed a tape's backward with: the reference the device's loss (softmaxCrossEntropy with its
 * smoothing, Tape.crossEntropy) is tested against, and `wgnas train`'s evaluation loss. countCorrect:
 * the accuracy of logits read back.
 */
export interface LossResult {
  loss: number;
  /** dL/dlogits, [N, K]. */
  dlogits: Float32Array;
  /** Rows whose argmax is the label. */
  correct: number;
}

export function smoothedCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  smoothing = 0,
): LossResult {
  const N = labels.length;
  const K = classes;
  if (!(Number.isInteger(K) && K >= 1 && logits.length === N * K))
    throw new RangeError(`smoothedCrossEntropy: ${logits.length} logits for ${N} labels x ${K} classes`);
  if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`label smoothing must be in [0, 1), got ${smoothing}`);
  const dlogits = new Float32Array(N * K);
  let loss = 0;
  let correct = 0;
  for (let n = 0; n < N; n++) {
    const o = n * K;
    const y = labels[n];
    let max = -Infinity;
    let best = 0;
    for (let k = 0; k < K; k++) {
      if (logits[o + k] > max) {
        max = logits[o + k];
        best = k;
      }
    }
    if (best === y) correct++;
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logits[o + k] - max);
    const logZ = Math.log(z) + max;
    for (let k = 0; k < K; k++) {
      const target = (k === y ? 1 - smoothing : 0) + smoothing / K;
      const logp = logits[o + k] - logZ;
      loss -= target * logp;
      dlogits[o + k] = (Math.exp(logp) - target) / N;
    }
  }
  return { loss: loss / N, dlogits, correct };
}

/** Rows of logits [N, K] whose argmax (the first, on ties) is the label. */
export function countCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  const N = labels.length;
  if (!(Number.isInteger(classes) && classes >= 1 && logits.length === N * classes))
    throw new RangeError(`countCorrect: ${logits.length} logits for ${N} labels x ${classes} classes`);
  let ok = 0;
  for (let n = 0; n < N; n++) {
    const o = n * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[o + k] > logits[o + best]) best = k;
    if (best === labels[n]) ok++;
  }
  return ok;
}
