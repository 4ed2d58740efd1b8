/**
 * Calibration kernels (shaders/calibrate_flops.wgsl, shaders/calibrate_bandwidth.wgsl), their CPU
 * references, and calibratePeak(): the measured f32 FMA throughput and copy bandwidth of an adapter
 * that is not in the datasheet table (e.g. lavapipe).
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import { assertShape, type GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from '../kernels/descriptor.js';
import { defaultMinSampleMs, measure, timerSampler } from './measure.js';
import type { Peak } from './peaks.js';

const WG = 256;
/** FLOPs per thread per iteration: 4 chains x vec4 x (mul + add). */
export const FMA_FLOPS_PER_ITER = 32;
const FMA_CHAINS = 4;
const FMA_LANES = 4;

const FMA_PARAMS = defineUniforms('calibrate_flops.wgsl', 'Params', { n: 'u32', iters: 'u32', m: 'f32', k: 'f32' });
const COPY_PARAMS = defineUniforms('calibrate_bandwidth.wgsl', 'Params', { n4: 'u32', scale: 'f32', _p0: 'u32', _p1: 'u32' });

export interface FmaParams {
  iters: number;
  /** Contraction factor, 0 < m < 1. */
  m?: number;
  k?: number;
}

/** Y[i] = sum over 16 recurrences a <- a*m + k started from X[i] + offsets (see the WGSL). */
export function fmaBurn(gpu: Gpu, x: GpuTensor, params: FmaParams, out?: GpuTensor): GpuTensor {
  const { iters, m = 0.999, k = 1e-3 } = params;
  if (!Number.isInteger(iters) || iters < 0) throw new RangeError(`fmaBurn: iters must be an integer >= 0, got ${iters}`);
  if (!(m > 0 && m < 1)) throw new RangeError(`fmaBurn: m must be in (0, 1) so the recurrence stays bounded, got ${m}`);
  const y = out ?? gpu.empty(x.shape);
  if (out) assertShape('fmaBurn out', out, x.shape);
  gpu.dispatch({
    kernel: { file: 'calibrate_flops.wgsl', constants: { WG } },
    buffers: [x, y],
    uniforms: FMA_PARAMS.pack({ n: x.size, iters, m, k }),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return y;
}

export function fmaBurnCpu(x: ArrayLike<number>, params: FmaParams): Float64Array {
  const { iters, m = 0.999, k = 1e-3 } = params;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let s = 0;
    for (let c = 0; c < FMA_CHAINS; c++) {
      for (let l = 0; l < FMA_LANES; l++) {
        let a = x[i] + 0.25 * l + c;
        for (let t = 0; t < iters; t++) a = a * m + k;
        s += a;
      }
    }
    out[i] = s;
  }
  return out;
}

export function fmaBurnFlops(threads: number, iters: number): number {
  return threads * iters * FMA_FLOPS_PER_ITER;
}

/** Y = scale * X, streamed as vec4 (x.size must be a multiple of 4). */
export function scaleCopy(gpu: Gpu, x: GpuTensor, scale: number, out?: GpuTensor): GpuTensor {
  if (x.size % 4 !== 0)
    throw new ShapeError(`scaleCopy: element count ${x.size} is not a multiple of 4 (the kernel streams vec4)`);
  const y = out ?? gpu.empty(x.shape);
  if (out) assertShape('scaleCopy out', out, x.shape);
  const n4 = x.size / 4;
  gpu.dispatch({
    kernel: { file: 'calibrate_bandwidth.wgsl', constants: { WG } },
    buffers: [x, y],
    uniforms: COPY_PARAMS.pack({ n4, scale }),
    workgroups: gpu.grid1d(n4, WG),
  });
  return y;
}

export function scaleCopyCpu(x: ArrayLike<number>, scale: number, out = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = scale * x[i];
  return out;
}

/** Minimum DRAM traffic of scaleCopy: read and write every element once. */
export function scaleCopyBytes(elems: number): number {
  return 2 * 4 * elems;
}

export interface CalibrationResult extends Peak {
  fma: { threads: number; iters: number; ms: number };
  copy: { bytesPerBuffer: number; ms: number };
}

export interface CalibrateOptions {
  /** Grow the problem until one run takes at least this long. */
  targetMs?: number;
  repeats?: number;
}

/**
 * Measures the adapter's f32 FMA rate and streaming bandwidth: each kernel's size doubles until a
 * run takes targetMs, then the best of `repeats` timed runs counts (peak = best case).
 */
export async function calibratePeak(gpu: Gpu, opts: CalibrateOptions = {}): Promise<CalibrationResult> {
  const targetMs = opts.targetMs ?? (gpu.adapter.isSoftware ? 30 : 5);
  const repeats = opts.repeats ?? 5;
  const minSampleMs = defaultMinSampleMs(gpu);
  const maxBinding = Math.min(
    gpu.adapter.limits.maxStorageBufferBindingSize ?? 128 << 20,
    gpu.adapter.limits.maxBufferSize ?? 256 << 20,
  );

  // Compute: enough threads to fill a big GPU, then lengthen the loop.
  const threads = gpu.adapter.isSoftware ? 1 << 16 : 1 << 21;
  const x = gpu.zeros([threads]);
  const y = gpu.empty([threads]);
  let iters = 16;
  let fmaMs = Infinity;
  try {
    for (;;) {
      const run = () => void fmaBurn(gpu, x, { iters }, y);
      const m = await measure(timerSampler(gpu, run), { warmup: 1, repeats, minSampleMs });
      fmaMs = m.stats.minMs;
      if (fmaMs >= targetMs || iters >= 1 << 16) break;
      iters *= Math.min(16, Math.max(2, 2 ** Math.ceil(Math.log2(targetMs / Math.max(fmaMs, 1e-3)))));
    }
  } finally {
    x.dispose();
    y.dispose();
  }

  // Bandwidth: double the buffers (well past any cache) until a copy takes targetMs.
  const cap = Math.min(512 << 20, Math.floor(maxBinding / 16) * 16);
  let bytesPerBuffer = Math.min(4 << 20, cap);
  let copyMs = Infinity;
  for (;;) {
    const elems = bytesPerBuffer / 4;
    const a = gpu.zeros([elems]);
    const b = gpu.empty([elems]);
    try {
      const run = () => void scaleCopy(gpu, a, 1.5, b);
      const m = await measure(timerSampler(gpu, run), { warmup: 1, repeats, minSampleMs });
      copyMs = m.stats.minMs;
    } finally {
      a.dispose();
      b.dispose();
      gpu.pool.trim();
    }
    if (copyMs >= targetMs || bytesPerBuffer * 2 > cap) break;
    bytesPerBuffer *= 2;
  }
  const desc = gpu.name;
  return {
    flopsPerS: fmaBurnFlops(threads, iters) / (fmaMs / 1e3),
    bytesPerS: scaleCopyBytes(bytesPerBuffer / 4) / (copyMs / 1e3),
    source: 'calibrated',
    name: `measured on ${desc}`,
    fma: { threads, iters, ms: fmaMs },
    copy: { bytesPerBuffer, ms: copyMs },
  };
}

// ---- descriptors (roofline anchors; bench-only ops) ------------------------------------------------

export const fmaBurnOp = defineOp({
  name: 'fmaBurn',
  summary: 'calibration: 16 independent f32 FMA chains per thread (calibrate_flops.wgsl), compute-bound',
  kernels: [{ file: 'calibrate_flops.wgsl', entries: ['main'], uniforms: FMA_PARAMS, overrides: { WG } }],
  // One value read and one written per thread.
  cost: ({ threads, iters }: { threads: number; iters: number }) => ({ flops: fmaBurnFlops(threads, iters), bytes: 8 * threads }),
  reference: fmaBurnCpu,
  webgpu: fmaBurn,
});

export const scaleCopyOp = defineOp({
  name: 'scaleCopy',
  summary: 'calibration: STREAM scale y = s x over vec4 (calibrate_bandwidth.wgsl), bandwidth-bound',
  kernels: [{ file: 'calibrate_bandwidth.wgsl', entries: ['main'], uniforms: COPY_PARAMS, overrides: { WG } }],
  cost: ({ elems }: { elems: number }) => ({ flops: elems, bytes: scaleCopyBytes(elems) }),
  reference: scaleCopyCpu,
  webgpu: scaleCopy,
});
