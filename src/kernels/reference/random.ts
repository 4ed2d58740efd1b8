/** Reference of random_common.wgsl's fills: Rng.uniforms' values from a given generator state. */
import { Rng } from '../../util/rng.js';

/** The n = numel(shape) values Rng.uniforms(n, scale) draws from generator state `rngState`. */
export function uniformFillCpu(shape: readonly number[], rngState: number, scale: number): Float32Array {
  return Rng.fromState(rngState).uniforms(
    shape.reduce((a, b) => a * b, 1),
    scale,
  );
}
