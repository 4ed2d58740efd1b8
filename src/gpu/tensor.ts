/** A dense f32 array on the GPU, backed by a pooled storage buffer. Call dispose() when done. */
import { DisposedTensorError } from '../util/disposed.js';
import { ShapeError } from './errors.js';
import type { Gpu } from './gpu.js';

/** Element count of a shape (the dimensions must be non-negative integers); the native device's too. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** The check of view(), GpuTensor's and NativeTensor's: another shape of the same element count. */
export function checkView(t: { readonly shape: readonly number[]; readonly size: number }, shape: readonly number[]): void {
  if (numel(shape) !== t.size) {
    throw new ShapeError(`cannot view [${t.shape.join('x')}] as [${shape.join('x')}]: element counts differ`);
  }
}

/** The check of window(), GpuTensor's and NativeTensor's: a shape that fits in the tensor's elements. */
export function checkWindow(t: { readonly size: number }, shape: readonly number[]): void {
  if (numel(shape) > t.size) throw new ShapeError(`window [${shape.join('x')}] exceeds its tensor of ${t.size} elements`);
}

/** True where two tensors share one buffer (a tensor and its windows): WGSL cannot bind it twice with a write. */
export function sameBuffer(a: GpuTensor, b: GpuTensor): boolean {
  return a.buffer === b.buffer;
}

export class GpuTensor {
  private disposed = false;
  readonly size: number;

  constructor(
    readonly gpu: Gpu,
    private buf: GPUBuffer,
    readonly shape: readonly number[],
  ) {
    this.size = numel(shape);
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new DisposedTensorError(`tensor [${this.shape.join('x')}] used after dispose()`);
    return this.buf;
  }

  get bytes(): number {
    return this.size * 4;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  read(): Promise<Float32Array> {
    return this.gpu.read(this);
  }

  /** Same buffer seen with another shape of the same element count (no copy). Shares lifetime with this. */
  view(shape: readonly number[]): GpuTensor {
    checkView(this, shape);
    return new GpuTensorView(this, shape);
  }

  /**
   * A non-owning tensor on this tensor's first numel(shape) elements (a window on a reused arena,
   * as the batched proxies cut them). Shares this tensor's lifetime; its dispose() does nothing.
   */
  window(shape: readonly number[]): GpuTensor {
    checkWindow(this, shape);
    return new GpuTensorView(this, shape);
  }

  /** Returns the buffer to the pool (its reuse is ordered after the work queued on it). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.gpu.releaseTensor(this, this.buf);
  }
}

class GpuTensorView extends GpuTensor {
  constructor(
    private readonly base: GpuTensor,
    shape: readonly number[],
  ) {
    super(base.gpu, base.buffer, shape);
  }
  override get buffer(): GPUBuffer {
    return this.base.buffer;
  }
  override get isDisposed(): boolean {
    return this.base.isDisposed;
  }
  /** Views and windows do not own their buffer. */
  override dispose(): void {}
}

export function assertShape(name: string, t: { shape: readonly number[] }, expected: readonly number[]): void {
  const ok = t.shape.length === expected.length && t.shape.every((d, i) => d === expected[i]);
  if (!ok) throw new ShapeError(`${name}: expected shape [${expected.join(', ')}], got [${t.shape.join(', ')}]`);
}
