/** Layer ops: conv2d, pooling, batch norm, linear and the loss. (Part of src/kernels/params.ts, which re-exports every file here.) */
import { ShapeError } from '../../gpu/errors.js';
import { shapeStr, type Shaped } from './common.js';

// ---- conv2d ---------------------------------------------------------------------------------------

/** A convolution's settings; each defaults as PyTorch's conv2d does (an op given none: stride 1, no padding). */
export interface Conv2dParams {
  /** Default 1. */
  stride?: number;
  /** Zero padding on each side, default 0. */
  pad?: number;
  /** Default 1. groups = Cin = Cout is a depthwise convolution. */
  groups?: number;
}

export interface ConvDims {
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

/** Validates x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW] and the params; returns every size. */
export function convDims(op: string, xShape: readonly number[], wShape: readonly number[], p: Conv2dParams = {}): ConvDims {
  if (xShape.length !== 4) throw new ShapeError(`${op}: x must be [N, Cin, H, W], got ${shapeStr(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${op}: w must be [Cout, Cin/groups, KH, KW], got ${shapeStr(wShape)}`);
  if (typeof p !== 'object' || p === null)
    throw new TypeError(`${op}: params must be {stride?, pad?, groups?}, got ${String(p)}`);
  const { stride = 1, pad = 0, groups = 1 } = p;
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`${op}: stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`${op}: pad must be a non-negative integer, got ${pad}`);
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
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`${op}: kernel ${KH}x${KW} with pad ${pad} does not fit input ${H}x${W}`);
  }
  return { N, Cin, H, W, Cout, KH, KW, OH, OW, stride, pad, groups };
}

export function conv2dOutShape(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams = {}): number[] {
  const d = convDims('conv2d', xShape, wShape, p);
  return [d.N, d.Cout, d.OH, d.OW];
}

/** Multiply-accumulates of one forward pass (for GFLOP/s: 2 * macs). */
export function conv2dMacs(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams = {}): number {
  const d = convDims('conv2dMacs', xShape, wShape, p);
  return d.N * d.Cout * d.OH * d.OW * (d.Cin / d.groups) * d.KH * d.KW;
}

/** A convolution's output gradient must be [N, Cout, OH, OW]. */
export function checkConvDy(op: string, dyShape: readonly number[], d: ConvDims): void {
  const want = [d.N, d.Cout, d.OH, d.OW];
  if (dyShape.length !== 4 || !want.every((v, i) => v === dyShape[i])) {
    throw new ShapeError(`${op}: dy is ${shapeStr(dyShape)}, expected ${shapeStr(want)}`);
  }
}

// ---- pooling --------------------------------------------------------------------------------------

export interface Pool2dParams {
  kernel: number;
  stride: number;
  pad: number;
  /** Divide by the full window including zero padding (PyTorch default: true). */
  countIncludePad?: boolean;
}

export function nchw(op: string, shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new ShapeError(`${op}: expected an NCHW shape, got ${shapeStr(shape)}`);
  return [shape[0], shape[1], shape[2], shape[3]];
}

export function avgPool2dOutShape(xShape: readonly number[], p: Pool2dParams): number[] {
  const [N, C, H, W] = nchw('avgPool2d', xShape);
  for (const k of ['kernel', 'stride'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`avgPool2d: ${k} must be a positive integer, got ${p[k]}`);
  }
  if (!Number.isInteger(p.pad) || p.pad < 0) throw new RangeError(`avgPool2d: pad must be a non-negative integer, got ${p.pad}`);
  if (2 * p.pad > p.kernel)
    throw new RangeError(`avgPool2d: pad ${p.pad} exceeds half the kernel ${p.kernel} (PyTorch rejects this too)`);
  const OH = Math.floor((H + 2 * p.pad - p.kernel) / p.stride) + 1;
  const OW = Math.floor((W + 2 * p.pad - p.kernel) / p.stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`avgPool2d: kernel ${p.kernel} with pad ${p.pad} does not fit input ${H}x${W}`);
  }
  return [N, C, OH, OW];
}

// ---- pooling (checks) ---------------------------------------------------------------------------------

/** avgPool2dBackward: dy must have the forward's output shape. */
export function checkAvgPoolDy(dyShape: readonly number[], outShape: readonly number[]): void {
  if (!outShape.every((d, i) => d === dyShape[i]) || dyShape.length !== 4) {
    throw new ShapeError(`avgPool2dBackward: dy is [${dyShape.join(', ')}], expected [${outShape.join(', ')}]`);
  }
}

/** globalAvgPool: an NCHW input with a non-empty plane. */
export function globalAvgPoolDims(xShape: readonly number[]): [number, number, number, number] {
  const d = nchw('globalAvgPool', xShape);
  if (d[2] * d[3] === 0) throw new ShapeError(`globalAvgPool: empty spatial size in [${xShape.join(', ')}]`);
  return d;
}

/** globalAvgPoolBackward: dy must be [N, C] of the NCHW input shape. */
export function globalAvgPoolBackwardDims(
  dyShape: readonly number[],
  xShape: readonly number[],
): [number, number, number, number] {
  const d = nchw('globalAvgPoolBackward', xShape);
  if (dyShape.length !== 2 || dyShape[0] !== d[0] || dyShape[1] !== d[1]) {
    throw new ShapeError(`globalAvgPoolBackward: dy is [${dyShape.join(', ')}], expected [${d[0]}, ${d[1]}]`);
  }
  return d;
}

// ---- batch norm ---------------------------------------------------------------------------------------

export interface BatchNormDims {
  N: number;
  C: number;
  HW: number;
  /** Elements per channel: N * HW. */
  count: number;
}

/** x is [N, C, H, W] or [N, C], not empty. */
export function batchNormDims(op: string, shape: readonly number[]): BatchNormDims {
  if (shape.length !== 4 && shape.length !== 2) {
    throw new ShapeError(`${op}: expected [N, C, H, W] (or [N, C]), got [${shape.join(', ')}]`);
  }
  const [N, C] = shape;
  const HW = shape.length === 4 ? shape[2] * shape[3] : 1;
  const count = N * HW;
  if (count === 0 || C === 0) throw new ShapeError(`${op}: empty input [${shape.join(', ')}]`);
  return { N, C, HW, count };
}

/** A per-channel tensor (gamma, beta, mean, invStd) must be [C] when given. */
export function checkChannelParam(op: string, name: string, t: Shaped | null, C: number): void {
  if (t && (t.shape.length !== 1 || t.shape[0] !== C)) {
    throw new ShapeError(`${op}: ${name} must be [${C}], got [${t.shape.join(', ')}]`);
  }
}

/**
 * wgnas's batch-norm eps where a network gives none (PyTorch's BatchNorm2d default; NAS-Bench-201's).
 * A ProxylessNAS net.config gives its own (bn.eps, 1e-3 by default): networks pass theirs per BN.
 */
export const DEFAULT_BN_EPS = 1e-5;

export function checkBatchNormEps(eps: number): void {
  if (!(eps > 0)) throw new RangeError(`batchNormForward: eps must be > 0, got ${eps}`);
}

// ---- linear and loss ----------------------------------------------------------------------------------

/** x [N, In], w [Out, In]; returns [N, In, Out]. */
export function linearDims(op: string, xShape: readonly number[], wShape: readonly number[]): [number, number, number] {
  if (xShape.length !== 2) throw new ShapeError(`${op}: x must be [N, In], got [${xShape.join(', ')}]`);
  if (wShape.length !== 2) throw new ShapeError(`${op}: w must be [Out, In], got [${wShape.join(', ')}]`);
  if (xShape[1] !== wShape[1]) {
    throw new ShapeError(`${op}: x [${xShape.join(', ')}] and w [${wShape.join(', ')}] disagree on In`);
  }
  return [xShape[0], xShape[1], wShape[0]];
}

export function checkLinearBias(b: Shaped | null, Out: number): void {
  if (b && (b.shape.length !== 1 || b.shape[0] !== Out)) {
    throw new ShapeError(`linear: bias must be [${Out}], got [${b.shape.join(', ')}]`);
  }
}

export function checkLinearDy(dyShape: readonly number[], N: number, Out: number): void {
  if (dyShape.length !== 2 || dyShape[0] !== N || dyShape[1] !== Out) {
    throw new ShapeError(`linearBackward: dy must be [${N}, ${Out}], got [${dyShape.join(', ')}]`);
  }
}

/** logits [N, K] and labels [N], not empty; returns [N, K]. */
/** softmaxCrossEntropy's label smoothing: in [0, 1). */
export function checkLabelSmoothing(smoothing: number): void {
  if (!(smoothing >= 0 && smoothing < 1))
    throw new RangeError(`softmaxCrossEntropy: label smoothing must be in [0, 1), got ${smoothing}`);
}

export function crossEntropyDims(logitsShape: readonly number[], labelsShape: readonly number[]): [number, number] {
  if (logitsShape.length !== 2)
    throw new ShapeError(`softmaxCrossEntropy: logits must be [N, K], got [${logitsShape.join(', ')}]`);
  const [N, K] = logitsShape;
  if (labelsShape.length !== 1 || labelsShape[0] !== N) {
    throw new ShapeError(`softmaxCrossEntropy: labels must be [${N}], got [${labelsShape.join(', ')}]`);
  }
  if (N === 0 || K === 0) throw new ShapeError(`softmaxCrossEntropy: empty logits [${N}, ${K}]`);
  return [N, K];
}
