/**
 * Batched register-tiled matmul: one generated program per tile and operand layout
 * (src/kernels/matmul-program.ts), f32 operands or, opt-in, f16 operands with f32 accumulation.
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import { generatedProgramFile } from '../gpu/shaders.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { CAST_F16_PARAMS, castF16, type Precision, resolvePrecision } from './f16.js';
import {
  DEFAULT_MATMUL_TILE,
  MIN_MATMUL_WORKGROUPS,
  type MatmulTile,
  matmulTileFor,
  matmulTileMisfit,
  matmulWorkgroups,
} from './matmul-tiles.js';
import { type MatmulProgramKey, matmulProgram, matmulProgramName } from './matmul-program.js';
import { assertMatmulOutUnaliased, matmulDims } from './params.js';
import { SUM_SLICES_KERNEL, sumSlicesInto } from './reduce.js';
import { matmulCpu } from './reference/matmul.js';

export { DEFAULT_MATMUL_TILE, type MatmulTile, matmulCpu, type Precision };

/** The shader-cache name of a generated matmul program, registering its source on first use. */
export function matmulProgramFile(key: MatmulProgramKey): string {
  return generatedProgramFile(matmulProgramName(key), () => matmulProgram(key));
}

/** The program of the default tile on vec4-aligned, untransposed f32 operands (descriptors name it). */
export const MATMUL_DEFAULT_PROGRAM = matmulProgramFile({
  tile: { ...DEFAULT_MATMUL_TILE },
  transA: false,
  transB: false,
  vecA: true,
  vecB: true,
  vecC: true,
  beta: false,
  elem: 'f32',
});

export const MATMUL_PARAMS = defineUniforms(MATMUL_DEFAULT_PROGRAM, 'Params', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  batch: 'u32',
  transA: 'u32',
  transB: 'u32',
  strideA: 'u32',
  strideB: 'u32',
  strideC: 'u32',
  alpha: 'f32',
  beta: 'f32',
  flags: 'u32',
  splits: 'u32',
  kChunk: 'u32',
  _a: 'u32',
  _b: 'u32',
});

/** The matmul kernel as op descriptors list it (the default program; others differ in layout only). */
export const MATMUL_KERNEL = { file: MATMUL_DEFAULT_PROGRAM, entries: ['main'], uniforms: MATMUL_PARAMS } as const;

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** C = alpha*AB + beta*C; beta != 0 requires `out`. */
  beta?: number;
  out?: GpuTensor;
  /** Tile override constants (default: matmulTileFor, the adapter's tuned tile for the shape). */
  tile?: MatmulTile;
  /**
   * 'f16': operands rounded to f16, products and sums in f32 (the f16 program; needs shader-f16).
   * Default: 'f32', or the Gpu's opt-in (Gpu.f16Compute) where the adapter has shader-f16.
   */
  precision?: Precision;
  /**
   * Split-K: k is cut into this many chunks whose partial products are summed (reduce.wgsl).
   * Default: 1, except on hardware adapters for products with too few workgroups and a long K.
   */
  splits?: number;
  /** Split-K chunk length instead of a split count (rounded up to the tile's BK). */
  kChunk?: number;
}

/** Split-K for products that leave a GPU idle: aim for MIN_MATMUL_WORKGROUPS, chunks of >= 512. */
const MIN_K_PER_SPLIT = 512;

function autoSplits(gpu: Gpu, tile: MatmulTile, M: number, N: number, K: number, batch: number): number {
  if (gpu.adapter.isSoftware) return 1;
  const wg = matmulWorkgroups(tile, M, N, batch);
  if (wg >= MIN_MATMUL_WORKGROUPS) return 1;
  return Math.max(1, Math.min(Math.ceil(MIN_MATMUL_WORKGROUPS / wg), Math.floor(K / MIN_K_PER_SPLIT)));
}

/**
 * Split-K's chunks for a target of `splits`: chunks of ceil(K / splits) rounded up to a multiple of
 * BK (every chunk but the last starts and ends on a k-tile), and the split count that leaves.
 */
export function splitKChunks(K: number, splits: number, BK: number): { kChunk: number; splits: number } {
  const kChunk = Math.max(BK, Math.ceil(Math.ceil(K / splits) / BK) * BK);
  return { kChunk, splits: Math.max(1, Math.ceil(K / kChunk)) };
}

/**
 * C = op(A) op(B), batched over a leading dimension (a 2-D operand broadcasts).
 * Shapes are the stored ones: A is [b?, M, K] (or [b?, K, M] with transA).
 */
export function matmul(gpu: Gpu, a: GpuTensor, b: GpuTensor, opts: MatmulOptions = {}): GpuTensor {
  const { batch, M, N, K, batchA, batchB, outShape, beta } = matmulDims(a.shape, b.shape, opts);
  assertMatmulOutUnaliased(opts.out, a, b, sameBuffer);
  const precision = resolvePrecision(gpu, 'matmul', opts.precision);
  const elemBytes = precision === 'f16' ? 2 : 4;
  const tile = opts.tile ?? matmulTileFor(gpu, M, N, batch, elemBytes);
  const misfit = matmulTileMisfit(tile, gpu.adapter.limits, elemBytes);
  if (misfit) throw new RangeError(`matmul: tile ${JSON.stringify(tile)} does not fit: ${misfit}`);
  let splits =
    opts.kChunk !== undefined
      ? Math.max(1, Math.ceil(K / Math.max(1, opts.kChunk)))
      : (opts.splits ?? autoSplits(gpu, tile, M, N, K, batch));
  if (!Number.isInteger(splits) || splits < 1)
    throw new RangeError(`matmul: splits must be a positive integer, got ${opts.splits}`);
  if (beta !== 0) splits = 1; // partial sums cannot fold in beta * C; keep one pass
  const chunked = splitKChunks(K, splits, tile.BK);
  const kChunk = chunked.kChunk;
  splits = chunked.splits;
  const out = opts.out ?? gpu.empty(outShape);
  if (batch * M * N === 0) return out;
  const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (batch * splits > maxWg)
    throw new ShapeError(`matmul: ${batch} products x ${splits} splits exceed ${maxWg} workgroups per dimension`);

  let A = a;
  let B = b;
  const owned: GpuTensor[] = [];
  if (precision === 'f16') {
    A = castF16(gpu, a);
    B = castF16(gpu, b);
    owned.push(A, B);
  }
  const aCont = opts.transA ? M : K; // the contiguous axis of each stored operand
  const bCont = opts.transB ? K : N;
  const flags = (aCont % 4 === 0 ? 1 : 0) | (bCont % 4 === 0 ? 2 : 0) | (N % 4 === 0 ? 4 : 0);
  const part = splits === 1 ? out : gpu.empty([splits, batch, M, N]);
  const file = matmulProgramFile({
    tile,
    transA: !!opts.transA,
    transB: !!opts.transB,
    vecA: aCont % 4 === 0,
    vecB: bCont % 4 === 0,
    vecC: N % 4 === 0,
    beta: beta !== 0,
    elem: precision,
  });
  gpu.dispatch({
    kernel: { file },
    buffers: [A, B, part],
    uniforms: MATMUL_PARAMS.pack({
      M,
      N,
      K,
      batch,
      transA: opts.transA ? 1 : 0,
      transB: opts.transB ? 1 : 0,
      strideA: batchA ? M * K : 0,
      strideB: batchB ? K * N : 0,
      strideC: M * N,
      alpha: opts.alpha ?? 1,
      beta,
      flags,
      splits,
      kChunk,
    }),
    workgroups: [Math.ceil(N / tile.BN), Math.ceil(M / tile.BM), batch * splits],
  });
  if (splits > 1) {
    sumSlicesInto(gpu, part, splits, out);
    part.dispose(); // the pool hands it out again only to later work on the same queue
  }
  for (const t of owned) t.dispose();
  return out;
}

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}

export const matmulOp = defineOp({
  name: 'matmul',
  summary: 'C = alpha op(A) op(B) (+ beta C), batched, register-tiled, split-K; f32 or f16 operands',
  kernels: [MATMUL_KERNEL, { file: 'cast_f16.wgsl', entries: ['main'], uniforms: CAST_F16_PARAMS }, SUM_SLICES_KERNEL],
  cost: ({ batch = 1, M, N, K }: { batch?: number; M: number; N: number; K: number }) => ({
    flops: matmulFlops(M, N, K, batch),
    bytes: 4 * batch * (M * K + K * N + M * N),
  }),
  reference: matmulCpu,
  webgpu: matmul,
});
