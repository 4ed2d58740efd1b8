/** Mean softmax cross-entropy over a batch on the native device (signatures and errors of src/kernels/loss.ts). */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';

/**
 * logits [N, K], labels [N] (f32 class indices) -> loss [1] = mean_n (logsumexp(l_n) - l_n[label_n])
 * and dlogits [N, K] = d loss / d logits. A label outside [0, K) or non-integer gives NaN.
 */
export function softmaxCrossEntropy(dev: NativeDevice, logits: NativeTensor, labels: NativeTensor): { loss: NativeTensor; dlogits: NativeTensor } {
  if (logits.shape.length !== 2) throw new ShapeError(`softmaxCrossEntropy: logits must be [N, K], got [${logits.shape.join(', ')}]`);
  const [N, K] = logits.shape;
  if (labels.shape.length !== 1 || labels.shape[0] !== N) {
    throw new ShapeError(`softmaxCrossEntropy: labels must be [${N}], got [${labels.shape.join(', ')}]`);
  }
  if (N === 0 || K === 0) throw new ShapeError(`softmaxCrossEntropy: empty logits [${N}, ${K}]`);
  const loss = dev.empty([1]);
  const dlogits = dev.empty([N, K]);
  dev.enqueue('softmaxCrossEntropy', [logits, labels, loss, dlogits], { N, K });
  return { loss, dlogits };
}
