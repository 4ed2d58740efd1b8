/**
 * The opt-in f16 path: operands rounded to f16 (cast_f16.wgsl), read by the f16 kernels with f32
 * products and sums. Only where the device has shader-f16, and never unless asked: per call
 * (`precision: 'f16'`) or for a whole Gpu (Gpu.f16Compute, set by WGNAS_F16=1). Proxies that f16
 * operands would break ask for f32 whatever the Gpu says (TapeOptions.precision): SynFlow (inputs
 * scaled to 2^-64, far below f16's range) and Zen (a 1% perturbation's effect).
 *
 * Without tensor cores this path saves memory traffic and shared memory, not FMAs. The tensor-core
 * matmul (subgroup matrices, `chromium-experimental-subgroup-matrix`) is matmul-subgroup-matrix.ts:
 * opt-in and benchmarked only, as no adapter here exposes the feature (lavapipe reports no
 * configurations, with or without allow_unsafe_apis).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';

export type Precision = 'f32' | 'f16';

export const CAST_F16_PARAMS = defineUniforms('cast_f16.wgsl', 'Params', { n: 'u32', _a: 'u32', _b: 'u32', _c: 'u32' });

export function hasF16(gpu: Gpu): boolean {
  return gpu.device.features.has('shader-f16');
}

/** The precision a call runs at; 'f16' on a device without shader-f16 is refused. */
export function resolvePrecision(gpu: Gpu, op: string, asked: Precision | undefined): Precision {
  const p = asked ?? (gpu.f16Compute ? 'f16' : 'f32');
  if (p !== 'f32' && p !== 'f16') throw new RangeError(`${op}: precision must be 'f32' or 'f16', got '${String(p)}'`);
  if (p === 'f16' && !hasF16(gpu))
    throw new Error(`${op}: precision 'f16' needs the shader-f16 feature, which ${gpu.name} does not offer`);
  return p;
}

/**
 * x rounded to f16, packed two per 32-bit word (caller disposes). Values that round past f16's
 * range (|x| >= 65520) become +-inf and NaN stays NaN (cast_f16.wgsl), as in f32 arithmetic, so an
 * overflow shows in the results instead of WGSL's indeterminate value.
 */
export function castF16(gpu: Gpu, x: GpuTensor): GpuTensor {
  const words = Math.ceil(x.size / 2);
  const out = gpu.empty([Math.max(1, words)]);
  gpu.dispatch({
    kernel: { file: 'cast_f16.wgsl' },
    buffers: [out, x],
    uniforms: CAST_F16_PARAMS.pack({ n: x.size }),
    workgroups: gpu.grid1d(words, 256),
  });
  return out;
}

/** Relative error bound of an f16-operand, f32-accumulated dot product of length K (vs sum |a b|). */
export function f16DotErrorBound(K: number): number {
  const u16 = 2 ** -11; // unit roundoff of f16
  const u32 = 2 ** -24;
  // Each operand rounded once (|da| <= u16 |a|): the product is off by <= (2 u16 + u16^2) |a b|;
  // K f32 additions add <= K u32 of the running sum of |a b| (first order).
  return 2 * u16 + u16 * u16 + K * u32;
}
