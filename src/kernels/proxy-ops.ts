/** Element-wise helpers for the proxies (proxy_ops.wgsl) and their CPU references. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';

const WG = 256;

/** dst += weight * |src| in place (same element count). */
export function accumulateAbs(gpu: Gpu, dst: GpuTensor, src: GpuTensor, weight: number): void {
  if (dst.size !== src.size) throw new ShapeError(`accumulateAbs: ${dst.size} vs ${src.size} elements`);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'accumulate_abs' },
    buffers: [dst, src],
    uniforms: packUniforms([dst.size, { f32: weight }, 0, 0]),
    workgroups: gpu.grid1d(dst.size, WG),
  });
}

/** +1 where x > 0, else -1. */
export function signCodes(gpu: Gpu, x: GpuTensor): GpuTensor {
  const out = gpu.empty(x.shape);
  gpu.dispatch({
    kernel: { file: 'proxy_ops.wgsl', entry: 'sign_codes' },
    buffers: [out, x],
    uniforms: packUniforms([x.size, { f32: 0 }, 0, 0]),
    workgroups: gpu.grid1d(x.size, WG),
  });
  return out;
}

export function accumulateAbsCpu(dst: Float32Array, src: ArrayLike<number>, weight: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] += weight * Math.abs(src[i]);
}

export function signCodesCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => (v > 0 ? 1 : -1));
}
