/** Parameter initialisation in native memory (native/compute/ops_random.cpp). */
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/**
 * A tensor holding Rng.uniforms(numel(shape), scale) as drawn from generator state `rngState`
 * (Rng.skip's return), bit for bit, without building the values in JS and uploading them.
 */
export function uniformTensor(dev: NativeDevice, shape: readonly number[], rngState: number, scale: number): NativeTensor {
  if (!Number.isInteger(rngState) || rngState < 0 || rngState > 0xffffffff) {
    throw new RangeError(`uniformTensor: generator state must be a uint32, got ${rngState}`);
  }
  const t = dev.empty(shape);
  if (t.size > 0) dev.enqueue('uniformFill', [t], { n: t.size, state: rngState, scale });
  return t;
}
