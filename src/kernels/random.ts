/**
 * Parameter initialisation where the tensor lives (random.wgsl): Rng.uniforms' values from a
 * generator state, bit for bit, with no JS loop and no upload. Scales whose values could leave the
 * normal f32 range (none a network's init uses) are drawn on the host and uploaded instead.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { uniformFillCpu } from './reference/random.js';

export { uniformFillCpu };

const WG = 256;
export const RANDOM_PARAMS = defineUniforms('random.wgsl', 'Params', {
  n: 'u32',
  state: 'u32',
  mLo: 'u32',
  mHi: 'u32',
  exp: 'i32',
  _a: 'u32',
  _b: 'u32',
  _c: 'u32',
});

/** scale as M 2^exp (M its 53-bit significand), where every value stays a normal f32; else null. */
function splitScale(scale: number): { mLo: number; mHi: number; exp: number } | null {
  // |values| lie in [2^-31 scale, scale]: normal f32 from 2^-126 up to below 2^127 (rounding included).
  if (!(scale >= 2 ** -94 && scale <= 2 ** 126)) return null;
  const w = new Uint32Array(new Float64Array([scale]).buffer);
  const biased = (w[1] >>> 20) & 0x7ff;
  return { mLo: w[0], mHi: (w[1] & 0xfffff) | 0x100000, exp: biased - 1075 };
}

export function checkRngState(fn: string, rngState: number): void {
  if (!Number.isInteger(rngState) || rngState < 0 || rngState > 0xffffffff) {
    throw new RangeError(`${fn}: generator state must be a uint32, got ${rngState}`);
  }
}

/** A tensor of Rng.uniforms(numel(shape), scale) as drawn from generator state `rngState` (Rng.skip's return). */
export function uniformFill(gpu: Gpu, shape: readonly number[], rngState: number, scale: number): GpuTensor {
  checkRngState('uniformFill', rngState);
  const m = splitScale(scale);
  if (!m) return gpu.upload(uniformFillCpu(shape, rngState, scale), shape);
  const y = gpu.empty(shape);
  if (y.size === 0) return y;
  gpu.dispatch({
    kernel: { file: 'random.wgsl', entry: 'uniform_fill' },
    buffers: [y],
    uniforms: RANDOM_PARAMS.pack({ n: y.size, state: rngState, ...m }),
    workgroups: gpu.grid1d(y.size, WG),
  });
  return y;
}

export const uniformFillOp = defineOp({
  name: 'uniformFill',
  summary: "Rng.uniforms' values from a generator state, bit for bit (parameter initialisation)",
  kernels: [{ file: 'random.wgsl', entries: ['uniform_fill'], uniforms: RANDOM_PARAMS }],
  cost: ({ n }: { n: number }) => ({ flops: 20 * n, bytes: 4 * n }),
  reference: uniformFillCpu,
  webgpu: uniformFill,
});
