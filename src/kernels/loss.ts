/** Mean softmax cross-entropy over a batch (loss.wgsl + reduce), with a CPU reference. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { sum } from './reduce.js';

/**
 * logits [N, K], labels [N] (f32 class indices) -> loss [1] = mean_n (logsumexp(l_n) - l_n[label_n])
 * and dlogits [N, K] = d loss / d logits. A label outside [0, K) or non-integer gives NaN.
 */
export function softmaxCrossEntropy(gpu: Gpu, logits: GpuTensor, labels: GpuTensor): { loss: GpuTensor; dlogits: GpuTensor } {
  if (logits.shape.length !== 2) throw new ShapeError(`softmaxCrossEntropy: logits must be [N, K], got [${logits.shape.join(', ')}]`);
  const [N, K] = logits.shape;
  if (labels.shape.length !== 1 || labels.shape[0] !== N) {
    throw new ShapeError(`softmaxCrossEntropy: labels must be [${N}], got [${labels.shape.join(', ')}]`);
  }
  if (N === 0 || K === 0) throw new ShapeError(`softmaxCrossEntropy: empty logits [${N}, ${K}]`);
  const dlogits = gpu.empty([N, K]);
  const rowLoss = gpu.empty([N]);
  gpu.dispatch({
    kernel: { file: 'loss.wgsl', entry: 'ce_rows' },
    buffers: [dlogits, rowLoss, logits, labels],
    uniforms: packUniforms([N, K, { f32: 1 / N }, { f32: NaN }]),
    workgroups: gpu.grid1d(N, 1),
  });
  const loss = sum(gpu, rowLoss, 1 / N);
  rowLoss.dispose();
  return { loss, dlogits };
}

/** CPU reference in f64; returns the mean loss and dlogits. */
export function softmaxCrossEntropyF64(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  K: number,
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
    loss += m + Math.log(s) - logits[n * K + label];
    for (let k = 0; k < K; k++) {
      dlogits[n * K + k] = (Math.exp(logits[n * K + k] - m) / s - (k === label ? 1 : 0)) / N;
    }
  }
  return { loss: loss / N, dlogits };
}

export function softmaxCrossEntropyCpu(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  K: number,
): { loss: number; dlogits: Float32Array } {
  const r = softmaxCrossEntropyF64(logits, labels, N, K);
  return { loss: r.loss, dlogits: Float32Array.from(r.dlogits) };
}
