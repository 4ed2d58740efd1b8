/**
 * Average pooling (pool.wgsl) and global average pooling (reduce.wgsl:row_sum forward), NCHW.
 * Semantics follow torch.nn.AvgPool2d (ceil_mode=False); NAS-Bench-201's
 * cell op is { kernel: 3, stride: 1, pad: 1, countIncludePad: false }.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import { type Pool2dParams, avgPool2dOutShape, checkAvgPoolDy, globalAvgPoolBackwardDims, globalAvgPoolDims } from './params.js';
import { REDUCE_PARAMS, rowSums } from './reduce.js';
import {
  avgPool2dBackwardCpu,
  avgPool2dBackwardF64,
  avgPool2dCpu,
  avgPool2dF64,
  globalAvgPoolBackwardCpu,
  globalAvgPoolCpu,
} from './reference/pool.js';

export {
  type Pool2dParams,
  avgPool2dBackwardCpu,
  avgPool2dBackwardF64,
  avgPool2dCpu,
  avgPool2dF64,
  avgPool2dOutShape,
  globalAvgPoolBackwardCpu,
  globalAvgPoolCpu,
};

const WG = 256;
export const POOL_PARAMS = defineUniforms('pool.wgsl', 'Params', {
  planes: 'u32',
  H: 'u32',
  W: 'u32',
  OH: 'u32',
  OW: 'u32',
  K: 'u32',
  stride: 'u32',
  pad: 'u32',
  includePad: 'u32',
  total: 'u32',
  s: 'f32',
  _pad: 'u32',
});

function poolUniforms(
  xShape: readonly number[],
  outShape: readonly number[],
  p: Pool2dParams,
  total: number,
  s = 0,
): ArrayBuffer {
  const [N, C, H, W] = xShape;
  return POOL_PARAMS.pack({
    planes: N * C,
    H,
    W,
    OH: outShape[2],
    OW: outShape[3],
    K: p.kernel,
    stride: p.stride,
    pad: p.pad,
    includePad: p.countIncludePad === false ? 0 : 1,
    total,
    s,
  });
}

export function avgPool2d(gpu: Gpu, x: GpuTensor, p: Pool2dParams): GpuTensor {
  const outShape = avgPool2dOutShape(x.shape, p);
  const out = gpu.empty(outShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'avg_fwd' },
    buffers: [out, x],
    uniforms: poolUniforms(x.shape, outShape, p, out.size),
    workgroups: gpu.grid1d(outShape[0] * outShape[1], 1),
  });
  return out;
}

export function avgPool2dBackward(gpu: Gpu, dy: GpuTensor, xShape: readonly number[], p: Pool2dParams): GpuTensor {
  const outShape = avgPool2dOutShape(xShape, p);
  checkAvgPoolDy(dy.shape, outShape);
  const dx = gpu.empty(xShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'avg_bwd' },
    buffers: [dx, dy],
    uniforms: poolUniforms(xShape, outShape, p, dx.size),
    workgroups: gpu.grid1d(outShape[0] * outShape[1], 1),
  });
  return dx;
}

/** [N, C, H, W] -> [N, C] spatial means. */
export function globalAvgPool(gpu: Gpu, x: GpuTensor): GpuTensor {
  const [N, C, H, W] = globalAvgPoolDims(x.shape);
  return rowSums(gpu, x, H * W, 1 / (H * W), [N, C]);
}

export function globalAvgPoolBackward(gpu: Gpu, dy: GpuTensor, xShape: readonly number[]): GpuTensor {
  const [N, C, H, W] = globalAvgPoolBackwardDims(dy.shape, xShape);
  const dx = gpu.empty(xShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'gap_bwd' },
    buffers: [dx, dy],
    uniforms: POOL_PARAMS.pack({
      planes: N * C,
      H,
      W,
      OH: 1,
      OW: 1,
      K: 1,
      stride: 1,
      pad: 0,
      includePad: 0,
      total: dx.size,
      s: 1 / (H * W),
    }),
    workgroups: gpu.grid1d(dx.size, WG),
  });
  return dx;
}

// ---- descriptors ----------------------------------------------------------------------------------

type PoolProblem = { xShape: readonly number[]; p: Pool2dParams };
const numel = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
const poolCost = ({ xShape, p }: PoolProblem) => {
  const outs = numel(avgPool2dOutShape(xShape, p));
  return { flops: outs * p.kernel * p.kernel, bytes: 4 * (numel(xShape) + outs) };
};

export const avgPool2dOp = defineOp({
  name: 'avgPool2d',
  summary: 'average pooling, NCHW (PyTorch AvgPool2d semantics, ceil_mode off)',
  kernels: [{ file: 'pool.wgsl', entries: ['avg_fwd'], uniforms: POOL_PARAMS }],
  cost: poolCost,
  reference: avgPool2dCpu,
  webgpu: avgPool2d,
});

export const avgPool2dBackwardOp = defineOp({
  name: 'avgPool2dBackward',
  summary: 'average pooling input gradient, NCHW',
  kernels: [{ file: 'pool.wgsl', entries: ['avg_bwd'], uniforms: POOL_PARAMS }],
  cost: poolCost,
  reference: avgPool2dBackwardCpu,
  webgpu: avgPool2dBackward,
});

export const globalAvgPoolOp = defineOp({
  name: 'globalAvgPool',
  summary: '[N, C, H, W] -> [N, C] spatial means (reduce.wgsl row_sum)',
  kernels: [{ file: 'reduce.wgsl', entries: ['row_sum'], uniforms: REDUCE_PARAMS, overrides: { WG: 64 } }],
  cost: ({ xShape }: { xShape: readonly number[] }) => ({
    flops: numel(xShape),
    bytes: 4 * (numel(xShape) + xShape[0] * xShape[1]),
  }),
  reference: globalAvgPoolCpu,
  webgpu: globalAvgPool,
});

export const globalAvgPoolBackwardOp = defineOp({
  name: 'globalAvgPoolBackward',
  summary: 'global average pooling input gradient: dy / (H W) broadcast over each plane',
  kernels: [{ file: 'pool.wgsl', entries: ['gap_bwd'], uniforms: POOL_PARAMS }],
  cost: ({ xShape }: { xShape: readonly number[] }) => elementwiseCost(numel(xShape), 0, 1),
  reference: globalAvgPoolBackwardCpu,
  webgpu: globalAvgPoolBackward,
});
