/**
 * Batched Pearson correlation matrices (B x N x D -> B x N x N): correlation.wgsl normalises the
 * rows, the matmul forms the Gram products Z Z^T split along D (partial Grams of GRAM_K_CHUNK
 * features each, summed by reduce.wgsl), so a few matrices of NB201 size (N = 64, D up to 16384)
 * still spread over a whole GPU instead of one workgroup per matrix.
 */
import type { Gpu } from '../gpu/gpu.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { MATMUL_KERNEL, matmul } from './matmul.js';
import { REDUCE_PARAMS, REDUCE_WG } from './reduce.js';
import {
  DEFAULT_MATMUL_TILE,
  type MatmulTile,
  SMALL_MATMUL_TILES,
  SOFTWARE_MATMUL_TILE,
  matmulTileMisfit,
} from './matmul-tiles.js';
import { assertUnaliased, checkNormalizeRows, correlationDims, offDiagCorrelationDims } from './params.js';
import { correlationCpu } from './reference/correlation.js';

export { correlationCpu };

const WG = 256;
export const CORRELATION_PARAMS = defineUniforms('correlation.wgsl', 'Params', { rows: 'u32', D: 'u32', N: 'u32', B: 'u32' });

/**
 * Features per partial Gram. Fixed (not chosen from B), so a matrix's result does not depend on
 * how many matrices share the dispatch: grouped and ungrouped scoring agree bit for bit.
 */
export const GRAM_K_CHUNK = 1024;

/** The Gram tile: by N only (again so results do not depend on the batch), the first that fits. */
export function gramTile(gpu: Gpu, N: number): MatmulTile {
  const prefer: MatmulTile[] = N <= 32 ? [SMALL_MATMUL_TILES.at(-1)!] : gpu.adapter.isSoftware ? [SOFTWARE_MATMUL_TILE] : [];
  const t = [...prefer, DEFAULT_MATMUL_TILE, ...SMALL_MATMUL_TILES].find((c) => matmulTileMisfit(c, gpu.adapter.limits) === null);
  return t ?? SMALL_MATMUL_TILES.at(-1)!;
}

/** out = Z Z^T for z [B, N, D] (a new [B, N, N] tensor when out is not given). */
export function gram(gpu: Gpu, z: GpuTensor, out?: GpuTensor): GpuTensor {
  const N = z.shape[z.shape.length - 2];
  return matmul(gpu, z, z, { transB: true, out, tile: gramTile(gpu, N), kChunk: GRAM_K_CHUNK });
}

/** Writes the centred, unit-norm rows of x ([rows, D] viewed) into a new tensor of the same shape. */
export function normalizeRows(gpu: Gpu, x: GpuTensor, rows: number, D: number): GpuTensor {
  const z = gpu.empty(x.shape);
  // One kernel serves both paths: copy, then normalise the copy in place (which checks rows x D).
  gpu.copy(x, z);
  try {
    normalizeRowsInPlace(gpu, z, rows, D);
  } catch (e) {
    z.dispose();
    throw e;
  }
  return z;
}

/** Centres and unit-normalises the rows of x ([rows, D] viewed) in place (x is overwritten). */
export function normalizeRowsInPlace(gpu: Gpu, x: GpuTensor, rows: number, D: number): void {
  checkNormalizeRows(rows, D, x.size);
  gpu.dispatch({
    kernel: { file: 'correlation.wgsl', entry: 'normalize_rows', constants: { WG } },
    buffers: [x],
    uniforms: CORRELATION_PARAMS.pack({ rows, D, N: 0, B: 0 }),
    workgroups: gpu.grid1d(rows, 1),
  });
}

/**
 * The batched path's correlation without its diagonal: normalises x ([B, N, D], overwritten) in
 * place and writes Z Z^T into out ([B, N, N]). Off-diagonal entries equal correlation()'s; the
 * diagonal is ~1 for rows with variance and 0 for constant rows (callers count it as 1).
 * D = 1 is allowed: every row is constant, so the correlation matrix is the identity.
 */
export function correlationOffDiagInPlace(gpu: Gpu, x: GpuTensor, out: GpuTensor): void {
  const [B, N, D] = offDiagCorrelationDims(x.shape, out.size);
  assertUnaliased('correlationOffDiagInPlace', [['out', out]], [['x', x]], sameBuffer);
  normalizeRowsInPlace(gpu, x, B * N, D);
  gram(gpu, x, out);
}

/**
 * Pearson correlation between the N rows of each batch entry. x is [B, N, D] (or [N, D]).
 * Rows with zero variance correlate 0 with every other row; the diagonal is exactly 1.
 */
export function correlation(gpu: Gpu, x: GpuTensor, opts: { allowSingleFeature?: boolean } = {}): GpuTensor {
  const [B, N, D] = correlationDims(x.shape, opts.allowSingleFeature);
  // The result owns its buffer in the caller's shape: a view of a [1, N, N] product would make the
  // caller's dispose() a no-op, and every 2-D call (jacob_cov, MeCo's per-ReLU matrices) leak one.
  const c = gpu.empty(x.shape.length === 2 ? [N, N] : [B, N, N]);
  const z = normalizeRows(gpu, x, B * N, D);
  try {
    gram(gpu, z.view([B, N, D]), c);
    gpu.dispatch({
      kernel: { file: 'correlation.wgsl', entry: 'set_diag' },
      buffers: [c],
      uniforms: CORRELATION_PARAMS.pack({ rows: 0, D: 0, N, B }),
      workgroups: [Math.ceil((B * N) / 64)],
    });
  } catch (e) {
    c.dispose();
    throw e;
  } finally {
    z.dispose();
  }
  return c;
}

export const correlationOp = defineOp({
  name: 'correlation',
  summary: 'batched Pearson correlation of N rows of D features (normalize_rows + Z Z^T + set_diag)',
  kernels: [
    { file: 'correlation.wgsl', entries: ['normalize_rows'], uniforms: CORRELATION_PARAMS, overrides: { WG } },
    { file: 'correlation.wgsl', entries: ['set_diag'], uniforms: CORRELATION_PARAMS },
    MATMUL_KERNEL,
    { file: 'reduce.wgsl', entries: ['sum_slices'], uniforms: REDUCE_PARAMS, overrides: { WG: REDUCE_WG } },
  ],
  // Gram product 2BN^2D + normalisation (mean, deviations, two sums of squares, scale) 8BND;
  // x read once, the B matrices written once.
  cost: ({ B = 1, N, D }: { B?: number; N: number; D: number }) => ({
    flops: 2 * B * N * N * D + 8 * B * N * D,
    bytes: 4 * (B * N * D + B * N * N),
  }),
  reference: correlationCpu,
  webgpu: correlation,
});

export const correlationOffDiagInPlaceOp = defineOp({
  name: 'correlationOffDiagInPlace',
  summary: 'batched correlation without set_diag, normalising x in place (WRCor batched scoring)',
  kernels: [
    { file: 'correlation.wgsl', entries: ['normalize_rows'], uniforms: CORRELATION_PARAMS, overrides: { WG } },
    MATMUL_KERNEL,
    { file: 'reduce.wgsl', entries: ['sum_slices'], uniforms: REDUCE_PARAMS, overrides: { WG: REDUCE_WG } },
  ],
  cost: (p: { B?: number; N: number; D: number }) => correlationOp.cost(p),
  // Off-diagonal entries equal correlation()'s; the diagonal is not set (callers count it as 1).
  reference: correlationCpu,
  webgpu: correlationOffDiagInPlace,
});
