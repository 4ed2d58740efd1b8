/**
 * The groups = 1 convolutions as GEMMs C[M x N] = A[M x K] B[K x N] with operands addressed in
 * place (hooks in conv2d.wgsl / conv2d_bwd_input.wgsl / conv2d_bwd_weight.wgsl): planning (core,
 * tile, split-K) and running one GEMM.
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import { generatedProgramFile } from '../gpu/shaders.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { fill } from './elementwise.js';
import { type GemmTile, gemmConstants, gemmTileMisfit } from './gemm-tile.js';
import { MIN_MATMUL_WORKGROUPS, tunedConvTile } from './matmul-tiles.js';
import type { ConvDims } from './params.js';
import { type ConvCore, parseConvCore } from '../util/ab-env.js';
import { CONV_GEMM_FIELDS, type ConvPass, type ConvProgramKey, convProgram, convProgramName } from './conv2d-program.js';

/** Uniforms of conv2d.wgsl, conv2d_bwd_input.wgsl and conv2d_bwd_weight.wgsl (conv2d_common.wgsl). */
/** The generated programs (conv2d-program.ts) declare the same struct. */
export const CONV_GEMM_PARAMS = defineUniforms('conv2d_common.wgsl', 'ConvGemmParams', CONV_GEMM_FIELDS);

/**
 * A grouped GEMM (one per convolution group, conv2d_gemm.wgsl): the output (or dy) channels of all
 * groups and what the A source, the B source and the output advance per group, in elements.
 */
export interface GemmGroups {
  groups: number;
  Mtot: number;
  grpA: number;
  grpB: number;
  grpC: number;
}

// Two cores compute the GEMMs:
//   'tiled'     register tiles (BM x BN blocks, TM x TN outputs per thread, BK-deep shared tiles)
//               (GPUs), as one of two implementations (ConvCore):
//                 'program' a generated program per pass and tile (conv2d-program.ts; default)
//                 'legacy'  the hand-written conv2d_gemm.wgsl + gemm_tile.wgsl, kept for A/B runs
//   'broadcast' conv2d_bcast.wgsl: uniform A rows, no workgroup memory (CPU backends: lavapipe)
// The default picks 'broadcast' on software adapters and 'tiled' otherwise.

export type ConvAlgo = 'tiled' | 'broadcast';
export type { ConvCore } from '../util/ab-env.js';

let envCore: ConvCore | undefined;

/**
 * The tiled core's default: env WGNAS_CONV_CORE ('program' or 'legacy', read once), else
 * 'program'. 'legacy' exists so one device run can measure both side by side.
 */
export function defaultConvCore(): ConvCore {
  envCore ??= parseConvCore(process.env.WGNAS_CONV_CORE);
  return envCore;
}

export { parseConvCore } from '../util/ab-env.js';

/** The generated program of each legacy kernel file (its pass and operand type). */
const PROGRAM_OF_FILE: Record<string, { pass: ConvPass; elem: 'f32' | 'f16'; relu?: boolean }> = {
  'conv2d.wgsl': { pass: 'fwd', elem: 'f32' },
  'conv2d_f16.wgsl': { pass: 'fwd', elem: 'f16' },
  'conv2d_bwd_input.wgsl': { pass: 'bwd_input', elem: 'f32' },
  'conv2d_bwd_weight.wgsl': { pass: 'bwd_weight', elem: 'f32' },
  'conv2d_relu.wgsl': { pass: 'fwd', elem: 'f32', relu: true },
  'conv2d_bwd_input_relu.wgsl': { pass: 'bwd_input', elem: 'f32', relu: true },
  'conv2d_bwd_weight_relu.wgsl': { pass: 'bwd_weight', elem: 'f32', relu: true },
};

/** The shader-cache name of a generated convolution program, registering its source on first use. */
export function convProgramFile(key: ConvProgramKey): string {
  return generatedProgramFile(convProgramName(key), () => convProgram(key));
}

/** The tiled core's tile: gemm_tile.wgsl's override constants. */
export type ConvTile = GemmTile;

const BM = 16; // rows per workgroup of conv2d_bcast.wgsl (BCM)
const BN = 8; // columns per thread of conv2d_bcast.wgsl (BCN)
/**
 * Split-K (weight gradient): aim for this many workgroups, each with at least MIN_K_PER_SPLIT.
 * 64 suits CPU backends; a big GPU (132 SMs on an H200) idles at 64-72 workgroups (the weight
 * gradient of a 64-channel 3x3 layer has 9 column tiles), so hardware adapters aim for 2 *
 * MIN_MATMUL_WORKGROUPS, a few workgroups per SM.
 */
const SPLIT_TARGET_WORKGROUPS = 64;
const SPLIT_TARGET_WORKGROUPS_GPU = 2 * MIN_MATMUL_WORKGROUPS;
const MIN_K_PER_SPLIT = 512;

/**
 * Tile by GEMM shape: narrow M (few channels) gets short, wide blocks; large products the
 * 128 x 128 block of 8 x 8 outputs per thread.
 */
export function convTile(M: number, N: number): ConvTile {
  if (M <= 16) return { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 };
  if (M <= 32) return { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 };
  if (M >= 128 && N >= 4096) return { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 };
  return { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
}

/** Fallbacks when convTile's choice exceeds a device's limits (the last fits WebGPU's defaults). */
const CONV_FALLBACK_TILES: readonly ConvTile[] = [
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 },
  { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 },
];

/** Threads per broadcast workgroup: the widest whose column tiles (BW * BN) waste <= 25% of N. */
function broadcastWidth(N: number): number {
  for (const bw of [64, 32, 16]) {
    if (Math.ceil(N / (bw * BN)) * bw * BN <= 1.25 * N) return bw;
  }
  return 8;
}

export interface GemmPlan {
  algo: ConvAlgo;
  kernel: { file: string; entry: string; constants: Record<string, number> };
  splits: number;
  kChunk: number;
  Mpad: number;
  groups: number;
  workgroups: [number, number, number];
}

export interface Conv2dOptions {
  /**
   * GEMM core for groups = 1 (default: 'broadcast' on software adapters, else 'tiled').
   * 'broadcast' falls back to 'tiled' when its packed operand would exceed the buffer limit.
   */
  algo?: ConvAlgo;
  /** Tile of the 'tiled' core (default: convTile(M, N)); for tuning and tests. */
  tile?: ConvTile;
  /** Implementation of the 'tiled' core (default: defaultConvCore(), env WGNAS_CONV_CORE). */
  core?: ConvCore;
  /**
   * Forward only: 'f16' rounds x and w to f16 and accumulates in f32 (conv2d_f16.wgsl, tiled core,
   * needs shader-f16). Default 'f32', or the Gpu's opt-in (Gpu.f16Compute). Backward passes are f32.
   */
  precision?: 'f32' | 'f16';
}

/** Plans one convolution GEMM (per group when groups > 1: the tiled core only). */
export function planGemm(
  gpu: Gpu,
  file: string,
  M: number,
  N: number,
  K: number,
  splitK: boolean,
  opts: Conv2dOptions,
  groups = 1,
): GemmPlan {
  let algo = groups > 1 ? 'tiled' : (opts.algo ?? (gpu.adapter.isSoftware ? 'broadcast' : 'tiled'));
  // The broadcast core packs A ([K][Mpad]); fall back to tiling when that buffer would not fit.
  const maxBytes = gpu.adapter.limits.maxStorageBufferBindingSize ?? 128 * 1024 * 1024;
  if (algo === 'broadcast' && K * Math.ceil(M / BM) * BM * 4 > maxBytes) algo = 'tiled';
  let kernel: GemmPlan['kernel'];
  let colTiles: number;
  let rowTiles: number;
  let tk = 16;
  if (algo === 'tiled') {
    const limits = gpu.adapter.limits;
    let t: ConvTile;
    if (opts.tile) {
      t = opts.tile;
      const misfit = gemmTileMisfit(t, limits, 'conv');
      if (misfit) throw new RangeError(`conv2d: tile ${JSON.stringify(t)} does not fit: ${misfit}`);
    } else {
      const fits = (c: ConvTile) => gemmTileMisfit(c, limits, 'conv') === null;
      // Large products on hardware take the adapter's tuned matmul register tile when the conv core can run it.
      const tuned = !gpu.adapter.isSoftware && M >= 128 && N >= 4096 ? [tunedConvTile(gpu)] : [];
      t = [...tuned, convTile(M, N), ...CONV_FALLBACK_TILES].find(fits) ?? CONV_FALLBACK_TILES.at(-1)!;
    }
    const core = opts.core ?? defaultConvCore();
    const program = PROGRAM_OF_FILE[file];
    if (!program) throw new Error(`planGemm: no convolution program for ${file}`);
    kernel =
      core === 'legacy'
        ? { file, entry: 'main', constants: gemmConstants(t) }
        : { file: convProgramFile({ ...program, tile: t }), entry: 'main', constants: {} };
    colTiles = Math.ceil(N / t.BN);
    rowTiles = Math.ceil(M / t.BM);
    tk = t.BK;
  } else {
    const bw = broadcastWidth(N);
    kernel = { file, entry: 'bcast', constants: { BW: bw } };
    colTiles = Math.ceil(N / (bw * BN));
    rowTiles = Math.ceil(M / BM);
  }
  const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const fold = Math.max(1, Math.ceil(colTiles / maxWg));
  let splits = 1;
  if (splitK) {
    const target = gpu.adapter.isSoftware ? SPLIT_TARGET_WORKGROUPS : SPLIT_TARGET_WORKGROUPS_GPU;
    const want = Math.ceil(target / (colTiles * rowTiles));
    splits = Math.max(1, Math.min(want, Math.floor(K / MIN_K_PER_SPLIT), Math.floor(maxWg / fold)));
  }
  const kChunk = Math.max(tk, Math.ceil(K / splits / tk) * tk);
  splits = Math.max(1, Math.ceil(K / kChunk));
  if (rowTiles > maxWg || fold * splits * groups > maxWg) {
    throw new ShapeError(
      `conv2d: GEMM ${M}x${N}x${K}${groups > 1 ? ` x ${groups} groups` : ''} needs more workgroups than this device allows`,
    );
  }
  const workgroups: [number, number, number] = [Math.ceil(colTiles / fold), rowTiles, fold * splits * groups];
  return { algo, kernel, splits, kChunk, Mpad: Math.ceil(M / BM) * BM, groups, workgroups };
}

function gemmUniforms(M: number, N: number, K: number, plan: GemmPlan, c: number, d: ConvDims, g: GemmGroups): ArrayBuffer {
  // Power-of-two strides let conv2d_bwd_input.wgsl shift instead of divide.
  const pow2 = (d.stride & (d.stride - 1)) === 0;
  return CONV_GEMM_PARAMS.pack({
    M,
    N,
    K,
    splits: plan.splits,
    kChunk: plan.kChunk,
    Cb: c,
    H: d.H,
    W: d.W,
    OH: d.OH,
    OW: d.OW,
    KH: d.KH,
    KW: d.KW,
    stride: d.stride,
    pad: d.pad,
    strideShift: pow2 ? Math.log2(d.stride) : 0,
    stridePow2: pow2 ? 1 : 0,
    Mpad: plan.Mpad,
    groups: g.groups,
    Mtot: g.Mtot,
    grpA: g.grpA,
    grpB: g.grpB,
    grpC: g.grpC,
  });
}

/**
 * Runs one convolution GEMM: out = A * B where aSrc/bSrc are the tensors the hooks read A and B
 * from. The broadcast core first packs A as [K][Mpad] (pack_a), then reads it as uniform vec4s.
 * `mask`: the ReLU's input x of the input gradient after a ReLU (conv2d_bwd_input_relu.wgsl).
 */
export function runGemm(
  gpu: Gpu,
  plan: GemmPlan,
  out: GpuTensor,
  aSrc: GpuTensor,
  bSrc: GpuTensor,
  dims: [number, number, number],
  c: number,
  d: ConvDims,
  groups?: GemmGroups,
  mask?: GpuTensor,
): void {
  const [M, N, K] = dims;
  const g = groups ?? { groups: 1, Mtot: M, grpA: 0, grpB: 0, grpC: 0 };
  if (g.groups !== plan.groups) throw new Error(`runGemm: planned for ${plan.groups} groups, run with ${g.groups}`);
  if (M * N === 0) return;
  if (K === 0) {
    fill(gpu, out, 0); // an empty sum (e.g. an empty batch for the weight gradient)
    return;
  }
  const extra = mask ? [mask] : [];
  const file = plan.kernel.file;
  const uniforms = gemmUniforms(M, N, K, plan, c, d, g);
  if (plan.algo === 'tiled') {
    gpu.dispatch({ kernel: plan.kernel, buffers: [out, aSrc, bSrc, ...extra], uniforms, workgroups: plan.workgroups });
    return;
  }
  const packed = gpu.empty([K, plan.Mpad]);
  gpu.dispatch({
    kernel: { file, entry: 'pack_a' },
    buffers: [packed, aSrc],
    uniforms,
    workgroups: gpu.grid1d(packed.size, 256),
  });
  gpu.dispatch({ kernel: plan.kernel, buffers: [out, packed, bSrc, ...extra], uniforms, workgroups: plan.workgroups });
  packed.dispose(); // the pool hands it out again only to later work on the same queue
}
