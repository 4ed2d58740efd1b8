/** Shared helpers for the layer tests: finite differences in f64 and small utilities. */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { batchNormBackwardCpu, batchNormForwardCpu } from '../../src/kernels/batchnorm.js';
import { expectClose } from './gpu.js';

export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** sum(a .* b) in f64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite differences of a scalar f64 function at x, compared with an analytic gradient.
 * Checks every coordinate (keep x tiny) or `sample` evenly spaced ones.
 */
export function expectGradMatchesFd(
  f: (x: Float64Array) => number,
  x: ArrayLike<number>,
  analytic: ArrayLike<number>,
  {
    h = 1e-5,
    atol = 1e-6,
    rtol = 1e-5,
    label = '',
    sample = Infinity,
  }: { h?: number; atol?: number; rtol?: number; label?: string; sample?: number } = {},
): void {
  const xx = Float64Array.from(x);
  expect(analytic.length, `${label}: gradient length`).toBe(xx.length);
  const step = Math.max(1, Math.floor(xx.length / Math.min(sample, xx.length)));
  for (let i = 0; i < xx.length; i += step) {
    const v = xx[i];
    xx[i] = v + h;
    const fp = f(xx);
    xx[i] = v - h;
    const fm = f(xx);
    xx[i] = v;
    const fd = (fp - fm) / (2 * h);
    const err = Math.abs(fd - analytic[i]);
    if (!(err <= atol + rtol * Math.abs(fd))) {
      throw new Error(`${label}: d/dx[${i}] analytic ${analytic[i]} vs finite difference ${fd} (|err| ${err})`);
    }
  }
}

/** Every entry of the ragged `a` nudged by ±h: check(b, i, a with [b][i] + h, a with [b][i] - h), on copies. */
export function forEachNudge(
  a: readonly number[][],
  h: number,
  check: (b: number, i: number, up: number[][], dn: number[][]) => void,
): void {
  a.forEach((row, b) =>
    row.forEach((_, i) => {
      const up = a.map((x) => [...x]);
      const dn = a.map((x) => [...x]);
      up[b][i] += h;
      dn[b][i] -= h;
      check(b, i, up, dn);
    }),
  );
}

/**
 * Runs fn with the device's per-dimension workgroup limit lowered, so grid folding over y/z is
 * exercised on small inputs (dispatch and grid1d both read this limit).
 */
export async function withWorkgroupLimit<T>(gpu: Gpu, limit: number, fn: () => Promise<T>): Promise<T> {
  const limits = gpu.adapter.limits;
  const saved = limits.maxComputeWorkgroupsPerDimension;
  limits.maxComputeWorkgroupsPerDimension = limit;
  try {
    return await fn();
  } finally {
    limits.maxComputeWorkgroupsPerDimension = saved;
  }
}

type Readable = { read(): Promise<Float32Array> };

/**
 * A batch norm's forward (mean, invStd, y) and backward (dx, dgamma, dbeta), read back from either
 * backend, against the CPU references of x [shape] at the reference statistics. `meanRtol`: the
 * mean's relative tolerance.
 */
export async function expectBatchNormMatchesCpu(
  f: { y: Readable; mean: Readable; invStd: Readable },
  b: { dx: Readable; dgamma: Readable; dbeta: Readable },
  r: {
    x: ArrayLike<number>;
    dy: ArrayLike<number>;
    shape: number[];
    gamma: ArrayLike<number> | null;
    beta: ArrayLike<number> | null;
  },
  meanRtol = 1e-4,
): Promise<void> {
  const { x, dy, shape, gamma, beta } = r;
  const ref = batchNormForwardCpu(x, shape, gamma, beta);
  expectClose(await f.mean.read(), ref.mean, { atol: 1e-5, rtol: meanRtol, label: 'mean' });
  expectClose(await f.invStd.read(), ref.invStd, { atol: 1e-5, rtol: 1e-4, label: 'invStd' });
  expectClose(await f.y.read(), ref.y, { atol: 1e-4, label: 'y' });
  const refB = batchNormBackwardCpu(dy, x, shape, ref.mean, ref.invStd, gamma);
  const m = prod(shape) / shape[1];
  expectClose(await b.dx.read(), refB.dx, { atol: 1e-4, rtol: 1e-3, label: 'dx' });
  expectClose(await b.dgamma.read(), refB.dgamma, { atol: 1e-5 * m, label: 'dgamma' });
  expectClose(await b.dbeta.read(), refB.dbeta, { atol: 1e-5 * m, label: 'dbeta' });
}
