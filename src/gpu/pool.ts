/**
 * Storage-buffer pool. Buffers are bucketed by size so a released buffer serves the next request of
 * similar size without a new allocation. Reuse within one unsubmitted command encoder is safe: WebGPU
 * orders dispatches on the queue and inserts the hazards' barriers itself.
 *
 * Every allocation (the pool's and the Gpu's staging and uniform buffers, through createBuffer) runs
 * in an out-of-memory error scope: Dawn reports a failed allocation only there (or as an uncaptured
 * error), handing back an invalid buffer whose every use is dropped. takeRefusal() collects the
 * outcome; a refused buffer is never pooled again.
 */
import { GpuOutOfMemoryError } from './errors.js';

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

const SMALL_LIMIT_BYTES = 64 * 1024;

/**
 * Power-of-two buckets up to 64 KiB, then eight steps per octave of at least 64 KiB each: at most
 * 12.5 % waste from 512 KiB up (below, steps of 64 KiB: up to 2x just above 64 KiB, where the bytes
 * are few), and tensors of nearly the same size share buffers. Stacked scoring groups hold
 * tensors whose sizes follow each group's cells: in steps of 64 KiB two groups shared almost none,
 * and the pool held both groups' buffers.
 */
export function bucketBytes(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= SMALL_LIMIT_BYTES) return 2 ** Math.ceil(Math.log2(b));
  const step = Math.max(SMALL_LIMIT_BYTES, 2 ** (Math.floor(Math.log2(b - 1)) - 3));
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  bytesInUse: number;
  bytesAllocated: number;
  buffersInUse: number;
  buffersFree: number;
  peakBytesInUse: number;
}

/** An allocation the device refused: what it asked for and Dawn's message. */
export interface RefusedAllocation {
  bytes: number;
  message: string;
}

export class BufferPool {
  /** Buffers whose allocation the device refused: destroyed, not pooled, when they come back. */
  private readonly refusedBuffers = new WeakSet<GPUBuffer>();
  /** Out-of-memory scopes of recent allocations, not yet settled. */
  private readonly checks = new Set<Promise<void>>();
  /** The largest refusal since the last takeRefusal(). */
  private refusal: RefusedAllocation | null = null;
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers handed out, with their bucket size (GPUBuffer.size is a native getter, slower to ask). */
  private readonly inUse = new Map<GPUBuffer, number>();
  private bytesInUse = 0;
  private bytesAllocated = 0;
  private peakBytesInUse = 0;
  /** Advanced by each trim: a buffer's last epoch tells whether it was handed out since the last trim. */
  private epoch = 0;
  private readonly lastEpoch = new WeakMap<GPUBuffer, number>();

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferBytes: number,
  ) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    let size = bucketBytes(bytes);
    // A bucket past the binding limit for a size within it: the size itself (not pooled with others).
    if (size > this.maxBufferBytes && bytes <= this.maxBufferBytes) size = Math.ceil(bytes / 4) * 4;
    if (size > this.maxBufferBytes) {
      throw new RangeError(
        `buffer of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize (${this.maxBufferBytes} bytes); use a smaller batch or shape`,
      );
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.bytesAllocated += size;
    }
    this.inUse.set(buf, size);
    this.lastEpoch.set(buf, this.epoch);
    this.bytesInUse += size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.bytesInUse);
    return buf;
  }

  /**
   * device.createBuffer in an out-of-memory scope (see the file comment). With mappedAtCreation a
   * failed allocation throws at once (WebGPU's RangeError): thrown as GpuOutOfMemoryError, and
   * reported by takeRefusal() too.
   */
  createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    let buf: GPUBuffer;
    try {
      buf = device.createBuffer(desc);
    } catch (e) {
      device.popErrorScope().catch(() => null);
      if (!(desc.mappedAtCreation && e instanceof RangeError)) throw e;
      this.noteRefusal(desc.size, e.message);
      throw new GpuOutOfMemoryError(desc.size, e.message);
    }
    // A lost device rejects its scopes: that is reported by the loss, not here.
    const check: Promise<void> = device.popErrorScope().then(
      (err) => {
        this.checks.delete(check);
        if (!err) return;
        this.noteRefusal(desc.size, err.message);
        this.refuse(buf);
      },
      () => void this.checks.delete(check),
    );
    this.checks.add(check);
    return buf;
  }

  /** The largest refusal is the one reported: the allocation that wanted the memory, not a small one after it. */
  private noteRefusal(bytes: number, message: string): void {
    if (!this.refusal || bytes > this.refusal.bytes) this.refusal = { bytes, message };
  }

  /** The largest allocation refused since the last call (after every pending check has settled), or null. */
  async takeRefusal(): Promise<RefusedAllocation | null> {
    while (this.checks.size) await Promise.all([...this.checks]);
    const r = this.refusal;
    this.refusal = null;
    return r;
  }

  /** True for a buffer whose allocation the device refused (every use of it is invalid). */
  isRefused(buf: GPUBuffer): boolean {
    return this.refusedBuffers.has(buf);
  }

  /** A refused buffer: out of the free lists at once, destroyed when it comes back if in use. */
  private refuse(buf: GPUBuffer): void {
    this.refusedBuffers.add(buf);
    for (const [size, list] of this.free) {
      const i = list.indexOf(buf);
      if (i < 0) continue;
      list.splice(i, 1);
      this.bytesAllocated -= size;
      buf.destroy();
    }
  }

  release(buf: GPUBuffer): void {
    const size = this.inUse.get(buf);
    if (size === undefined) throw new Error('buffer released twice or not from this pool');
    this.inUse.delete(buf);
    this.bytesInUse -= size;
    if (this.refusedBuffers.has(buf)) {
      this.bytesAllocated -= size;
      buf.destroy();
      return;
    }
    const list = this.free.get(size);
    if (list) list.push(buf);
    else this.free.set(size, [buf]);
  }

  /**
   * Destroys the free buffers (returns their memory to the driver); in-use buffers are untouched.
   * keepRecent: only those not handed out since the last trim (work like the last keeps its buffers).
   */
  trim(opts: { keepRecent?: boolean } = {}): void {
    for (const [size, list] of this.free) {
      const kept: GPUBuffer[] = [];
      for (const b of list) {
        if (opts.keepRecent && this.lastEpoch.get(b) === this.epoch) {
          kept.push(b);
          continue;
        }
        this.bytesAllocated -= size;
        b.destroy();
      }
      if (kept.length) this.free.set(size, kept);
      else this.free.delete(size);
    }
    this.epoch++;
  }

  /** Bytes of free (pooled, idle) buffers. */
  get freeBytes(): number {
    return this.bytesAllocated - this.bytesInUse;
  }

  resetPeak(): void {
    this.peakBytesInUse = this.bytesInUse;
  }

  stats(): PoolStats {
    let buffersFree = 0;
    for (const l of this.free.values()) buffersFree += l.length;
    return {
      bytesInUse: this.bytesInUse,
      bytesAllocated: this.bytesAllocated,
      buffersInUse: this.inUse.size,
      buffersFree,
      peakBytesInUse: this.peakBytesInUse,
    };
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.inUse.keys()) b.destroy();
    this.inUse.clear();
    this.bytesInUse = 0;
    this.bytesAllocated = 0;
  }
}
