/** Mean softmax cross-entropy over a batch (loss.wgsl + reduce). */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { checkLabelSmoothing, crossEntropyDims } from './params.js';
import { REDUCE_PARAMS, sum } from './reduce.js';
import { softmaxCrossEntropyCpu, softmaxCrossEntropyF64 } from './reference/loss.js';

export { softmaxCrossEntropyCpu, softmaxCrossEntropyF64 };

/** nan: the value written for an invalid label (NaN, passed in: WGSL has no NaN literal). */
export const LOSS_PARAMS = defineUniforms('loss.wgsl', 'Params', {
  N: 'u32',
  K: 'u32',
  invN: 'f32',
  nan: 'f32',
  smoothing: 'f32',
});

/**
 * logits [N, K], labels [N] (f32 class indices) -> loss [1] = mean_n (logsumexp(l_n) - l_n[label_n])
 * and dlogits [N, K] = d loss / d logits. A label outside [0, K) or non-integer gives NaN. With
 * label smoothing eps the target is (1 - eps) onehot + eps / K (PyTorch's label_smoothing).
 */
export function softmaxCrossEntropy(
  gpu: Gpu,
  logits: GpuTensor,
  labels: GpuTensor,
  smoothing = 0,
): { loss: GpuTensor; dlogits: GpuTensor } {
  const [N, K] = crossEntropyDims(logits.shape, labels.shape);
  checkLabelSmoothing(smoothing);
  const dlogits = gpu.empty([N, K]);
  const rowLoss = gpu.empty([N]);
  gpu.dispatch({
    kernel: { file: 'loss.wgsl', entry: 'ce_rows' },
    buffers: [dlogits, rowLoss, logits, labels],
    uniforms: LOSS_PARAMS.pack({ N, K, invN: 1 / N, nan: NaN, smoothing }),
    workgroups: gpu.grid1d(N, 1),
  });
  const loss = sum(gpu, rowLoss, 1 / N);
  rowLoss.dispose();
  return { loss, dlogits };
}

export const softmaxCrossEntropyOp = defineOp({
  name: 'softmaxCrossEntropy',
  summary: 'mean softmax cross-entropy and its gradient d loss / d logits',
  kernels: [
    { file: 'loss.wgsl', entries: ['ce_rows'], uniforms: LOSS_PARAMS },
    { file: 'reduce.wgsl', entries: ['reduce_sum'], uniforms: REDUCE_PARAMS, overrides: { WG: 64, ITEMS: 32 } },
  ],
  // Per logit a max, exp, sum and the gradient (~5 FLOPs); logits read, dlogits written.
  cost: ({ N, K }: { N: number; K: number }) => ({ flops: 5 * N * K, bytes: 4 * (2 * N * K + N + 1) }),
  reference: softmaxCrossEntropyCpu,
  webgpu: softmaxCrossEntropy,
});
