/**
 * Op parameters and shape rules, shared by the WGSL wrappers and the TypeScript references (and,
 * later, every other backend): one place decides what a valid operand is, what the output shape
 * is, and what an op's attributes are.
 */
import { ShapeError } from '../gpu/errors.js';

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

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
