/**
 * Op parameters and shape rules, shared by the WGSL wrappers, the TypeScript references and the
 * native CPU backend (src/backend/cpu): one place decides what a valid operand is, what the output
 * shape is, and what an op's attributes are, so errors read the same on every backend.
 */
import { ShapeError } from '../gpu/errors.js';

// ---- matmul ---------------------------------------------------------------------------------------

/** Reads (batch, rows, cols) from a 2-D or 3-D matmul operand shape. */
export function matmulOperandDims(op: string, name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new ShapeError(`${op}: ${name} must be 2-D or 3-D, got ${shapeStr(shape)}`);
}

// ---- conv2d ---------------------------------------------------------------------------------------

export interface Conv2dParams {
  stride: number;
  pad: number;
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
export function convDims(op: string, xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): ConvDims {
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

/** Multiply-accumulates of one forward pass (for GFLOP/s: 2 * macs). */
export function conv2dMacs(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): number {
  const d = convDims('conv2dMacs', xShape, wShape, p);
  return d.N * d.Cout * d.OH * d.OW * (d.Cin / d.groups) * d.KH * d.KW;
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
  if (2 * p.pad > p.kernel) throw new RangeError(`avgPool2d: pad ${p.pad} exceeds half the kernel ${p.kernel} (PyTorch rejects this too)`);
  const OH = Math.floor((H + 2 * p.pad - p.kernel) / p.stride) + 1;
  const OW = Math.floor((W + 2 * p.pad - p.kernel) / p.stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`avgPool2d: kernel ${p.kernel} with pad ${p.pad} does not fit input ${H}x${W}`);
  }
  return [N, C, OH, OW];
}

// ---- optimiser steps ------------------------------------------------------------------------------

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1-based step count (bias correction). */
  step: number;
}

// ---- proxy accumulations ----------------------------------------------------------------------------

export interface BatchedAccumulateOptions {
  /** Matrix size N: dst holds [slots * outs, N, N], src [L, N, N] (at least). */
  n: number;
  slots: number;
  /** Per layer of src (sorted by slot): its slot in [0, slots) and weight. */
  layerSlots: readonly number[];
  weights: readonly number[];
  /** 2: also add the unweighted sum into the matrix after each slot's weighted one. Default 1. */
  outs?: 1 | 2;
  /** Add |C| (default) or C. */
  abs?: boolean;
  /** Count every diagonal entry as exactly 1 (correlation Gram products without set_diag). */
  unitDiagonal?: boolean;
}

// ---- shared argument checks ------------------------------------------------------------------------
//
// Every backend calls these (the WGSL wrappers in this folder and src/backend/cpu), so a caller
// sees one error, with one message, whichever backend runs.

type Shaped = { readonly shape: readonly number[] };

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a ShapeError unless a and b have identical shapes. */
export function assertSameShape(op: string, a: Shaped, b: Shaped): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
}

export function assertFiniteNumber(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
}

/** fill's value: any number but NaN (±Infinity fills are allowed). */
export function checkFillValue(value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`fill: value must be a number, got ${value}`);
}

/** addBiasRows: b must be [cols] for y's last dimension cols; returns cols. */
export function biasRowsCols(yShape: readonly number[], bShape: readonly number[]): number {
  const cols = yShape[yShape.length - 1];
  if (bShape.length !== 1 || bShape[0] !== cols) {
    throw new ShapeError(`addBiasRows: bias [${bShape.join(', ')}] does not match the last dimension ${cols} of [${yShape.join(', ')}]`);
  }
  return cols;
}

/** A convolution's output gradient must be [N, Cout, OH, OW]. */
export function checkConvDy(op: string, dyShape: readonly number[], d: ConvDims): void {
  const want = [d.N, d.Cout, d.OH, d.OW];
  if (dyShape.length !== 4 || !want.every((v, i) => v === dyShape[i])) {
    throw new ShapeError(`${op}: dy is ${shapeStr(dyShape)}, expected ${shapeStr(want)}`);
  }
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

export function checkBatchNormEps(eps: number): void {
  if (!(eps > 0)) throw new RangeError(`batchNormForward: eps must be > 0, got ${eps}`);
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
export function globalAvgPoolBackwardDims(dyShape: readonly number[], xShape: readonly number[]): [number, number, number, number] {
  const d = nchw('globalAvgPoolBackward', xShape);
  if (dyShape.length !== 2 || dyShape[0] !== d[0] || dyShape[1] !== d[1]) {
    throw new ShapeError(`globalAvgPoolBackward: dy is [${dyShape.join(', ')}], expected [${d[0]}, ${d[1]}]`);
  }
  return d;
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
export function crossEntropyDims(logitsShape: readonly number[], labelsShape: readonly number[]): [number, number] {
  if (logitsShape.length !== 2) throw new ShapeError(`softmaxCrossEntropy: logits must be [N, K], got [${logitsShape.join(', ')}]`);
  const [N, K] = logitsShape;
  if (labelsShape.length !== 1 || labelsShape[0] !== N) {
    throw new ShapeError(`softmaxCrossEntropy: labels must be [${N}], got [${labelsShape.join(', ')}]`);
  }
  if (N === 0 || K === 0) throw new ShapeError(`softmaxCrossEntropy: empty logits [${N}, ${K}]`);
  return [N, K];
}

// ---- matmul (checks) ----------------------------------------------------------------------------------

export interface MatmulDims {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Whether each operand has its own matrix per batch entry (else it broadcasts). */
  batchA: boolean;
  batchB: boolean;
  outShape: number[];
  beta: number;
}

/** C = alpha op(A) op(B) + beta C: the sizes, the output shape and the `out` / beta rules. */
export function matmulDims(
  aShape: readonly number[],
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; beta?: number; out?: { readonly size: number } },
): MatmulDims {
  const [ba, ra, ca] = matmulOperandDims('matmul', 'A', aShape);
  const [bb, rb, cb] = matmulOperandDims('matmul', 'B', bShape);
  const M = opts.transA ? ca : ra;
  const K = opts.transA ? ra : ca;
  const Kb = opts.transB ? cb : rb;
  const N = opts.transB ? rb : cb;
  if (K !== Kb) {
    throw new ShapeError(`matmul: inner dimensions differ: op(A) is ${M}x${K}, op(B) is ${Kb}x${N} (A [${aShape}], B [${bShape}])`);
  }
  if (ba !== bb && ba !== 1 && bb !== 1) throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} differ`);
  const batch = Math.max(ba, bb);
  const outShape = aShape.length === 3 || bShape.length === 3 ? [batch, M, N] : [M, N];
  const beta = opts.beta ?? 0;
  if (beta !== 0 && !opts.out) throw new Error('matmul: beta != 0 needs an `out` tensor to accumulate into');
  if (opts.out && opts.out.size !== batch * M * N) {
    throw new ShapeError(`matmul: out has ${opts.out.size} elements, expected ${batch}x${M}x${N}`);
  }
  return { batch, M, N, K, batchA: ba !== 1, batchB: bb !== 1, outShape, beta };
}

// ---- reductions (checks) ------------------------------------------------------------------------------

/** Rows of x viewed as [rows, cols] (cols must divide its size). */
export function reduceRows(op: string, x: Shaped & { readonly size: number }, cols: number): number {
  if (!Number.isInteger(cols) || cols <= 0 || x.size % cols !== 0) {
    throw new ShapeError(`${op}: ${cols} columns do not divide [${x.shape.join(', ')}] (${x.size} elements)`);
  }
  return x.size / cols;
}

export function checkRowSumsOut(outSize: number, rows: number, outShape: readonly number[] | undefined): void {
  if (outSize !== rows) throw new ShapeError(`rowSums: out shape [${(outShape ?? []).join(', ')}] does not hold ${rows} rows`);
}

export function checkSumSlices(xSize: number, slices: number, outShape: readonly number[], outSize: number): void {
  if (xSize !== slices * outSize) {
    throw new ShapeError(`sumSlices: ${xSize} elements are not ${slices} slices of [${outShape.join(', ')}]`);
  }
}

/** dotPartials: equal operand sizes and room for one partial per group. */
export function checkDotPartials(n: number, bSize: number, partialsSize: number, groups: number): void {
  if (bSize !== n) throw new ShapeError(`dotPartials: ${n} vs ${bSize} elements`);
  if (partialsSize < groups) throw new ShapeError(`dotPartials: partials holds ${partialsSize} values, needs ${groups}`);
}

// ---- optimiser steps (checks) -------------------------------------------------------------------------

function sameSize(op: string, ts: Record<string, { readonly size: number }>): void {
  const names = Object.keys(ts);
  const n = ts[names[0]].size;
  for (const k of names) {
    if (ts[k].size !== n) throw new ShapeError(`${op}: ${k} has ${ts[k].size} elements, ${names[0]} has ${n}`);
  }
}

function checkFinite(op: string, o: Record<string, number | undefined>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`${op}: ${k} must be finite, got ${v}`);
  }
}

type Sized = { readonly size: number };

/** sgdStep's operands and options; returns momentum and dampening with their defaults. */
export function sgdStepParams(w: Sized, grad: Sized, buf: Sized, o: SgdOptions): { momentum: number; dampening: number } {
  sameSize('sgdStep', { w, grad, buf });
  checkFinite('sgdStep', { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay });
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  if (o.nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError('sgdStep: Nesterov momentum needs momentum > 0 and dampening 0');
  }
  return { momentum, dampening };
}

/** adamStep's operands and options; returns the betas, eps and the bias corrections folded in. */
export function adamStepParams(
  w: Sized,
  grad: Sized,
  m: Sized,
  v: Sized,
  o: AdamOptions,
): { beta1: number; beta2: number; eps: number; lrCorrected: number; sqrtBc2: number } {
  sameSize('adamStep', { w, grad, m, v });
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  checkFinite('adamStep', { lr: o.lr, beta1, beta2, eps, weightDecay: o.weightDecay });
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamStep: step must be an integer >= 1, got ${o.step}`);
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new RangeError('adamStep: betas must lie in [0, 1)');
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  return { beta1, beta2, eps, lrCorrected: o.lr / bc1, sqrtBc2: Math.sqrt(bc2) };
}

// ---- proxy ops (checks) -------------------------------------------------------------------------------

export function checkAccumulateAbs(dstSize: number, srcSize: number): void {
  if (dstSize !== srcSize) throw new ShapeError(`accumulateAbs: ${dstSize} vs ${srcSize} elements`);
}

/** accumulateAbsBatched's sizes; returns outs and the layer count L. */
export function batchedAccumulateDims(dstSize: number, srcSize: number, o: BatchedAccumulateOptions): { outs: 1 | 2; L: number } {
  const { n, slots } = o;
  const outs = o.outs ?? 1;
  const L = o.layerSlots.length;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(slots) || slots < 1) {
    throw new ShapeError(`accumulateAbsBatched: bad n=${n} or slots=${slots}`);
  }
  if (dstSize < slots * outs * n * n) throw new ShapeError(`accumulateAbsBatched: dst has ${dstSize} elements, needs ${slots}x${outs}x${n}x${n}`);
  if (srcSize < L * n * n) throw new ShapeError(`accumulateAbsBatched: src has ${srcSize} elements, needs ${L}x${n}x${n}`);
  return { outs, L };
}

/** One weight per layer, every layer's slot in [0, slots), layers sorted by slot. */
export function checkBatchedLayers(slots: number, layerSlots: readonly number[], weights: readonly number[]): void {
  const L = layerSlots.length;
  if (weights.length !== L) throw new ShapeError(`accumulateAbsBatched: ${L} layer slots but ${weights.length} weights`);
  for (let l = 0; l < L; l++) {
    const s = layerSlots[l];
    if (!Number.isInteger(s) || s < 0 || s >= slots) throw new RangeError(`accumulateAbsBatched: layer ${l} has slot ${s}, not in [0, ${slots})`);
    if (l > 0 && s < layerSlots[l - 1]) throw new RangeError('accumulateAbsBatched: layers must be sorted by slot');
  }
}

// ---- correlation (checks) -----------------------------------------------------------------------------

/** correlation's [B, N, D] (or [N, D]) input; D >= 2 unless a single feature is allowed. */
export function correlationDims(shape: readonly number[], allowSingleFeature = false): [number, number, number] {
  const [B, N, D] = shape.length === 3 ? shape : shape.length === 2 ? [1, ...shape] : [];
  if (B === undefined || N === undefined || D === undefined) {
    throw new ShapeError(`correlation: input must be [B, N, D] or [N, D], got [${shape.join(', ')}]`);
  }
  // D = 1 gives the identity (every row constant); callers that mean it (WRCor over any ReLU) opt in.
  if (D < 2 && !(D === 1 && allowSingleFeature)) {
    throw new ShapeError(`correlation: need at least 2 features per row to correlate, got D=${D}`);
  }
  return [B, N, D];
}

/** correlationOffDiagInPlace: x [B, N, D] and out of B x N x N elements. */
export function offDiagCorrelationDims(xShape: readonly number[], outSize: number): [number, number, number] {
  if (xShape.length !== 3) throw new ShapeError(`correlationOffDiagInPlace: x must be [B, N, D], got [${xShape.join(', ')}]`);
  const [B, N, D] = xShape;
  if (outSize !== B * N * N) throw new ShapeError(`correlationOffDiagInPlace: out has ${outSize} elements, expected ${B}x${N}x${N}`);
  return [B, N, D];
}

export function checkNormalizeRows(rows: number, D: number, size: number): void {
  if (rows * D > size) throw new ShapeError(`normalizeRowsInPlace: ${rows}x${D} exceeds the tensor's ${size} elements`);
}

// ---- ProxylessNAS gates and AutoSpace fitness (checks) -----------------------------------------------

export function checkGateDot(a: Shaped & Sized, b: Shaped & Sized, outSize: number, index: number): void {
  if (a.size !== b.size) {
    throw new ShapeError(`gateDot: operands differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= outSize) {
    throw new RangeError(`gateDot: index ${index} is outside out (${outSize} elements)`);
  }
}

/** The WGSL fitness kernels' tuning knobs (validated on every backend). wg: power of two <= 256. */
export function checkFitnessOpts(op: string, wg: number, items: number): void {
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || (wg & (wg - 1)) !== 0) {
    throw new RangeError(`${op}: workgroup size must be a power of two in [1, 256], got ${wg}`);
  }
  if (!Number.isInteger(items) || items < 1) throw new RangeError(`${op}: items must be a positive integer, got ${items}`);
}

/** φ or probs: a 1-D tensor of K >= 1 entries (exactly k when given). */
export function assertVector(op: string, name: string, t: Shaped, k?: number): void {
  if (t.shape.length !== 1 || t.shape[0] < 1 || (k !== undefined && t.shape[0] !== k)) {
    const want = k === undefined ? '[K] with K >= 1' : `[${k}]`;
    throw new ShapeError(`${op}: ${name} must have shape ${want}, got ${shapeStr(t.shape)}`);
  }
}

export function assertCandidateIndex(op: string, k: number, K: number): void {
  if (!Number.isInteger(k) || k < 0 || k >= K) throw new RangeError(`${op}: candidate index ${k} is outside [0, ${K})`);
}

/** A mixture: >= 1 outputs of identical shape and a [K] logits/probs vector. */
export function assertMixture(op: string, outs: ReadonlyArray<Shaped>, weights: Shaped): void {
  if (outs.length < 1) throw new ShapeError(`${op}: needs at least one candidate output`);
  for (let k = 1; k < outs.length; k++) {
    if (!sameShape(outs[k].shape, outs[0].shape)) {
      throw new ShapeError(`${op}: candidate ${k} has shape ${shapeStr(outs[k].shape)}, candidate 0 has ${shapeStr(outs[0].shape)}`);
    }
  }
  assertVector(op, 'logits', weights, outs.length);
}

/** mixAccumulate: y and o of one shape, a [K] probs vector, k in range. */
export function checkMixAccumulate(y: Shaped, o: Shaped, probs: Shaped & Sized, k: number): void {
  const op = 'mixAccumulate';
  if (!sameShape(y.shape, o.shape)) throw new ShapeError(`${op}: y ${shapeStr(y.shape)} and o ${shapeStr(o.shape)} differ`);
  assertVector(op, 'probs', probs);
  assertCandidateIndex(op, k, probs.size);
}

/** mixBackward: o, dy (and dOut) of one shape, [K] probs (and gDots), k in range. */
export function checkMixBackward(o: Shaped, dy: Shaped, probs: Shaped & Sized, k: number, dOut: Shaped | null, gDots: Shaped | null): void {
  const op = 'mixBackward';
  if (!sameShape(o.shape, dy.shape)) throw new ShapeError(`${op}: o ${shapeStr(o.shape)} and dy ${shapeStr(dy.shape)} differ`);
  if (dOut && !sameShape(dOut.shape, o.shape)) throw new ShapeError(`${op}: dOut ${shapeStr(dOut.shape)} does not match o ${shapeStr(o.shape)}`);
  assertVector(op, 'probs', probs);
  if (gDots) assertVector(op, 'gDots', gDots, probs.size);
  assertCandidateIndex(op, k, probs.size);
}

/** One storage cannot be written and also read by the same op (WGSL cannot bind it twice); same rule everywhere. */
export function assertDistinct<T>(op: string, written: T, name: string, others: Array<[string, T]>, same: (a: T, b: T) => boolean): void {
  for (const [n, t] of others) {
    if (same(t, written)) throw new Error(`${op}: ${name} must not share its buffer with ${n}`);
  }
}
