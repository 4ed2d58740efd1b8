/**
 * NativeDevice: the CPU compute backend's device. Mirrors Gpu's execution model: tensors stay in
 * (pooled, native) memory between ops; ops are enqueued and return their outputs at once, run in
 * order on one worker thread (the OpenMP master of `threads` threads, shared with oneDNN), and
 * read() / sync() wait for everything queued before them. An op that fails on the worker surfaces
 * as a NativeComputeError at the next read() or sync(), naming the op. Shapes live here, on the
 * JS side; the addon sees element counts and named parameters only.
 */
import { checkView, checkWindow, numel } from '../gpu/tensor.js';
import { DisposedError, DisposedTensorError } from '../util/disposed.js';
import { LeakTracker } from '../util/leaks.js';
import { nativeBuildCommand, NativeUnavailableError } from './binding.js';
import {
  loadComputeAddon,
  NATIVE_OP_NAMES,
  type NativeDeviceStats,
  type NativeOpName,
  type NativeOpParams,
  type NativeProfile,
  type RawComputeDevice,
} from './compute.js';

export interface NativeDeviceOptions {
  /** Threads for oneDNN and the hand-written loops (default: every core this process may use). */
  threads?: number;
  /**
   * Convolution algorithm. 'auto' (default): Winograd F(4x4, 3x3) for the forward and data-gradient
   * passes of dense 3x3 stride-1 convolutions with >= 32 channels in and out and a batch >= 16,
   * where it was measured faster (NB201 at batch 64: 1.5-1.9x at 32 channels / 16 px and 64 / 8 px),
   * direct kernels elsewhere; Winograd's rounding errors are ~5x larger (still ~2e-6 of the
   * output's range). 'direct': direct kernels only, the closest to the f64 references.
   */
  convAlgorithm?: 'direct' | 'auto';
}

/** A failure inside a queued native op, reported by the next read() or sync(). */
export class NativeComputeError extends Error {
  override readonly name = 'NativeComputeError';
}

/** The device used after destroy() (a backend's dispose()). A tensor's own dispose(): DisposedTensorError. */
export class NativeDisposedError extends DisposedError {
  override readonly name: string = 'NativeDisposedError';
}

/** True where two tensors share one native buffer (a tensor and its windows). */
export function sameStorage(a: NativeTensor, b: NativeTensor): boolean {
  return a.handle === b.handle;
}

/** A dense f32 array in native memory (NCHW / row-major, as GpuTensor). Call dispose() when done. */
export class NativeTensor {
  private disposed = false;
  readonly size: number;

  constructor(
    readonly device: NativeDevice,
    private readonly id: number,
    readonly shape: readonly number[],
  ) {
    this.size = numel(shape);
  }

  /** The addon's handle; throws after dispose(). */
  get handle(): number {
    if (this.isDisposed) throw new DisposedTensorError(`native tensor [${this.shape.join('x')}] used after dispose()`);
    return this.id;
  }

  get bytes(): number {
    return this.size * 4;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  read(): Promise<Float32Array> {
    return this.device.read(this);
  }

  /** The same memory with another shape of the same element count (no copy); shares this tensor's lifetime. */
  view(shape: readonly number[]): NativeTensor {
    checkView(this, shape);
    return new NativeTensorView(this, shape);
  }

  /**
   * A non-owning tensor on this tensor's first numel(shape) elements (a window on a reused arena,
   * as the batched proxies cut them). Shares this tensor's lifetime; its dispose() does nothing.
   */
  window(shape: readonly number[]): NativeTensor {
    checkWindow(this, shape);
    return new NativeTensorView(this, shape);
  }

  /** Frees the memory once the work queued on it has run. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.release(this, this.id);
  }
}

class NativeTensorView extends NativeTensor {
  constructor(
    private readonly base: NativeTensor,
    shape: readonly number[],
  ) {
    super(base.device, base.handle, shape);
  }
  override get handle(): number {
    return this.base.handle;
  }
  override get isDisposed(): boolean {
    return this.base.isDisposed;
  }
  /** Views and windows do not own their memory. */
  override dispose(): void {}
}

export class NativeDevice {
  readonly kind = 'cpu' as const;
  private destroyed = false;
  /**
   * Releases the handle of a tensor garbage-collected without dispose() (src/util/leaks.ts); queued
   * commands hold their own references to its memory.
   */
  private readonly leaks = new LeakTracker<number>('cpu', (id) => {
    if (this.destroyed) return false;
    this.raw.release(id);
    return true;
  });

  /** Op name -> index in the addon's ops() (enqueuePacked names ops by index). */
  private readonly opIndex: Map<string, number>;
  /** Reused for every enqueue: the addon reads it before enqueuePacked returns. */
  private packed: Float64Array = new Float64Array(256);

  private constructor(
    private readonly raw: RawComputeDevice,
    readonly convAlgorithm: 'direct' | 'auto',
    ops: readonly string[],
  ) {
    this.opIndex = new Map(ops.map((op, i) => [op, i]));
  }

  /** Opens a device; throws NativeUnavailableError (with fixes) when the addon is missing or stale. */
  static create(opts: NativeDeviceOptions = {}): NativeDevice {
    const { ComputeDevice, availableCores } = loadComputeAddon();
    const threads = opts.threads ?? Math.max(1, availableCores);
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
      throw new RangeError(`NativeDevice: threads must be an integer in 1..1024, got ${threads}`);
    }
    const convAlgorithm = opts.convAlgorithm ?? 'auto';
    if (convAlgorithm !== 'direct' && convAlgorithm !== 'auto') {
      throw new RangeError(`NativeDevice: convAlgorithm must be 'direct' or 'auto', got '${String(convAlgorithm)}'`);
    }
    const raw = new ComputeDevice({ threads, convAlgorithm });
    const ops = raw.ops();
    const have = new Set(ops);
    const missing = NATIVE_OP_NAMES.filter((op) => !have.has(op));
    if (missing.length || typeof raw.enqueuePacked !== 'function') {
      raw.destroy();
      const what = missing.length ? `the native ops ${missing.join(', ')}` : 'enqueuePacked';
      throw new NativeUnavailableError(`the addon lacks ${what}: rebuild it with ${nativeBuildCommand()}`);
    }
    return new NativeDevice(raw, convAlgorithm, ops);
  }

  get threads(): number {
    return this.raw.threads;
  }

  get name(): string {
    return `native CPU (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  private live(): void {
    if (this.destroyed) throw new NativeDisposedError('native device used after destroy()');
  }

  private wrap(id: number, shape: readonly number[]): NativeTensor {
    const t = new NativeTensor(this, id, shape);
    this.leaks.track(t, id, shape);
    return t;
  }

  // ---- tensors -------------------------------------------------------------------------------

  /** An uninitialised tensor. */
  empty(shape: readonly number[], _label?: string): NativeTensor {
    this.live();
    return this.wrap(this.raw.alloc(numel(shape)), shape);
  }

  zeros(shape: readonly number[]): NativeTensor {
    const t = this.empty(shape);
    this.enqueue('fill', [t], { n: t.size, value: 0 });
    return t;
  }

  upload(data: Float32Array | ArrayLike<number>, shape: readonly number[] = [data.length]): NativeTensor {
    this.live();
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== numel(shape)) {
      throw new RangeError(`upload: ${arr.length} values do not fill shape [${shape.join(', ')}]`);
    }
    return this.wrap(this.raw.upload(arr), shape);
  }

  /** Overwrites a tensor's contents, after the work queued before (which may still read it). */
  write(t: NativeTensor, data: Float32Array, offsetElems = 0): void {
    this.live();
    if (offsetElems + data.length > t.size) {
      throw new RangeError(`write: ${data.length} values at offset ${offsetElems} exceed the tensor's ${t.size} elements`);
    }
    this.raw.write(t.handle, data, offsetElems);
  }

  async read(t: NativeTensor): Promise<Float32Array> {
    this.live();
    return this.raw.read(t.handle, 0, t.size).catch(rethrow);
  }

  copy(src: NativeTensor, dst: NativeTensor, elems = src.size, srcOffsetElems = 0, dstOffsetElems = 0): void {
    if (elems === 0) return;
    if (srcOffsetElems + elems > src.size || dstOffsetElems + elems > dst.size) {
      throw new RangeError(`copy: ${elems} elements from offset ${srcOffsetElems} of ${src.size} to offset ${dstOffsetElems} of ${dst.size} do not fit`);
    }
    this.enqueue('copy', [src, dst], { elems, srcOffset: srcOffsetElems, dstOffset: dstOffsetElems });
  }

  /** Nothing to submit: commands start as they are enqueued (kept for Gpu parity). */
  flush(): void {}

  /** Resolves once everything queued has run; rejects with the first failure since the last read/sync. */
  async sync(): Promise<void> {
    this.live();
    return this.raw.sync().catch(rethrow);
  }

  /**
   * Queues one op on the worker. Sizes are checked in the addon (a RangeError naming the op). The
   * handles and parameters travel packed in one Float64Array: the addon walking a JS object's
   * properties cost ~10 us an op, as much as a small op runs.
   */
  enqueue(op: NativeOpName, tensors: readonly NativeTensor[], params: NativeOpParams = {}): void {
    this.live();
    const index = this.opIndex.get(op);
    if (index === undefined) {
      this.raw.enqueue(op, tensors.map((t) => t.handle), params); // the addon names the unknown op
      return;
    }
    // No closures in here: under tsx (how the CLI runs) every function created per call also pays
    // a keepNames __name() call, ~1.3 us an op, as much as the rest of the packing.
    let buf: Float64Array = this.packed;
    let n = 0;
    if (n + 1 + tensors.length > buf.length) buf = this.growPacked(n, 1 + tensors.length);
    buf[n++] = tensors.length;
    for (const t of tensors) buf[n++] = t.handle;
    let keys = '';
    for (const k in params) {
      const v = params[k];
      if (v === undefined || v === null) continue;
      if (typeof v === 'number' || typeof v === 'boolean') {
        if (n + 1 > buf.length) buf = this.growPacked(n, 1);
        buf[n++] = typeof v === 'number' ? v : v ? 1 : 0;
        keys += k + ',';
      } else if (Array.isArray(v) || ArrayBuffer.isView(v)) {
        const a = v as ArrayLike<unknown>;
        if (n + 1 + a.length > buf.length) buf = this.growPacked(n, 1 + a.length);
        buf[n++] = a.length;
        for (let i = 0; i < a.length; i++) {
          const e = a[i];
          if (typeof e !== 'number') throw new TypeError(`native op ${op}: parameter ${k} must hold numbers`);
          buf[n++] = e;
        }
        keys += '[' + k + ',';
      } else {
        throw new TypeError(`native op ${op}: parameter ${k} must be a number, boolean or number array`);
      }
    }
    this.raw.enqueuePacked(index, buf, n, keys);
  }

  /** The packing buffer with room for `more` values after its first `used`, kept for the next ops. */
  private growPacked(used: number, more: number): Float64Array {
    const grown = new Float64Array(Math.max(2 * this.packed.length, used + more));
    grown.set(this.packed.subarray(0, used));
    return (this.packed = grown);
  }

  /** @internal NativeTensor.dispose() */
  release(t: NativeTensor, id: number): void {
    this.leaks.untrack(t);
    if (!this.destroyed) this.raw.release(id);
  }

  /** Tensors garbage-collected without dispose() (their handles were released). */
  get leakedTensors(): number {
    return this.leaks.leaked;
  }

  stats(): NativeDeviceStats {
    return this.raw.stats();
  }

  resetPeak(): void {
    this.raw.resetPeak();
  }

  /** Worker milliseconds per op (and idle) since the last profile(true): what a workload's time goes to. */
  profile(reset = false): NativeProfile {
    return this.raw.profile(reset);
  }

  /** Returns the idle pool blocks to the system. */
  trim(): void {
    this.raw.trim();
  }

  /** Waits for queued work, stops the worker and frees every tensor. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.raw.destroy();
  }
}

function rethrow(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  throw new NativeComputeError(msg);
}
