/**
 * The WGSL convolution tests' checks (conv2d.gpu, conv2d-program.gpu) of a ConvCase (./cases.ts):
 * its random problem, every pass against the CPU references, the f16 forward against its error bound.
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardInputCpu,
  conv2dBackwardWeight,
  conv2dBackwardWeightCpu,
  conv2dCpu,
  type Conv2dOptions,
  conv2dOutShape,
} from '../../src/kernels/conv2d.js';
import { f16DotErrorBound } from '../../src/kernels/f16.js';
import { Rng } from '../../src/util/rng.js';
import { type ConvCase, convLabel, convWShape } from './cases.js';
import { expectClose } from './gpu.js';
import { prod } from './layers.js';

/** Random x, w (scale 0.5) and dy for `c`, drawn in that order from Rng(seed). */
export function convProblem(c: ConvCase, seed: number) {
  const rng = new Rng(seed);
  const wShape = convWShape(c);
  const yShape = conv2dOutShape(c.x, wShape, c.p);
  return { wShape, yShape, x: rng.normals(prod(c.x)), w: rng.normals(prod(wShape), 0.5), dy: rng.normals(prod(yShape)) };
}

/** Forward and both backward passes of `c` (convProblem(c, seed)) with options `o`: shapes, and values within the fan-in. */
export async function expectConvPassesMatchCpu(gpu: Gpu, c: ConvCase, o: Conv2dOptions, seed: number): Promise<void> {
  const { wShape, yShape, x, w, dy } = convProblem(c, seed);
  const [gx, gw, gdy] = [gpu.upload(x, c.x), gpu.upload(w, wShape), gpu.upload(dy, yShape)];
  const gy = conv2d(gpu, gx, gw, c.p, o);
  const gdx = conv2dBackwardInput(gpu, gdy, gw, c.x, c.p, o);
  const gdw = conv2dBackwardWeight(gpu, gx, gdy, wShape, c.p, o);
  expect(gy.shape).toEqual(yShape);
  expect(gdx.shape).toEqual(c.x);
  expect(gdw.shape).toEqual(wShape);
  const fanIn = prod(wShape.slice(1));
  const taps = prod(yShape) / wShape[0];
  const label = convLabel(c);
  expectClose(await gy.read(), conv2dCpu(x, c.x, w, wShape, c.p), { atol: 2e-5 * fanIn, label: `${label} y` });
  expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, c.x, c.p), { atol: 2e-5 * fanIn, label: `${label} dx` });
  expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, c.x, dy, wShape, c.p), { atol: 2e-5 * taps, label: `${label} dw` });
  for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
}

/**
 * An f16 forward `got` of x * w against the f32 reference, element by element: `bad` outside
 * |y16 - y| <= (2 u16 + u16^2 + K u32) * sum |x w| over the taps (+ 1e-6), `rounded` off by more
 * than 1e-5 of that sum (so the operands were rounded to f16).
 */
export function f16ForwardErrors(got: ArrayLike<number>, c: ConvCase, x: Float32Array, w: Float32Array) {
  const wShape = convWShape(c);
  const want = conv2dCpu(x, c.x, w, wShape, c.p);
  const mag = conv2dCpu(x.map(Math.abs), c.x, w.map(Math.abs), wShape, c.p);
  const bound = f16DotErrorBound(prod(wShape.slice(1)));
  let bad = 0;
  let rounded = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= bound * mag[i] + 1e-6)) bad++;
    if (err > 1e-5 * mag[i]) rounded++;
  }
  return { bad, rounded };
}
