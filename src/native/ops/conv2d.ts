/**
 * 2-D convolution, NCHW, no bias, on the native device (oneDNN primitives, native/compute/ops_conv.cpp):
 * forward and both backward passes with the signatures, parameters and errors of
 * src/kernels/conv2d.ts. x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW]; output
 * floor((H + 2 pad - KH) / stride) + 1. Any grouping (depthwise, with or without a multiplier).
 */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';
import { shapeStr } from './checks.js';

export interface Conv2dParams {
  stride: number;
  pad: number;
  /** Default 1. groups = Cin = Cout is a depthwise convolution. */
  groups?: number;
}

/** The WGSL GEMM cores (src/kernels/conv2d.ts); accepted for signature parity, unused on the CPU. */
export type ConvAlgo = 'tiled' | 'broadcast';

export interface Conv2dOptions {
  algo?: ConvAlgo;
  tile?: { WG_X: number; WG_Y: number };
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

/** The addon's parameters (OH/OW are derived there again and must agree). */
function params(d: ConvDims): Record<string, number> {
  const { N, Cin, H, W, Cout, KH, KW, stride, pad, groups } = d;
  return { N, Cin, H, W, Cout, KH, KW, stride, pad, groups };
}

function checkDy(op: string, dy: NativeTensor, d: ConvDims): void {
  const want = [d.N, d.Cout, d.OH, d.OW];
  if (dy.shape.length !== 4 || !want.every((v, i) => v === dy.shape[i])) {
    throw new ShapeError(`${op}: dy is ${shapeStr(dy.shape)}, expected ${shapeStr(want)}`);
  }
}

export function conv2d(dev: NativeDevice, x: NativeTensor, w: NativeTensor, p: Conv2dParams, _opts: Conv2dOptions = {}): NativeTensor {
  const d = convDims('conv2d', x.shape, w.shape, p);
  const y = dev.empty([d.N, d.Cout, d.OH, d.OW]);
  dev.enqueue('conv2d', [x, w, y], params(d));
  return y;
}

export function conv2dBackwardInput(
  dev: NativeDevice,
  dy: NativeTensor,
  w: NativeTensor,
  xShape: readonly number[],
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardInput', xShape, w.shape, p);
  checkDy('conv2dBackwardInput', dy, d);
  const dx = dev.empty(xShape);
  dev.enqueue('conv2dBackwardInput', [dy, w, dx], params(d));
  return dx;
}

export function conv2dBackwardWeight(
  dev: NativeDevice,
  x: NativeTensor,
  dy: NativeTensor,
  wShape: readonly number[],
  p: Conv2dParams,
  _opts: Conv2dOptions = {},
): NativeTensor {
  const d = convDims('conv2dBackwardWeight', x.shape, wShape, p);
  checkDy('conv2dBackwardWeight', dy, d);
  const dw = dev.empty(wShape);
  dev.enqueue('conv2dBackwardWeight', [x, dy, dw], params(d));
  return dw;
}

/** Multiply-accumulates of one forward pass (for GFLOP/s: 2 * macs). */
export function conv2dMacs(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): number {
  const d = convDims('conv2dMacs', xShape, wShape, p);
  return d.N * d.Cout * d.OH * d.OW * (d.Cin / d.groups) * d.KH * d.KW;
}
