/** ReLU / ReLU6 forward and backward (activation.wgsl). */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import { assertSameShape } from './elementwise.js';
import { relu6BackwardCpu, relu6Cpu, reluBackwardCpu, reluCpu } from './reference/activation.js';

export { relu6BackwardCpu, relu6Cpu, reluBackwardCpu, reluCpu };

const WG = 256;
export const ACTIVATION_PARAMS = defineUniforms('activation.wgsl', 'Params', { n: 'u32', _a: 'u32', _b: 'u32', _c: 'u32' });

function unary(gpu: Gpu, entry: string, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'activation.wgsl', entry },
    buffers: [out, x],
    uniforms: ACTIVATION_PARAMS.pack({ n: x.size }),
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
    uniforms: ACTIVATION_PARAMS.pack({ n: x.size }),
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

// ---- descriptors ----------------------------------------------------------------------------------

const activation = <const N extends string, R, W>(
  name: N,
  entry: string,
  summary: string,
  inputs: number,
  reference: R,
  webgpu: W,
) =>
  defineOp({
    name,
    summary,
    kernels: [{ file: 'activation.wgsl', entries: [entry], uniforms: ACTIVATION_PARAMS }],
    cost: ({ n }: { n: number }) => elementwiseCost(n, inputs, 1),
    reference,
    webgpu,
  });

export const reluOp = activation('relu', 'relu', 'max(x, 0)', 1, reluCpu, relu);
export const reluBackwardOp = activation('reluBackward', 'relu_bwd', 'dx = dy (x > 0)', 2, reluBackwardCpu, reluBackward);
export const relu6Op = activation('relu6', 'relu6', 'min(max(x, 0), 6)', 1, relu6Cpu, relu6);
export const relu6BackwardOp = activation(
  'relu6Backward',
  'relu6_bwd',
  'dx = dy (0 < x < 6)',
  2,
  relu6BackwardCpu,
  relu6Backward,
);
