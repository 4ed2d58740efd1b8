/** Shared helpers for the layer tests: finite differences in f64 and small utilities. */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';

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
