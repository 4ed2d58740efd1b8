/**
 * Batched Pearson correlation matrices (B x N x D -> B x N x N): the Gram products Z Z^T of the
 * centred unit-norm rows Z, split along D (partial Grams of GRAM_K_CHUNK features each, summed by
 * reduce.wgsl), so a few matrices of NB201 size (N = 64, D up to 16384) still spread over a whole
 * GPU instead of one workgroup per matrix. For N <= 64 correlation.wgsl's row_stats gives each
 * row's mean and scale and the symmetric Gram program (gram-program.ts: each Z tile loaded once,
 * only the blocks on and above the diagonal computed, then mirrored) normalises the rows as it
 * loads them; else (or with the 'matmul' Gram kernel, kept for A/B runs) normalize_rows writes Z
 * and the matmul (transB) forms the product. Both paths give the same bits.
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import { generatedProgramFile } from '../gpu/shaders.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import {
  GRAM_PAD_K,
  GRAM_SYM_MAX_GROUPS,
  type GramProgramKey,
  gramProgram,
  gramProgramKey,
  gramProgramName,
  gramStorageBytes,
  gramThreads,
} from './gram-program.js';
import { MATMUL_KERNEL, matmul, splitKChunks } from './matmul.js';
import { SUM_SLICES_KERNEL, sumSlicesInto } from './reduce.js';
import {
  DEFAULT_MATMUL_TILE,
  type MatmulTile,
  SMALL_MATMUL_TILES,
  SOFTWARE_MATMUL_TILE,
  matmulTileMisfit,
} from './matmul-tiles.js';
import {
  assertUnaliased,
  checkNormalizeRows,
  correlationDims,
  type GramKernel,
  type GramOptions,
  gramDims,
  offDiagCorrelationDims,
} from './params.js';
import { correlationCpu, gramCpu } from './reference/correlation.js';

export { correlationCpu, gramCpu, type GramKernel, type GramOptions };

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

/** The shader-cache name of a symmetric Gram program, registering its source on first use. */
export function gramProgramFile(key: GramProgramKey): string {
  return generatedProgramFile(gramProgramName(key), () => gramProgram(key));
}

/** The program of WRCor's Gram products (N = 64, D a multiple of 4): descriptors name it. */
export const GRAM_DEFAULT_PROGRAM = gramProgramFile(gramProgramKey(64, 1024));
export const GRAM_PARAMS = defineUniforms(GRAM_DEFAULT_PROGRAM, 'Params', { N: 'u32', D: 'u32', B: 'u32', kChunk: 'u32' });
const GRAM_KERNEL = { file: GRAM_DEFAULT_PROGRAM, entries: ['main'], uniforms: GRAM_PARAMS } as const;

/**
 * The chunks along D both Gram kernels use: GRAM_K_CHUNK's split count, chunks rounded up to the
 * matmul Gram tile's BK (gramTile: 16, 8 only where no tile of 16 fits), as matmul() rounds them.
 */
export function gramKChunks(D: number, BK = GRAM_PAD_K): { kChunk: number; splits: number } {
  return splitKChunks(D, Math.max(1, Math.ceil(D / GRAM_K_CHUNK)), BK);
}

/** Why the symmetric kernel cannot form this Gram product here (null: it can). */
export function gramSymMisfit(gpu: Gpu, N: number, D: number): string | null {
  if (N > 4 * GRAM_SYM_MAX_GROUPS) return `N=${N} > ${4 * GRAM_SYM_MAX_GROUPS}`;
  const key = gramProgramKey(N, D);
  const lim = gpu.adapter.limits;
  const threads = gramThreads(key.NB);
  if (threads > (lim.maxComputeInvocationsPerWorkgroup ?? 256) || threads > (lim.maxComputeWorkgroupSizeX ?? 256))
    return `${threads} invocations per workgroup exceed the device's limits`;
  if (gramStorageBytes(key) > (lim.maxComputeWorkgroupStorageSize ?? 16384)) return 'workgroup memory';
  return null;
}

/**
 * out = Z Z^T for z [B, N, D] or [N, D] (a new [B, N, N] or [N, N] tensor when out is not given):
 * the symmetric program where it fits (useSymmetric), else the matmul with transB; the same bits.
 */
export function gram(gpu: Gpu, z: GpuTensor, out?: GpuTensor, opts: GramOptions = {}): GpuTensor {
  const [B, N, D] = gramDims(z.shape, out?.size);
  if (out) assertUnaliased('gram', [['out', out]], [['z', z]], sameBuffer);
  if (!useSymmetric(gpu, z, opts.kernel)) {
    return matmul(gpu, z, z, { transB: true, out, tile: gramTile(gpu, N), kChunk: GRAM_K_CHUNK });
  }
  const o = out ?? gpu.empty(z.shape.length === 3 ? [B, N, N] : [N, N]);
  gramSym(gpu, z, o, B, N, D);
  return o;
}

function useSymmetric(gpu: Gpu, x: GpuTensor, kernel: GramKernel = 'symmetric'): boolean {
  const r = x.shape.length;
  if (kernel !== 'symmetric' || (r !== 2 && r !== 3)) return false;
  const [N, D] = [x.shape[r - 2], x.shape[r - 1]];
  // Empty rows or features keep the matmul path's answers (an empty result; zeros for D = 0).
  return N > 0 && D > 0 && gramSymMisfit(gpu, N, D) === null;
}

/**
 * out = Z Z^T on the symmetric program, for z [B, N, D] (with stats: z's rows normalised as they
 * are loaded, stats [B * N] (mean, scale) pairs from rowStats).
 */
function gramSym(gpu: Gpu, z: GpuTensor, out: GpuTensor, B: number, N: number, D: number, stats?: GpuTensor): void {
  if (B * N === 0) return;
  const { kChunk, splits } = gramKChunks(D, gramTile(gpu, N).BK);
  const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (B > maxWg || splits > maxWg)
    throw new ShapeError(`gram: ${B} matrices or ${splits} chunks exceed ${maxWg} workgroups per dimension`);
  const part = splits === 1 ? out : gpu.empty([splits, B, N, N]);
  gpu.dispatch({
    kernel: { file: gramProgramFile(gramProgramKey(N, D, stats !== undefined)) },
    buffers: stats ? [z, part, stats] : [z, part],
    uniforms: GRAM_PARAMS.pack({ N, D, B, kChunk }),
    workgroups: [B, splits],
  });
  if (splits > 1) {
    sumSlicesInto(gpu, part, splits, out);
    part.dispose(); // the pool hands it out again only to later work on the same queue
  }
}

/**
 * The (mean, scale) of each of x's rows ([rows, D] viewed) as normalize_rows computes them, as a
 * new [rows, 2] tensor: what the symmetric Gram program needs to normalise rows on load.
 */
export function rowStats(gpu: Gpu, x: GpuTensor, rows: number, D: number): GpuTensor {
  checkNormalizeRows(rows, D, x.size);
  const stats = gpu.empty([rows, 2]);
  gpu.dispatch({
    kernel: { file: 'correlation.wgsl', entry: 'row_stats', constants: { WG } },
    buffers: [x, stats],
    uniforms: CORRELATION_PARAMS.pack({ rows, D, N: 0, B: 0 }),
    workgroups: gpu.grid1d(rows, 1),
  });
  return stats;
}

/**
 * out = Z Z^T for Z the normalised rows of x [B, N, D]: row_stats then the symmetric program,
 * which normalises each row as it loads it (x is left as it is; the normalised rows are never
 * written), or, for N > 64 and the 'matmul' kernel, normalize_rows in place (x overwritten) and
 * the matmul. The same bits either way.
 */
function correlationGram(gpu: Gpu, x: GpuTensor, out: GpuTensor, B: number, N: number, D: number, kernel?: GramKernel): void {
  if (!useSymmetric(gpu, x, kernel)) {
    normalizeRowsInPlace(gpu, x, B * N, D);
    gram(gpu, x, out, { kernel: 'matmul' });
    return;
  }
  if (B * N === 0) return;
  const stats = rowStats(gpu, x, B * N, D);
  try {
    gramSym(gpu, x, out, B, N, D, stats);
  } finally {
    stats.dispose(); // the pool hands it out again only to later work on the same queue
  }
}

/**
 * FLOPs of B Gram products of N rows of D features as each kernel runs them: the matmul's full
 * product 2 N^2 D per matrix; the symmetric kernel's 2 D per entry of the 4 x 4 blocks on and above
 * the diagonal (diagonal blocks whole), N (N + 4) D for N a multiple of 4: 53 % of the full
 * product's at N = 64.
 */
export function gramFlops(B: number, N: number, D: number, kernel: GramKernel = 'symmetric'): number {
  if (kernel === 'matmul' || N > 4 * GRAM_SYM_MAX_GROUPS) return 2 * B * N * N * D;
  const NB = Math.ceil(N / 4);
  return 2 * B * D * 16 * gramThreads(NB);
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
 * The batched path's correlation without its diagonal: Z Z^T into out ([B, N, N]) for Z the
 * normalised rows of x ([B, N, D]), which serves as scratch: left as it is on the symmetric Gram
 * program (rows normalised as they are loaded), normalised in place on the matmul (N > 64, or
 * opts.gram 'matmul'). Off-diagonal entries equal correlation()'s; the diagonal is ~1 for rows
 * with variance and 0 for constant rows (callers count it as 1).
 * D = 1 is allowed: every row is constant, so the correlation matrix is the identity.
 */
export function correlationOffDiagInPlace(gpu: Gpu, x: GpuTensor, out: GpuTensor, opts: { gram?: GramKernel } = {}): void {
  const [B, N, D] = offDiagCorrelationDims(x.shape, out.size);
  assertUnaliased('correlationOffDiagInPlace', [['out', out]], [['x', x]], sameBuffer);
  correlationGram(gpu, x, out, B, N, D, opts.gram);
}

/**
 * Pearson correlation between the N rows of each batch entry. x is [B, N, D] (or [N, D]).
 * Rows with zero variance correlate 0 with every other row; the diagonal is exactly 1.
 * opts.gram: the Gram kernel (GramKernel; the bench's A/B). x is not modified.
 */
export function correlation(gpu: Gpu, x: GpuTensor, opts: { allowSingleFeature?: boolean; gram?: GramKernel } = {}): GpuTensor {
  const [B, N, D] = correlationDims(x.shape, opts.allowSingleFeature);
  // The result owns its buffer in the caller's shape: a view of a [1, N, N] product would make the
  // caller's dispose() a no-op, and every 2-D call (jacob_cov, MeCo's per-ReLU matrices) leak one.
  const c = gpu.empty(x.shape.length === 2 ? [N, N] : [B, N, N]);
  // The matmul path normalises a copy in place; the symmetric program reads x itself.
  const sym = useSymmetric(gpu, x, opts.gram);
  const z = sym ? x : gpu.empty(x.shape);
  try {
    if (!sym) gpu.copy(x, z);
    correlationGram(gpu, z.view([B, N, D]), c, B, N, D, opts.gram);
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
    if (!sym) z.dispose();
  }
  return c;
}

export const correlationOp = defineOp({
  name: 'correlation',
  summary: 'batched Pearson correlation of N rows of D features (row statistics + Z Z^T + set_diag)',
  kernels: [
    { file: 'correlation.wgsl', entries: ['normalize_rows', 'row_stats'], uniforms: CORRELATION_PARAMS, overrides: { WG } },
    { file: 'correlation.wgsl', entries: ['set_diag'], uniforms: CORRELATION_PARAMS },
    GRAM_KERNEL,
    MATMUL_KERNEL,
    SUM_SLICES_KERNEL,
  ],
  // Gram product 2BN^2D (the full product's; the symmetric kernel does about half, gramFlops) +
  // normalisation (mean, deviations, two sums of squares, scale) 8BND; x read once, the B matrices
  // written once.
  cost: ({ B = 1, N, D }: { B?: number; N: number; D: number }) => ({
    flops: 2 * B * N * N * D + 8 * B * N * D,
    bytes: 4 * (B * N * D + B * N * N),
  }),
  reference: correlationCpu,
  webgpu: correlation,
});

export const gramOp = defineOp({
  name: 'gram',
  summary: 'batched Gram products Z Z^T of N rows of D features (symmetric program for N <= 64, else the matmul)',
  kernels: [GRAM_KERNEL, MATMUL_KERNEL, SUM_SLICES_KERNEL],
  // The full product's FLOPs (the symmetric kernel does about half: gramFlops); z read once, the
  // B matrices written once.
  cost: ({ B = 1, N, D }: { B?: number; N: number; D: number }) => ({
    flops: 2 * B * N * N * D,
    bytes: 4 * (B * N * D + B * N * N),
  }),
  reference: gramCpu,
  webgpu: gram,
});

export const correlationOffDiagInPlaceOp = defineOp({
  name: 'correlationOffDiagInPlace',
  summary: 'batched correlation without set_diag, x as scratch (WRCor batched scoring)',
  kernels: [
    { file: 'correlation.wgsl', entries: ['normalize_rows', 'row_stats'], uniforms: CORRELATION_PARAMS, overrides: { WG } },
    GRAM_KERNEL,
    MATMUL_KERNEL,
    SUM_SLICES_KERNEL,
  ],
  cost: (p: { B?: number; N: number; D: number }) => correlationOp.cost(p),
  // Off-diagonal entries equal correlation()'s; the diagonal is not set (callers count it as 1).
  reference: correlationCpu,
  webgpu: correlationOffDiagInPlace,
});
