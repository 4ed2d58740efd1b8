/**
 * A dense f32 tensor owned by one backend: the only tensor type above src/backend. GpuTensor
 * (src/gpu/tensor.ts) and NativeTensor (src/native/device.ts) have this shape already; the checks
 * at the end of src/backend/webgpu.ts and cpu.ts keep them so.
 */

export interface Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly isDisposed: boolean;
  /** Waits for the work queued before it and copies the values to the host (NCHW, row-major). */
  read(): Promise<Float32Array>;
  /** The same storage with another shape of the same element count; shares this tensor's lifetime. */
  view(shape: readonly number[]): Tensor;
  /** Frees the storage once the work queued on it has run. Idempotent; views do nothing. */
  dispose(): void;
}

/** A tensor handed to a backend it does not belong to (another backend's, or another device's). */
export class ForeignTensorError extends Error {
  override readonly name = 'ForeignTensorError';
}

import { DisposedTensorError } from '../util/disposed.js';

/** A tensor used after its dispose() (by an op, read, view, write, copy or window; util/disposed.ts). */
export { DisposedError, DisposedTensorError } from '../util/disposed.js';

/**
 * Refuses a disposed tensor before an op runs: ops allocate their outputs first, and an output
 * made before the input's own check threw was dropped undisposed (a leak, src/util/leaks.ts).
 */
export function assertLive(t: Tensor, what: string): void {
  if (t.isDisposed) throw new DisposedTensorError(`${what}: tensor [${t.shape.join(', ')}] used after dispose()`);
}

/** Element count of a shape (the dimensions must be non-negative integers): the devices' own. */
export { numel } from '../gpu/tensor.js';
