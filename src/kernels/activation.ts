/** ReLU / ReLU6 forward and backward (activation.wgsl), with CPU references. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { assertSameShape } from './elementwise.js';

const WG = 256;

function unary(gpu: Gpu, entry: string, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'activation.wgsl', entry },
    buffers: [out, x],
    uniforms: packUniforms([x.size, 0, 0, 0]),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return out;
}

function backward(gpu: Gpu, entry: string, dy: GpuTensor, x: GpuTensor): GpuTensor {
  assertSameShape(entry, dy, x);
  const dx = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'activation.wgsl', entry },
    buffers: [dx, dy, x],
    uniforms: packUniforms([x.size, 0, 0, 0]),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return dx;
}

export function relu(gpu: Gpu, x: GpuTensor): GpuTensor {
  return unary(gpu, 'relu', x);
}

/** dx = dy * (x > 0). */
export function reluBackward(gpu: Gpu, dy: GpuTensor, x: GpuTensor): GpuTensor {
  return backward(gpu, 'relu_bwd', dy, x);
}

export function relu6(gpu: Gpu, x: GpuTensor): GpuTensor {
  return unary(gpu, 'relu6', x);
}

/** dx = dy * (0 < x < 6). */
export function relu6Backward(gpu: Gpu, dy: GpuTensor, x: GpuTensor): GpuTensor {
  return backward(gpu, 'relu6_bwd', dy, x);
}

export function reluCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.max(v, 0));
}
export function reluBackwardCpu(dy: ArrayLike<number>, x: ArrayLike<number>): Float32Array {
  return Float32Array.from(dy, (g, i) => (x[i] > 0 ? g : 0));
}
export function relu6Cpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.min(Math.max(v, 0), 6));
}
export function relu6BackwardCpu(dy: ArrayLike<number>, x: ArrayLike<number>): Float32Array {
  return Float32Array.from(dy, (g, i) => (x[i] > 0 && x[i] < 6 ? g : 0));
}
