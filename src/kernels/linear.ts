/** Fully connected layer y = x W^T + b on the matmul. x [N, In], w [Out, In]. */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineOp } from './descriptor.js';
import { ELEMENTWISE_PARAMS, addBiasRows } from './elementwise.js';
import type { Precision } from './f16.js';
import { MATMUL_KERNEL, matmul } from './matmul.js';
import { checkLinearBias, checkLinearDy, linearDims } from './params.js';
import { REDUCE_PARAMS, colSums } from './reduce.js';
import { linearBackwardCpu, linearBackwardF64, linearCpu, linearF64 } from './reference/linear.js';

export { linearBackwardCpu, linearBackwardF64, linearCpu, linearF64 };

/** The matmuls' precision (matmul's `precision`: default f32, or the Gpu's f16 opt-in). */
export interface LinearOptions {
  precision?: Precision;
}

export function linear(gpu: Gpu, x: GpuTensor, w: GpuTensor, b: GpuTensor | null, opts: LinearOptions = {}): GpuTensor {
  const [, , Out] = linearDims('linear', x.shape, w.shape);
  checkLinearBias(b, Out);
  const y = matmul(gpu, x, w, { transB: true, precision: opts.precision });
  if (b) addBiasRows(gpu, y, b);
  return y;
}

export function linearBackward(
  gpu: Gpu,
  dy: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  hasBias: boolean,
  opts: LinearOptions = {},
): { dx: GpuTensor; dw: GpuTensor; db: GpuTensor | null } {
  const [N, , Out] = linearDims('linearBackward', x.shape, w.shape);
  checkLinearDy(dy.shape, N, Out);
  const { precision } = opts;
  const dx = matmul(gpu, dy, w, { precision }); // [N, Out] x [Out, In]
  const dw = matmul(gpu, dy, x, { transA: true, precision }); // [Out, N] x [N, In]
  const db = hasBias ? colSums(gpu, dy, Out) : null;
  return { dx, dw, db };
}

// ---- descriptors ----------------------------------------------------------------------------------

type LinearProblem = { N: number; In: number; Out: number };

export const linearOp = defineOp({
  name: 'linear',
  summary: 'y = x W^T + b (the matmul, then a bias add)',
  kernels: [MATMUL_KERNEL, { file: 'elementwise.wgsl', entries: ['add_bias'], uniforms: ELEMENTWISE_PARAMS }],
  cost: ({ N, In, Out }: LinearProblem) => ({
    flops: 2 * N * In * Out + N * Out,
    bytes: 4 * (N * In + Out * In + Out + N * Out),
  }),
  reference: linearCpu,
  webgpu: linear,
});

export const linearBackwardOp = defineOp({
  name: 'linearBackward',
  summary: 'dx = dy W, dW = dy^T x, db = column sums of dy',
  kernels: [MATMUL_KERNEL, { file: 'reduce.wgsl', entries: ['col_sum'], uniforms: REDUCE_PARAMS, overrides: { WG: 64 } }],
  cost: ({ N, In, Out }: LinearProblem) => ({
    flops: 4 * N * In * Out + N * Out,
    bytes: 4 * (N * Out + N * In + Out * In + N * In + Out * In + Out),
  }),
  reference: linearBackwardCpu,
  webgpu: linearBackward,
});
