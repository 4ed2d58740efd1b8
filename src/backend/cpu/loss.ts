/** Mean softmax cross-entropy over a batch on the native device (signatures and errors of src/kernels/loss.ts). */
import { checkLabelSmoothing, crossEntropyDims } from '../../kernels/params.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/**
 * logits [N, K], labels [N] (f32 class indices) -> loss [1] = mean_n (logsumexp(l_n) - l_n[label_n])
 * and dlogits [N, K] = d loss / d logits. A label outside [0, K) or non-integer gives NaN. With
 * label smoothing eps the target is (1 - eps) onehot + eps / K.
 */
export function softmaxCrossEntropy(
  dev: NativeDevice,
  logits: NativeTensor,
  labels: NativeTensor,
  smoothing = 0,
): { loss: NativeTensor; dlogits: NativeTensor } {
  const [N, K] = crossEntropyDims(logits.shape, labels.shape);
  checkLabelSmoothing(smoothing);
  const loss = dev.empty([1]);
  const dlogits = dev.empty([N, K]);
  dev.enqueue('softmaxCrossEntropy', [logits, labels, loss, dlogits], { N, K, smoothing });
  return { loss, dlogits };
}
