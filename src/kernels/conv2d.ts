/**
 * 2-D convolution, NCHW, no bias: forward and both backward passes, with CPU references.
 * x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW]; output floor((H + 2 pad - KH) / stride) + 1.
 *   groups = 1: implicit GEMMs (conv2d.wgsl, conv2d_bwd_input.wgsl, conv2d_bwd_weight.wgsl) on
 *     one of two cores: 'tiled' (conv2d_gemm.wgsl, workgroup-memory tiles; default on GPUs) or
 *     'broadcast' (conv2d_bcast.wgsl, uniform weight rows; default on software adapters, where it
 *     is ~4x faster). The weight gradient splits K (the batch) over workgroups.
 *   depthwise (groups = Cin = Cout), square kernel <= 7, stride 1 or 2: conv2d_depthwise.wgsl.
 *   any other grouping: direct kernels (conv2d_grouped.wgsl).
 * Shapes travel in uniforms: one pipeline per kernel and tile/width (depthwise: per kernel size,
 * stride and pad) serves every shape.
 */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { fill } from './elementwise.js';
import { sumSlices } from './reduce.js';

export interface Conv2dParams {
  stride: number;
  pad: number;
  /** Default 1. groups = Cin = Cout is a depthwise convolution. */
  groups?: number;
}

interface ConvDims {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  stride: number;
  pad: number;
  groups: number;
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function convDims(op: string, xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): ConvDims {
  if (xShape.length !== 4) throw new ShapeError(`${op}: x must be [N, Cin, H, W], got ${shapeStr(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${op}: w must be [Cout, Cin/groups, KH, KW], got ${shapeStr(wShape)}`);
  const groups = p.groups ?? 1;
  if (!Number.isInteger(p.stride) || p.stride < 1) throw new RangeError(`${op}: stride must be a positive integer, got ${p.stride}`);
  if (!Number.isInteger(p.pad) || p.pad < 0) throw new RangeError(`${op}: pad must be a non-negative integer, got ${p.pad}`);
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  const [N, Cin, H, W] = xShape;
  const [Cout, Cpg, KH, KW] = wShape;
  if (Cin % groups !== 0 || Cout % groups !== 0) {
    throw new ShapeError(`${op}: groups ${groups} must divide Cin ${Cin} and Cout ${Cout}`);
  }
  if (Cpg !== Cin / groups) {
    throw new ShapeError(`${op}: w ${shapeStr(wShape)} needs Cin/groups = ${Cin / groups} input channels, x ${shapeStr(xShape)}`);
  }
  if (KH < 1 || KW < 1) throw new ShapeError(`${op}: empty kernel in w ${shapeStr(wShape)}`);
  const OH = Math.floor((H + 2 * p.pad - KH) / p.stride) + 1;
  const OW = Math.floor((W + 2 * p.pad - KW) / p.stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${op}: kernel ${KH}x${KW} with pad ${p.pad} does not fit input ${H}x${W}`);
  }
  return { N, Cin, H, W, Cout, KH, KW, OH, OW, stride: p.stride, pad: p.pad, groups };
}

export function conv2dOutShape(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): number[] {
  const d = convDims('conv2d', xShape, wShape, p);
  return [d.N, d.Cout, d.OH, d.OW];
}

// ---- GEMM planning -------------------------------------------------------------------------------
//
// groups = 1 convolutions are GEMMs C[M x N] = A[M x K] B[K x N] with operands addressed in place
// (hooks in conv2d.wgsl / conv2d_bwd_input.wgsl / conv2d_bwd_weight.wgsl). Two cores compute them:
//   'tiled'     conv2d_gemm.wgsl: workgroup-memory tiles, 4x4 outputs per thread (GPUs)
//   'broadcast' conv2d_bcast.wgsl: uniform A rows, no workgroup memory (CPU backends: lavapipe)
// The default picks 'broadcast' on software adapters and 'tiled' otherwise.

export type ConvAlgo = 'tiled' | 'broadcast';

export interface ConvTile {
  WG_X: number;
  WG_Y: number;
}

const TK = 16; // k-tile of conv2d_gemm.wgsl
const BM = 16; // rows per workgroup of conv2d_bcast.wgsl
const BN = 8; // columns per thread of conv2d_bcast.wgsl
/** Split-K (weight gradient): aim for this many workgroups, each with at least MIN_K_PER_SPLIT. */
const SPLIT_TARGET_WORKGROUPS = 64;
const MIN_K_PER_SPLIT = 512;
/** Depthwise weight gradient: split the batch until channels x splits reaches this. */
const DEPTHWISE_TARGET_WORKGROUPS = 128;

/** Tile config by GEMM shape: narrow M (few channels) gets short, wide tiles. WG_Y % 4 == 0 always. */
export function convTile(M: number, N: number): ConvTile {
  if (M <= 16) return N >= 4096 ? { WG_X: 32, WG_Y: 4 } : { WG_X: 16, WG_Y: 4 };
  if (M <= 32) return { WG_X: 16, WG_Y: 8 };
  return { WG_X: 16, WG_Y: 16 };
}

/** Threads per broadcast workgroup: the widest whose column tiles (BW * BN) waste <= 25% of N. */
function broadcastWidth(N: number): number {
  for (const bw of [64, 32, 16]) {
    if (Math.ceil(N / (bw * BN)) * bw * BN <= 1.25 * N) return bw;
  }
  return 8;
}

interface GemmPlan {
  algo: ConvAlgo;
  kernel: { file: string; entry: string; constants: Record<string, number> };
  splits: number;
  kChunk: number;
  Mpad: number;
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
}

function planGemm(gpu: Gpu, file: string, M: number, N: number, K: number, splitK: boolean, opts: Conv2dOptions): GemmPlan {
  let algo = opts.algo ?? (gpu.adapter.isSoftware ? 'broadcast' : 'tiled');
  // The broadcast core packs A ([K][Mpad]); fall back to tiling when that buffer would not fit.
  const maxBytes = gpu.adapter.limits.maxStorageBufferBindingSize ?? 128 * 1024 * 1024;
  if (algo === 'broadcast' && K * Math.ceil(M / BM) * BM * 4 > maxBytes) algo = 'tiled';
  let kernel: GemmPlan['kernel'];
  let colTiles: number;
  let rowTiles: number;
  if (algo === 'tiled') {
    const t = opts.tile ?? convTile(M, N);
    const maxThreads = gpu.adapter.limits.maxComputeInvocationsPerWorkgroup ?? 256;
    if (t.WG_Y % 4 !== 0 || !Number.isInteger(t.WG_X) || t.WG_X < 1 || 16 % (t.WG_Y / 4) !== 0 || t.WG_X * t.WG_Y > maxThreads) {
      throw new RangeError(`conv2d: tile ${t.WG_X}x${t.WG_Y} needs WG_Y in {4, 8, 16, 32, 64} and at most ${maxThreads} threads`);
    }
    kernel = { file, entry: 'main', constants: { WG_X: t.WG_X, WG_Y: t.WG_Y } };
    colTiles = Math.ceil(N / (4 * t.WG_X));
    rowTiles = Math.ceil(M / (4 * t.WG_Y));
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
    const want = Math.ceil(SPLIT_TARGET_WORKGROUPS / (colTiles * rowTiles));
    splits = Math.max(1, Math.min(want, Math.floor(K / MIN_K_PER_SPLIT), Math.floor(maxWg / fold)));
  }
  const kChunk = Math.max(TK, Math.ceil(K / splits / TK) * TK);
  splits = Math.max(1, Math.ceil(K / kChunk));
  if (rowTiles > maxWg || fold * splits > maxWg) {
    throw new ShapeError(`conv2d: GEMM ${M}x${N}x${K} needs more workgroups than this device allows`);
  }
  const workgroups: [number, number, number] = [Math.ceil(colTiles / fold), rowTiles, fold * splits];
  return { algo, kernel, splits, kChunk, Mpad: Math.ceil(M / BM) * BM, workgroups };
}

function gemmUniforms(M: number, N: number, K: number, plan: GemmPlan, c: number, d: ConvDims): ArrayBuffer {
  // Power-of-two strides let conv2d_bwd_input.wgsl shift instead of divide.
  const pow2 = (d.stride & (d.stride - 1)) === 0;
  return packUniforms([
    M, N, K, plan.splits,
    plan.kChunk, c, d.H, d.W,
    d.OH, d.OW, d.KH, d.KW,
    d.stride, d.pad, pow2 ? Math.log2(d.stride) : 0, pow2 ? 1 : 0,
    plan.Mpad, 0, 0, 0,
  ]);
}

/**
 * Runs one convolution GEMM: out = A * B where aSrc/bSrc are the tensors the hooks read A and B
 * from. The broadcast core first packs A as [K][Mpad] (pack_a), then reads it as uniform vec4s.
 */
function runGemm(gpu: Gpu, plan: GemmPlan, out: GpuTensor, aSrc: GpuTensor, bSrc: GpuTensor, dims: [number, number, number], c: number, d: ConvDims): void {
  const [M, N, K] = dims;
  if (M * N === 0) return;
  if (K === 0) {
    fill(gpu, out, 0); // an empty sum (e.g. an empty batch for the weight gradient)
    return;
  }
  const file = plan.kernel.file;
  const uniforms = gemmUniforms(M, N, K, plan, c, d);
  if (plan.algo === 'tiled') {
    gpu.dispatch({ kernel: plan.kernel, buffers: [out, aSrc, bSrc], uniforms, workgroups: plan.workgroups });
    return;
  }
  const packed = gpu.empty([K, plan.Mpad]);
  gpu.dispatch({
    kernel: { file, entry: 'pack_a' },
    buffers: [packed, aSrc],
    uniforms,
    workgroups: gpu.grid1d(packed.size, 256),
  });
  gpu.dispatch({ kernel: plan.kernel, buffers: [out, packed, bSrc], uniforms, workgroups: plan.workgroups });
  packed.dispose(); // the pool hands it out again only to later work on the same queue
}

// ---- depthwise and grouped --------------------------------------------------------------------------
//
// Depthwise convolutions with a square kernel up to 7x7 and stride 1 or 2 (MobileNetV2 /
// ProxylessNAS) run conv2d_depthwise.wgsl, specialised per (kernel, stride, pad); every other
// grouped convolution runs the generic direct kernels of conv2d_grouped.wgsl.

function isFastDepthwise(d: ConvDims): boolean {
  return d.groups === d.Cin && d.Cout === d.Cin && d.KH === d.KW && d.KH <= 7 && (d.stride === 1 || d.stride === 2);
}

function depthwiseKernel(d: ConvDims, entry: string): { file: string; entry: string; constants: Record<string, number> } {
  return { file: 'conv2d_depthwise.wgsl', entry, constants: { KS: d.KH, ST: d.stride, PD: d.pad } };
}

const DEPTHWISE_WG = 64; // threads per workgroup of conv2d_depthwise.wgsl
const DEPTHWISE_R = 4; // outputs per thread task (a run along a row)

/** Images per workgroup for a plane of `rows` x `cols` results: enough tasks to fill the lanes. */
function depthwiseImages(d: ConvDims, rows: number, cols: number): number {
  const tasks = rows * Math.ceil(cols / DEPTHWISE_R);
  return Math.max(1, Math.min(d.N, Math.floor(DEPTHWISE_WG / tasks)));
}

function depthwiseUniforms(d: ConvDims, splits: number, imgs: number): ArrayBuffer {
  return packUniforms([d.N, d.Cin, d.H, d.W, d.OH, d.OW, d.N * d.Cin, splits, imgs, 0, 0, 0]);
}

function depthwisePlanes(gpu: Gpu, op: string, d: ConvDims, out: GpuTensor, src: GpuTensor, w: GpuTensor, rows: number, cols: number): void {
  const imgs = depthwiseImages(d, rows, cols);
  const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (d.Cin > maxWg) throw new ShapeError(`conv2d: ${d.Cin} depthwise channels exceed the workgroup grid`);
  gpu.dispatch({
    kernel: depthwiseKernel(d, op),
    buffers: [out, src, w],
    uniforms: depthwiseUniforms(d, 1, imgs),
    workgroups: [Math.ceil(d.N / imgs), d.Cin],
  });
}

function groupedUniforms(d: ConvDims, total: number): ArrayBuffer {
  return packUniforms([
    d.N, d.Cin, d.H, d.W,
    d.Cout, d.OH, d.OW, d.KH,
    d.KW, d.stride, d.pad, d.groups,
    total, 0, 0, 0,
  ]);
}

const WG = 256;

// ---- GPU ops -------------------------------------------------------------------------------------

export function conv2d(gpu: Gpu, x: GpuTensor, w: GpuTensor, p: Conv2dParams, opts: Conv2dOptions = {}): GpuTensor {
  const d = convDims('conv2d', x.shape, w.shape, p);
  if (d.groups === 1) {
    const dims: [number, number, number] = [d.Cout, d.N * d.OH * d.OW, d.Cin * d.KH * d.KW];
    const plan = planGemm(gpu, 'conv2d.wgsl', ...dims, false, opts);
    const y = gpu.empty([d.N, d.Cout, d.OH, d.OW]);
    runGemm(gpu, plan, y, w, x, dims, d.Cin, d);
    return y;
  }
  const y = gpu.empty([d.N, d.Cout, d.OH, d.OW]);
  if (isFastDepthwise(d)) {
    depthwisePlanes(gpu, 'fwd', d, y, x, w, d.OH, d.OW);
    return y;
  }
  gpu.dispatch({
    kernel: { file: 'conv2d_grouped.wgsl', entry: 'fwd' },
    buffers: [y, x, w],
    uniforms: groupedUniforms(d, y.size),
    workgroups: gpu.grid1d(y.size, WG),
  });
  return y;
}

function checkDy(op: string, dy: GpuTensor, d: ConvDims): void {
  const want = [d.N, d.Cout, d.OH, d.OW];
  if (dy.shape.length !== 4 || !want.every((v, i) => v === dy.shape[i])) {
    throw new ShapeError(`${op}: dy is ${shapeStr(dy.shape)}, expected ${shapeStr(want)}`);
  }
}

export function conv2dBackwardInput(
  gpu: Gpu,
  dy: GpuTensor,
  w: GpuTensor,
  xShape: readonly number[],
  p: Conv2dParams,
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('conv2dBackwardInput', xShape, w.shape, p);
  checkDy('conv2dBackwardInput', dy, d);
  if (d.groups === 1) {
    const dims: [number, number, number] = [d.Cin, d.N * d.H * d.W, d.Cout * d.KH * d.KW];
    const plan = planGemm(gpu, 'conv2d_bwd_input.wgsl', ...dims, false, opts);
    const dx = gpu.empty(xShape);
    runGemm(gpu, plan, dx, w, dy, dims, d.Cout, d);
    return dx;
  }
  const dx = gpu.empty(xShape);
  if (isFastDepthwise(d)) {
    depthwisePlanes(gpu, 'bwd_input', d, dx, dy, w, d.H, d.W);
    return dx;
  }
  gpu.dispatch({
    kernel: { file: 'conv2d_grouped.wgsl', entry: 'bwd_input' },
    buffers: [dx, dy, w],
    uniforms: groupedUniforms(d, dx.size),
    workgroups: gpu.grid1d(dx.size, WG),
  });
  return dx;
}

export function conv2dBackwardWeight(
  gpu: Gpu,
  x: GpuTensor,
  dy: GpuTensor,
  wShape: readonly number[],
  p: Conv2dParams,
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('conv2dBackwardWeight', x.shape, wShape, p);
  checkDy('conv2dBackwardWeight', dy, d);
  if (isFastDepthwise(d)) {
    // Split the batch so that there are enough workgroups when channels are few.
    const splits = Math.max(1, Math.min(d.N, Math.ceil(DEPTHWISE_TARGET_WORKGROUPS / d.Cin)));
    if (d.Cin > (gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535)) {
      throw new ShapeError(`conv2dBackwardWeight: ${d.Cin} channels exceed the workgroup grid`);
    }
    const part = gpu.empty(splits === 1 ? wShape : [splits, ...wShape]);
    gpu.dispatch({
      kernel: depthwiseKernel(d, 'bwd_weight'),
      buffers: [part, x, dy],
      uniforms: depthwiseUniforms(d, splits, 1),
      workgroups: [splits, d.Cin],
    });
    if (splits === 1) return part;
    const dw = sumSlices(gpu, part, splits, wShape);
    part.dispose();
    return dw;
  }
  if (d.groups !== 1) {
    const dw = gpu.empty(wShape);
    gpu.dispatch({
      kernel: { file: 'conv2d_grouped.wgsl', entry: 'bwd_weight' },
      buffers: [dw, x, dy],
      uniforms: groupedUniforms(d, dw.size),
      workgroups: gpu.grid1d(dw.size, 1),
    });
    return dw;
  }
  const M = d.Cout;
  const N = d.Cin * d.KH * d.KW;
  const K = d.N * d.OH * d.OW;
  const plan = planGemm(gpu, 'conv2d_bwd_weight.wgsl', M, N, K, true, opts);
  // Splits write [splits, M, N] partials that sum_slices adds; one split writes dw directly.
  const part = plan.splits === 1 ? gpu.empty(wShape) : gpu.empty([plan.splits, M, N]);
  runGemm(gpu, plan, part, dy, x, [M, N, K], d.Cin, d);
  if (plan.splits === 1) return part;
  const dw = sumSlices(gpu, part, plan.splits, wShape);
  part.dispose();
  return dw;
}

/** Multiply-accumulates of one forward pass (for GFLOP/s: 2 * macs). */
export function conv2dMacs(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): number {
  const d = convDims('conv2dMacs', xShape, wShape, p);
  return d.N * d.Cout * d.OH * d.OW * (d.Cin / d.groups) * d.KH * d.KW;
}

// ---- CPU references (f64 accumulation) ----------------------------------------------------------

/** Visits every (output, input, weight) index triple of the convolution. */
function forEachTap(d: ConvDims, f: (yi: number, xi: number, wi: number) => void): void {
  const cpg = d.Cin / d.groups;
  const opg = d.Cout / d.groups;
  for (let n = 0; n < d.N; n++) {
    for (let co = 0; co < d.Cout; co++) {
      const g = Math.floor(co / opg);
      for (let oh = 0; oh < d.OH; oh++) {
        for (let ow = 0; ow < d.OW; ow++) {
          const yi = ((n * d.Cout + co) * d.OH + oh) * d.OW + ow;
          for (let cig = 0; cig < cpg; cig++) {
            const ci = g * cpg + cig;
            for (let kh = 0; kh < d.KH; kh++) {
              const ih = oh * d.stride - d.pad + kh;
              if (ih < 0 || ih >= d.H) continue;
              for (let kw = 0; kw < d.KW; kw++) {
                const iw = ow * d.stride - d.pad + kw;
                if (iw < 0 || iw >= d.W) continue;
                f(yi, ((n * d.Cin + ci) * d.H + ih) * d.W + iw, ((co * cpg + cig) * d.KH + kh) * d.KW + kw);
              }
            }
          }
        }
      }
    }
  }
}

export function conv2dF64(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dCpu', xShape, wShape, p);
  const y = new Float64Array(d.N * d.Cout * d.OH * d.OW);
  forEachTap(d, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
  });
  return y;
}

export function conv2dBackwardInputF64(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  wShape: readonly number[],
  xShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dBackwardInputCpu', xShape, wShape, p);
  const dx = new Float64Array(d.N * d.Cin * d.H * d.W);
  forEachTap(d, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
  });
  return dx;
}

export function conv2dBackwardWeightF64(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dBackwardWeightCpu', xShape, wShape, p);
  const dw = new Float64Array(wShape[0] * wShape[1] * wShape[2] * wShape[3]);
  forEachTap(d, (yi, xi, wi) => {
    dw[wi] += dy[yi] * x[xi];
  });
  return dw;
}

export function conv2dCpu(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return Float32Array.from(conv2dF64(x, xShape, w, wShape, p));
}

export function conv2dBackwardInputCpu(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  wShape: readonly number[],
  xShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return Float32Array.from(conv2dBackwardInputF64(dy, w, wShape, xShape, p));
}

export function conv2dBackwardWeightCpu(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return Float32Array.from(conv2dBackwardWeightF64(x, xShape, dy, wShape, p));
}
