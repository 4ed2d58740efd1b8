/**
 * 2-D convolution, NCHW, no bias: forward and both backward passes.
 * x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW]; output floor((H + 2 pad - KH) / stride) + 1.
 *   groups = 1: implicit GEMMs on one of two cores: 'tiled' (register tiles; default on GPUs), a
 *     generated program per pass and tile (conv2d-program.ts), or with WGNAS_CONV_CORE=legacy (or
 *     opts.core 'legacy') the hand-written conv2d.wgsl / conv2d_bwd_input.wgsl /
 *     conv2d_bwd_weight.wgsl on conv2d_gemm.wgsl, kept for A/B runs on a GPU; or 'broadcast'
 *     (conv2d_bcast.wgsl, uniform weight rows; default on software adapters, where it is ~4x
 *     faster). The weight gradient splits K (the batch) over workgroups.
 *   groups > 1, not depthwise: the same implicit GEMMs, one per group in one dispatch (tiled core).
 *   depthwise (groups = Cin = Cout), square kernel <= 7, stride 1 or 2: a generated program per
 *     pass, kernel, stride and pad (conv2d-depthwise-program.ts; hardware adapters), or
 *     conv2d_depthwise.wgsl (the legacy core, software adapters); other depthwise shapes: direct
 *     kernels (conv2d_grouped.wgsl).
 * Shapes travel in uniforms: one pipeline per kernel and tile/width (depthwise: per kernel size,
 * stride and pad, and for the programs one of three tile sizes) serves every shape.
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { generatedProgramFile } from '../gpu/shaders.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, type KernelRef, type OpCost } from './descriptor.js';
import { CAST_F16_PARAMS, castF16, resolvePrecision } from './f16.js';
import { GEMM_TILE_DEFAULTS } from './gemm-tile.js';
import {
  CONV_GEMM_PARAMS,
  type Conv2dOptions,
  type ConvAlgo,
  type ConvCore,
  convProgramFile,
  convTile,
  type ConvTile,
  defaultConvCore,
  type GemmGroups,
  planGemm,
  runGemm,
} from './conv2d-gemm.js';
import type { ConvPass } from './conv2d-program.js';
import {
  DW_FIELDS,
  type DwPass,
  type DwProgramKey,
  dwProgram,
  dwProgramName,
  planDepthwise,
} from './conv2d-depthwise-program.js';
import { type Conv2dParams, type ConvDims, checkConvDy, conv2dMacs, conv2dOutShape, convDims } from './params.js';
import {
  conv2dBackwardInputCpu,
  conv2dBackwardInputF64,
  conv2dBackwardWeightCpu,
  conv2dBackwardWeightF64,
  conv2dCpu,
  conv2dF64,
  reluConv2dBackwardInputCpu,
  reluConv2dBackwardWeightCpu,
  reluConv2dCpu,
} from './reference/conv2d.js';
import { sumSlices } from './reduce.js';
import { ACTIVATION_PARAMS, relu, reluBackward } from './activation.js';

export {
  CONV_GEMM_PARAMS,
  type Conv2dOptions,
  type Conv2dParams,
  type ConvAlgo,
  type ConvCore,
  type ConvTile,
  convTile,
  defaultConvCore,
  conv2dBackwardInputCpu,
  conv2dBackwardInputF64,
  conv2dBackwardWeightCpu,
  conv2dBackwardWeightF64,
  conv2dCpu,
  conv2dF64,
  conv2dMacs,
  conv2dOutShape,
};

export const DEPTHWISE_PARAMS = defineUniforms('conv2d_depthwise.wgsl', 'Params', {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  OH: 'u32',
  OW: 'u32',
  planes: 'u32',
  splits: 'u32',
  imgs: 'u32',
  _b: 'u32',
  _c: 'u32',
  _d: 'u32',
});

export const GROUPED_PARAMS = defineUniforms('conv2d_grouped.wgsl', 'Params', {
  Nb: 'u32',
  Cin: 'u32',
  H: 'u32',
  W: 'u32',
  Cout: 'u32',
  OH: 'u32',
  OW: 'u32',
  KH: 'u32',
  KW: 'u32',
  stride: 'u32',
  pad: 'u32',
  groups: 'u32',
  total: 'u32',
  _a: 'u32',
  _b: 'u32',
  _c: 'u32',
});

// ---- depthwise and grouped --------------------------------------------------------------------------
//
// Depthwise convolutions with a square kernel up to 7x7 and stride 1 or 2 (MobileNetV2 /
// ProxylessNAS) run a generated program (conv2d-depthwise-program.ts; the legacy core, software
// adapters and rows too wide for its tile: conv2d_depthwise.wgsl), specialised per (kernel, stride,
// pad); every other
// depthwise convolution runs the generic direct kernels of conv2d_grouped.wgsl. Other groupings
// (Cin / groups or Cout / groups > 1) are implicit GEMMs, one per group (groupedGemm).

function isDepthwise(d: ConvDims): boolean {
  return d.groups > 1 && d.groups === d.Cin && d.Cout === d.Cin;
}

/** One group's GEMM of each pass and how its operands advance per group (GemmGroups). */
function groupedGemm(d: ConvDims, pass: 'fwd' | 'bwd_input' | 'bwd_weight'): { dims: [number, number, number]; g: GemmGroups } {
  const G = d.groups;
  const [cin, cout, taps] = [d.Cin / G, d.Cout / G, d.KH * d.KW];
  const [hw, ohw] = [d.H * d.W, d.OH * d.OW];
  if (pass === 'fwd') {
    const [M, K] = [cout, cin * taps];
    return { dims: [M, d.N * ohw, K], g: { groups: G, Mtot: d.Cout, grpA: M * K, grpB: cin * hw, grpC: M * ohw } };
  }
  if (pass === 'bwd_input') {
    const [M, K] = [cin, cout * taps];
    return { dims: [M, d.N * hw, K], g: { groups: G, Mtot: d.Cin, grpA: K * M, grpB: cout * ohw, grpC: M * hw } };
  }
  const [M, N] = [cout, cin * taps];
  return { dims: [M, N, d.N * ohw], g: { groups: G, Mtot: d.Cout, grpA: M * ohw, grpB: cin * hw, grpC: M * N } };
}

function isFastDepthwise(d: ConvDims): boolean {
  return d.groups === d.Cin && d.Cout === d.Cin && d.KH === d.KW && d.KH <= 7 && (d.stride === 1 || d.stride === 2);
}

function depthwiseKernel(d: ConvDims, entry: string): { file: string; entry: string; constants: Record<string, number> } {
  return { file: 'conv2d_depthwise.wgsl', entry, constants: { KS: d.KH, ST: d.stride, PD: d.pad } };
}

const DEPTHWISE_WG = 64; // threads per workgroup of conv2d_depthwise.wgsl
/** Depthwise weight gradient: split the batch until channels x splits reaches this. */
const DEPTHWISE_TARGET_WORKGROUPS = 128;
const DEPTHWISE_R = 4; // outputs per thread task (a run along a row)

/** Images per workgroup for a plane of `rows` x `cols` results: enough tasks to fill the lanes. */
function depthwiseImages(d: ConvDims, rows: number, cols: number): number {
  const tasks = rows * Math.ceil(cols / DEPTHWISE_R);
  return Math.max(1, Math.min(d.N, Math.floor(DEPTHWISE_WG / tasks)));
}

function depthwiseUniforms(d: ConvDims, splits: number, imgs: number): ArrayBuffer {
  return DEPTHWISE_PARAMS.pack({ N: d.N, C: d.Cin, H: d.H, W: d.W, OH: d.OH, OW: d.OW, planes: d.N * d.Cin, splits, imgs });
}

function groupedUniforms(d: ConvDims, total: number): ArrayBuffer {
  return GROUPED_PARAMS.pack({
    Nb: d.N,
    Cin: d.Cin,
    H: d.H,
    W: d.W,
    Cout: d.Cout,
    OH: d.OH,
    OW: d.OW,
    KH: d.KH,
    KW: d.KW,
    stride: d.stride,
    pad: d.pad,
    groups: d.groups,
    total,
  });
}

const WG = 256;

/** The shader-cache name of a generated depthwise program, registering its source on first use. */
export function dwProgramFile(key: DwProgramKey): string {
  return generatedProgramFile(dwProgramName(key), () => dwProgram(key));
}

/** The 3x3 stride-1 program of a pass at the smallest tile (descriptors name it). */
const dwDefaultProgram = (pass: DwPass) => dwProgramFile({ pass, KS: 3, ST: 1, PD: 1, R: 4, tile: 1024 });

export const DW_PARAMS = defineUniforms(dwDefaultProgram('fwd'), 'DwParams', DW_FIELDS);

/**
 * Whether depthwise passes run the generated programs: opts.core when given, else the program core
 * (WGNAS_CONV_CORE) on hardware. Software adapters keep conv2d_depthwise.wgsl by default, like the
 * broadcast GEMM core: on lavapipe it ran most of the bench's depthwise shapes 1.3-3.8x faster
 * (bench/results/depthwise/2026-12-06; a workgroup barrier and zeroed workgroup memory per tile
 * cost a CPU more), and their weight gradient keeps its bits.
 */
function depthwiseByProgram(gpu: Gpu, opts: Conv2dOptions): boolean {
  if (opts.core) return opts.core === 'program';
  return !gpu.adapter.isSoftware && defaultConvCore() === 'program';
}

/** Weight gradient of the depthwise programs on hardware: split the batch until channels x splits reaches this. */
const DW_TARGET_WORKGROUPS_GPU = 2048;

/**
 * A depthwise pass as the program core's generated program: false where its tile cannot hold one
 * row of the plane (the caller then runs conv2d_depthwise.wgsl). Weight gradient: `out` holds
 * `splits` partial gradients.
 */
function depthwiseProgram(gpu: Gpu, pass: DwPass, d: ConvDims, out: GpuTensor, a: GpuTensor, b: GpuTensor, splits = 1): boolean {
  const dims = { N: Math.ceil(d.N / splits), C: d.Cin, H: d.H, W: d.W, OH: d.OH, OW: d.OW, KS: d.KH, ST: d.stride, PD: d.pad };
  const plan = planDepthwise(pass, dims);
  if (!plan) return false;
  const gridX = pass === 'bwd_weight' ? splits : Math.ceil(d.N / plan.imgs) * plan.bands;
  const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (gridX > maxWg || d.Cin > maxWg)
    throw new ShapeError(`conv2d: depthwise grid ${gridX} x ${d.Cin} exceeds this device's workgroup grid`);
  const { imgs, rows, bands, chunks, BR, SW } = plan;
  gpu.dispatch({
    kernel: { file: dwProgramFile(plan.key), entry: 'main' },
    buffers: [out, a, b],
    uniforms: DW_PARAMS.pack({ N: d.N, C: d.Cin, H: d.H, W: d.W, OH: d.OH, OW: d.OW, imgs, rows, bands, chunks, BR, SW, splits }),
    workgroups: [gridX, d.Cin],
  });
  return true;
}

/**
 * A depthwise pass that writes planes of `rows` x `cols` (fwd: y from x, bwd_input: dx from dy)
 * into `out`: the generated program (program core) or conv2d_depthwise.wgsl (legacy core) where
 * they apply, else the direct kernel of conv2d_grouped.wgsl.
 */
function depthwisePass(
  gpu: Gpu,
  pass: 'fwd' | 'bwd_input',
  d: ConvDims,
  out: GpuTensor,
  src: GpuTensor,
  w: GpuTensor,
  rows: number,
  cols: number,
  opts: Conv2dOptions,
): GpuTensor {
  if (isFastDepthwise(d)) {
    if (depthwiseByProgram(gpu, opts) && depthwiseProgram(gpu, pass, d, out, src, w)) return out;
    const imgs = depthwiseImages(d, rows, cols);
    const maxWg = gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (d.Cin > maxWg) throw new ShapeError(`conv2d: ${d.Cin} depthwise channels exceed the workgroup grid`);
    gpu.dispatch({
      kernel: depthwiseKernel(d, pass),
      buffers: [out, src, w],
      uniforms: depthwiseUniforms(d, 1, imgs),
      workgroups: [Math.ceil(d.N / imgs), d.Cin],
    });
    return out;
  }
  gpu.dispatch({
    kernel: { file: 'conv2d_grouped.wgsl', entry: pass },
    buffers: [out, src, w],
    uniforms: groupedUniforms(d, out.size),
    workgroups: gpu.grid1d(out.size, WG),
  });
  return out;
}

// ---- GPU ops -------------------------------------------------------------------------------------

export function conv2d(gpu: Gpu, x: GpuTensor, w: GpuTensor, p: Conv2dParams = {}, opts: Conv2dOptions = {}): GpuTensor {
  const d = convDims('conv2d', x.shape, w.shape, p);
  if (!isDepthwise(d)) {
    const { dims, g } = groupedGemm(d, 'fwd');
    const y = gpu.empty([d.N, d.Cout, d.OH, d.OW]);
    if (isF16(gpu, opts, dims)) {
      // f16 operands: the tiled core only (conv2d_f16.wgsl has no broadcast entry).
      const plan = planGemm(gpu, 'conv2d_f16.wgsl', ...dims, false, { ...opts, algo: 'tiled' }, g.groups);
      const [x16, w16] = [castF16(gpu, x), castF16(gpu, w)];
      runGemm(gpu, plan, y, w16, x16, dims, d.Cin, d, g);
      x16.dispose();
      w16.dispose();
      return y;
    }
    const plan = planGemm(gpu, 'conv2d.wgsl', ...dims, false, opts, g.groups);
    runGemm(gpu, plan, y, w, x, dims, d.Cin, d, g);
    return y;
  }
  return depthwisePass(gpu, 'fwd', d, gpu.empty([d.N, d.Cout, d.OH, d.OW]), x, w, d.OH, d.OW, opts);
}

export function conv2dBackwardInput(
  gpu: Gpu,
  dy: GpuTensor,
  w: GpuTensor,
  xShape: readonly number[],
  p: Conv2dParams = {},
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('conv2dBackwardInput', xShape, w.shape, p);
  checkConvDy('conv2dBackwardInput', dy.shape, d);
  if (!isDepthwise(d)) {
    const { dims, g } = groupedGemm(d, 'bwd_input');
    const plan = planGemm(gpu, 'conv2d_bwd_input.wgsl', ...dims, false, opts, g.groups);
    const dx = gpu.empty(xShape);
    runGemm(gpu, plan, dx, w, dy, dims, d.Cout, d, g);
    return dx;
  }
  return depthwisePass(gpu, 'bwd_input', d, gpu.empty(xShape), dy, w, d.H, d.W, opts);
}

export function conv2dBackwardWeight(
  gpu: Gpu,
  x: GpuTensor,
  dy: GpuTensor,
  wShape: readonly number[],
  p: Conv2dParams = {},
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('conv2dBackwardWeight', x.shape, wShape, p);
  checkConvDy('conv2dBackwardWeight', dy.shape, d);
  if (isFastDepthwise(d)) {
    if (d.Cin > (gpu.adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535)) {
      throw new ShapeError(`conv2dBackwardWeight: ${d.Cin} channels exceed the workgroup grid`);
    }
    // Split the batch so that there are enough workgroups when channels are few (the programs aim
    // higher on hardware: a workgroup's rounds run one after the other).
    const program = depthwiseByProgram(gpu, opts);
    const target = program && !gpu.adapter.isSoftware ? DW_TARGET_WORKGROUPS_GPU : DEPTHWISE_TARGET_WORKGROUPS;
    const splits = Math.max(1, Math.min(d.N, Math.ceil(target / d.Cin)));
    const part = gpu.empty(splits === 1 ? wShape : [splits, ...wShape]);
    if (!(program && depthwiseProgram(gpu, 'bwd_weight', d, part, x, dy, splits))) {
      gpu.dispatch({
        kernel: depthwiseKernel(d, 'bwd_weight'),
        buffers: [part, x, dy],
        uniforms: depthwiseUniforms(d, splits, 1),
        workgroups: [splits, d.Cin],
      });
    }
    if (splits === 1) return part;
    const dw = sumSlices(gpu, part, splits, wShape);
    part.dispose();
    return dw;
  }
  if (isDepthwise(d)) {
    const dw = gpu.empty(wShape);
    gpu.dispatch({
      kernel: { file: 'conv2d_grouped.wgsl', entry: 'bwd_weight' },
      buffers: [dw, x, dy],
      uniforms: groupedUniforms(d, dw.size),
      workgroups: gpu.grid1d(dw.size, 1),
    });
    return dw;
  }
  return gemmBackwardWeight(gpu, 'conv2d_bwd_weight.wgsl', x, dy, wShape, d, opts);
}

function gemmBackwardWeight(
  gpu: Gpu,
  file: string,
  x: GpuTensor,
  dy: GpuTensor,
  wShape: readonly number[],
  d: ConvDims,
  opts: Conv2dOptions,
): GpuTensor {
  const { dims, g } = groupedGemm(d, 'bwd_weight');
  const [M, N, K] = dims;
  const plan = planGemm(gpu, file, M, N, K, true, opts, g.groups);
  // Splits write [splits, Cout, N] partials that sum_slices adds; one split writes dw directly.
  const part = plan.splits === 1 ? gpu.empty(wShape) : gpu.empty([plan.splits, d.Cout, N]);
  runGemm(gpu, plan, part, dy, x, dims, d.Cin, d, g);
  if (plan.splits === 1) return part;
  const dw = sumSlices(gpu, part, plan.splits, wShape);
  part.dispose();
  return dw;
}

function isF16(gpu: Gpu, opts: Conv2dOptions, dims: [number, number, number]): boolean {
  return resolvePrecision(gpu, 'conv2d', opts.precision) === 'f16' && dims[0] * dims[1] * dims[2] > 0;
}

// ---- after a ReLU ---------------------------------------------------------------------------------
//
// conv(relu(x), w) as one pass and its gradients, for ReLU-Conv-BN blocks (NAS-Bench-201): the
// GEMM convolutions read relu(x) as they load x (conv2d_relu.wgsl, conv2d_bwd_weight_relu.wgsl) and
// the input gradient stores dx * (x > 0) (conv2d_bwd_input_relu.wgsl), so neither the ReLU's output
// nor its two elementwise passes exist. Depthwise convolutions and f16 operands compose the ReLU
// kernels with the plain convolution instead. Bit for bit the composition's results: max and
// select are exact and the GEMM sums in the same order.

/** conv2d(relu(x), w, p). */
export function reluConv2d(gpu: Gpu, x: GpuTensor, w: GpuTensor, p: Conv2dParams = {}, opts: Conv2dOptions = {}): GpuTensor {
  const d = convDims('reluConv2d', x.shape, w.shape, p);
  const { dims, g } = groupedGemm(d, 'fwd');
  if (isDepthwise(d) || isF16(gpu, opts, dims)) {
    const r = relu(gpu, x);
    const y = conv2d(gpu, r, w, p, opts);
    r.dispose();
    return y;
  }
  const y = gpu.empty([d.N, d.Cout, d.OH, d.OW]);
  runGemm(gpu, planGemm(gpu, 'conv2d_relu.wgsl', ...dims, false, opts, g.groups), y, w, x, dims, d.Cin, d, g);
  return y;
}

/** The gradient at the ReLU's input x of conv2d(relu(x), w, p): conv2dBackwardInput(dy, w) * (x > 0). */
export function reluConv2dBackwardInput(
  gpu: Gpu,
  dy: GpuTensor,
  w: GpuTensor,
  x: GpuTensor,
  p: Conv2dParams = {},
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('reluConv2dBackwardInput', x.shape, w.shape, p);
  checkConvDy('reluConv2dBackwardInput', dy.shape, d);
  if (isDepthwise(d)) {
    const dr = conv2dBackwardInput(gpu, dy, w, x.shape, p, opts);
    const dx = reluBackward(gpu, dr, x);
    dr.dispose();
    return dx;
  }
  const { dims, g } = groupedGemm(d, 'bwd_input');
  const dx = gpu.empty(x.shape);
  runGemm(gpu, planGemm(gpu, 'conv2d_bwd_input_relu.wgsl', ...dims, false, opts, g.groups), dx, w, dy, dims, d.Cout, d, g, x);
  return dx;
}

/** The weight gradient of conv2d(relu(x), w, p): conv2dBackwardWeight(relu(x), dy). */
export function reluConv2dBackwardWeight(
  gpu: Gpu,
  x: GpuTensor,
  dy: GpuTensor,
  wShape: readonly number[],
  p: Conv2dParams = {},
  opts: Conv2dOptions = {},
): GpuTensor {
  const d = convDims('reluConv2dBackwardWeight', x.shape, wShape, p);
  checkConvDy('reluConv2dBackwardWeight', dy.shape, d);
  if (isDepthwise(d)) {
    const r = relu(gpu, x);
    const dw = conv2dBackwardWeight(gpu, r, dy, wShape, p, opts);
    r.dispose();
    return dw;
  }
  return gemmBackwardWeight(gpu, 'conv2d_bwd_weight_relu.wgsl', x, dy, wShape, d, opts);
}

// ---- descriptors ----------------------------------------------------------------------------------

/** A convolution problem: the operand shapes as conv2d() takes them. */
export interface ConvProblem extends Conv2dParams {
  xShape: readonly number[];
  wShape: readonly number[];
}

/** 2 FLOPs per multiply-accumulate; x, w and y each moved once (the pass reads two, writes one). */
function convCost({ xShape, wShape, ...p }: ConvProblem): OpCost {
  const numel = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
  return {
    flops: 2 * conv2dMacs(xShape, wShape, p),
    bytes: 4 * (numel(xShape) + numel(wShape) + numel(conv2dOutShape(xShape, wShape, p))),
  };
}

const GEMM_TILE = { ...GEMM_TILE_DEFAULTS };
/** The generated program of a pass at the default tile (the others differ in tile only). */
const programKernel = (pass: ConvPass, elem: 'f32' | 'f16' = 'f32', relu = false): KernelRef => ({
  file: convProgramFile({ pass, tile: { ...GEMM_TILE_DEFAULTS }, elem, relu }),
  entries: ['main'],
  uniforms: CONV_GEMM_PARAMS,
});
/** The GEMM kernels of a pass: generated program, legacy tiled core (WGNAS_CONV_CORE=legacy), broadcast core. */
const gemmKernels = (pass: ConvPass, gemmFile: string, relu = false): KernelRef[] => [
  programKernel(pass, 'f32', relu),
  { file: gemmFile, entries: ['main'], uniforms: CONV_GEMM_PARAMS, overrides: GEMM_TILE },
  { file: gemmFile, entries: ['pack_a'], uniforms: CONV_GEMM_PARAMS },
  { file: gemmFile, entries: ['bcast'], uniforms: CONV_GEMM_PARAMS, overrides: { BW: 64 } },
];
const convKernels = (pass: ConvPass, gemmFile: string, depthwise: string, grouped: string): KernelRef[] => [
  ...gemmKernels(pass, gemmFile),
  { file: dwDefaultProgram(pass), entries: ['main'], uniforms: DW_PARAMS },
  { file: 'conv2d_depthwise.wgsl', entries: [depthwise], uniforms: DEPTHWISE_PARAMS, overrides: { KS: 3, ST: 1, PD: 1 } },
  { file: 'conv2d_grouped.wgsl', entries: [grouped], uniforms: GROUPED_PARAMS },
];

export const conv2dOp = defineOp({
  name: 'conv2d',
  summary: 'conv2d forward, NCHW f32 (implicit GEMM; opt-in f16 operands; depthwise and grouped: direct kernels)',
  kernels: [
    ...convKernels('fwd', 'conv2d.wgsl', 'fwd', 'fwd'),
    programKernel('fwd', 'f16'),
    { file: 'conv2d_f16.wgsl', entries: ['main'], uniforms: CONV_GEMM_PARAMS, overrides: GEMM_TILE },
    { file: 'cast_f16.wgsl', entries: ['main'], uniforms: CAST_F16_PARAMS },
  ],
  cost: convCost,
  reference: conv2dCpu,
  webgpu: conv2d,
});

export const conv2dBackwardInputOp = defineOp({
  name: 'conv2dBackwardInput',
  summary: 'conv2d input gradient dx from dy and w, NCHW f32',
  kernels: convKernels('bwd_input', 'conv2d_bwd_input.wgsl', 'bwd_input', 'bwd_input'),
  cost: convCost,
  reference: conv2dBackwardInputCpu,
  webgpu: conv2dBackwardInput,
});

export const conv2dBackwardWeightOp = defineOp({
  name: 'conv2dBackwardWeight',
  summary: 'conv2d weight gradient dw from x and dy, NCHW f32 (split-K partials summed by reduce.wgsl)',
  kernels: convKernels('bwd_weight', 'conv2d_bwd_weight.wgsl', 'bwd_weight', 'bwd_weight'),
  cost: convCost,
  reference: conv2dBackwardWeightCpu,
  webgpu: conv2dBackwardWeight,
});

/**
 * A ReLU-Conv pass's kernels: its GEMMs with the ReLU folded in, and the plain pass's kernels plus
 * the ReLU kernel that depthwise convolutions and f16 operands compose instead.
 */
const reluConvKernels = (pass: ConvPass, reluFile: string, plainFile: string, entry: string, relu: string): KernelRef[] => [
  ...gemmKernels(pass, reluFile, true),
  ...convKernels(pass, plainFile, entry, entry),
  { file: 'activation.wgsl', entries: [relu], uniforms: ACTIVATION_PARAMS },
];

/** Costs as the plain pass's (the ReLU rides along with the loads or the store). */
export const reluConv2dOp = defineOp({
  name: 'reluConv2d',
  summary: 'conv2d(relu(x), w), NCHW f32: the ReLU applied as x is loaded (depthwise: composed)',
  kernels: reluConvKernels('fwd', 'conv2d_relu.wgsl', 'conv2d.wgsl', 'fwd', 'relu'),
  cost: convCost,
  reference: reluConv2dCpu,
  webgpu: reluConv2d,
});

export const reluConv2dBackwardInputOp = defineOp({
  name: 'reluConv2dBackwardInput',
  summary: "gradient at the ReLU's input of conv2d(relu(x), w): dx * (x > 0) in the GEMM's store",
  kernels: reluConvKernels('bwd_input', 'conv2d_bwd_input_relu.wgsl', 'conv2d_bwd_input.wgsl', 'bwd_input', 'relu_bwd'),
  cost: convCost,
  reference: reluConv2dBackwardInputCpu,
  webgpu: reluConv2dBackwardInput,
});

export const reluConv2dBackwardWeightOp = defineOp({
  name: 'reluConv2dBackwardWeight',
  summary: 'conv2d weight gradient on relu(x), NCHW f32: the ReLU applied as x is loaded',
  kernels: reluConvKernels('bwd_weight', 'conv2d_bwd_weight_relu.wgsl', 'conv2d_bwd_weight.wgsl', 'bwd_weight', 'relu'),
  cost: convCost,
  reference: reluConv2dBackwardWeightCpu,
  webgpu: reluConv2dBackwardWeight,
});
