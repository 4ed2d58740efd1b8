/** Batched f32 matmul on matmul.wgsl. */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { DEFAULT_MATMUL_TILE, MATMUL_OUTPUTS_PER_THREAD as R, type MatmulTile, tunedMatmulTile } from './matmul-tiles.js';
import { matmulOperandDims } from './params.js';
import { matmulCpu } from './reference/matmul.js';

export { DEFAULT_MATMUL_TILE, type MatmulTile, matmulCpu };

export const MATMUL_PARAMS = defineUniforms('matmul.wgsl', 'Params', {
  M: 'u32', N: 'u32', K: 'u32', batch: 'u32',
  transA: 'u32', transB: 'u32', strideA: 'u32', strideB: 'u32',
  strideC: 'u32', alpha: 'f32', beta: 'f32', _pad: 'u32',
});

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** C = alpha*AB + beta*C; beta != 0 requires `out`. */
  beta?: number;
  out?: GpuTensor;
  /** Tile override constants (default: the tile tuned for this adapter). */
  tile?: MatmulTile;
}

/**
 * C = op(A) op(B), batched over a leading dimension (a 2-D operand broadcasts).
 * Shapes are the stored ones: A is [b?, M, K] (or [b?, K, M] with transA).
 */
export function matmul(gpu: Gpu, a: GpuTensor, b: GpuTensor, opts: MatmulOptions = {}): GpuTensor {
  const [ba, ra, ca] = matmulOperandDims('matmul', 'A', a.shape);
  const [bb, rb, cb] = matmulOperandDims('matmul', 'B', b.shape);
  const M = opts.transA ? ca : ra;
  const K = opts.transA ? ra : ca;
  const Kb = opts.transB ? cb : rb;
  const N = opts.transB ? rb : cb;
  if (K !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: op(A) is ${M}x${K}, op(B) is ${Kb}x${N} (A [${a.shape}], B [${b.shape}])`,
    );
  }
  if (ba !== bb && ba !== 1 && bb !== 1) throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} differ`);
  const batch = Math.max(ba, bb);
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [batch, M, N] : [M, N];
  const beta = opts.beta ?? 0;
  if (beta !== 0 && !opts.out) throw new Error('matmul: beta != 0 needs an `out` tensor to accumulate into');
  if (opts.out && opts.out.size !== batch * M * N) {
    throw new ShapeError(`matmul: out has ${opts.out.size} elements, expected ${batch}x${M}x${N}`);
  }
  const out = opts.out ?? gpu.empty(outShape);
  const tile = opts.tile ?? tunedMatmulTile(gpu);
  gpu.dispatch({
    kernel: { file: 'matmul.wgsl', constants: { ...tile } },
    buffers: [a, b, out],
    uniforms: MATMUL_PARAMS.pack({
      M, N, K, batch,
      transA: opts.transA ? 1 : 0,
      transB: opts.transB ? 1 : 0,
      strideA: ba === 1 ? 0 : M * K,
      strideB: bb === 1 ? 0 : K * N,
      strideC: M * N,
      alpha: opts.alpha ?? 1,
      beta,
    }),
    workgroups: [Math.ceil(N / (tile.WG_X * R)), Math.ceil(M / (tile.WG_Y * R)), batch],
  });
  return out;
}

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}

export const matmulOp = defineOp({
  name: 'matmul',
  summary: 'C = alpha op(A) op(B) (+ beta C), f32, batched, register-tiled',
  kernels: [{ file: 'matmul.wgsl', entries: ['main'], uniforms: MATMUL_PARAMS, overrides: { ...DEFAULT_MATMUL_TILE } }],
  cost: ({ batch = 1, M, N, K }: { batch?: number; M: number; N: number; K: number }) => ({
    flops: matmulFlops(M, N, K, batch),
    bytes: 4 * batch * (M * K + K * N + M * N),
  }),
  reference: matmulCpu,
  webgpu: matmul,
});
