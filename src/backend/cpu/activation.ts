/** ReLU / ReLU6 forward and backward on the native device (signatures of src/kernels/activation.ts). */
import { assertSameShape } from '../../kernels/params.js';
import type { NativeOpName } from '../../native/compute.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

function unary(dev: NativeDevice, op: NativeOpName, x: NativeTensor): NativeTensor {
  const out = dev.empty(x.shape);
  dev.enqueue(op, [x, out], { n: x.size });
  return out;
}

function backward(dev: NativeDevice, op: NativeOpName, entry: string, dy: NativeTensor, x: NativeTensor): NativeTensor {
  assertSameShape(entry, dy, x);
  const dx = dev.empty(x.shape);
  dev.enqueue(op, [dy, x, dx], { n: x.size });
  return dx;
}

export function relu(dev: NativeDevice, x: NativeTensor): NativeTensor {
  return unary(dev, 'relu', x);
}

/** dx = dy * (x > 0). The op name in errors is the WGSL entry's, as on the GPU. */
export function reluBackward(dev: NativeDevice, dy: NativeTensor, x: NativeTensor): NativeTensor {
  return backward(dev, 'reluBackward', 'relu_bwd', dy, x);
}

export function relu6(dev: NativeDevice, x: NativeTensor): NativeTensor {
  return unary(dev, 'relu6', x);
}

/** dx = dy * (0 < x < 6). */
export function relu6Backward(dev: NativeDevice, dy: NativeTensor, x: NativeTensor): NativeTensor {
  return backward(dev, 'relu6Backward', 'relu6_bwd', dy, x);
}
