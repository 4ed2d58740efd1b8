/** Parameter initialisation in native memory (native/compute/ops_random.cpp). */
import { checkFillBlocks, checkFillMany, checkRngState, type FillBlock } from '../../kernels/random.js';
import type { NativeDevice, NativeTensor } from '../../native/device.js';

/**
 * A tensor holding Rng.uniforms(numel(shape), scale) as drawn from generator state `rngState`
 * (Rng.skip's return), bit for bit, without building the values in JS and uploading them.
 */
export function uniformFill(dev: NativeDevice, shape: readonly number[], rngState: number, scale: number): NativeTensor {
  checkRngState('uniformFill', rngState);
  const t = dev.empty(shape);
  if (t.size > 0) dev.enqueue('uniformFill', [t], { n: t.size, state: rngState, scale });
  return t;
}

/** uniformFill's values written into existing tensors (src/kernels/random.ts: uniformFillMany). */
export function uniformFillMany(
  dev: NativeDevice,
  targets: readonly NativeTensor[],
  states: readonly number[],
  scales: readonly number[],
): void {
  checkFillMany(targets, states, scales);
  targets.forEach((t, i) => {
    if (t.size > 0) dev.enqueue('uniformFill', [t], { n: t.size, state: states[i], scale: scales[i] });
  });
}

/** uniformFill's values per equal block of t (src/kernels/random.ts: uniformFillBlocks); null: zeros. */
export function uniformFillBlocks(dev: NativeDevice, t: NativeTensor, blocks: readonly (FillBlock | null)[]): void {
  const block = checkFillBlocks(t.size, blocks);
  if (t.size === 0) return;
  dev.enqueue('uniformFillBlocks', [t], {
    n: block,
    states: blocks.map((b) => b?.state ?? -1),
    scales: blocks.map((b) => b?.scale ?? 0),
    strides: blocks.map((b) => b?.stride ?? 1),
    offsets: blocks.map((b) => b?.offset ?? 0),
  });
}
