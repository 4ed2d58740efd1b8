/**
 * Storage-buffer pool. Buffers are bucketed by size so a released buffer serves the next request of
 * similar size without a new allocation. Reuse within one unsubmitted command encoder is safe: WebGPU
 * orders dispatches on the queue and inserts the hazards' barriers itself.
 */

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

const SMALL_LIMIT_BYTES = 64 * 1024;

/** Power-of-two buckets up to 64 KiB, then 64 KiB steps (bounds waste at large sizes). */
export function bucketBytes(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= SMALL_LIMIT_BYTES) return 2 ** Math.ceil(Math.log2(b));
  return Math.ceil(b / SMALL_LIMIT_BYTES) * SMALL_LIMIT_BYTES;
}

export interface PoolStats {
  bytesInUse: number;
  bytesAllocated: number;
  buffersInUse: number;
  buffersFree: number;
  peakBytesInUse: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers handed out, with their bucket size (GPUBuffer.size is a native getter, slower to ask). */
  private readonly inUse = new Map<GPUBuffer, number>();
  private bytesInUse = 0;
  private bytesAllocated = 0;
  private peakBytesInUse = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferBytes: number,
  ) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = bucketBytes(bytes);
    if (size > this.maxBufferBytes) {
      throw new RangeError(
        `buffer of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize (${this.maxBufferBytes} bytes); use a smaller batch or shape`,
      );
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.bytesAllocated += size;
    }
    this.inUse.set(buf, size);
    this.bytesInUse += size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.bytesInUse);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.inUse.get(buf);
    if (size === undefined) throw new Error('buffer released twice or not from this pool');
    this.inUse.delete(buf);
    this.bytesInUse -= size;
    const list = this.free.get(size);
    if (list) list.push(buf);
    else this.free.set(size, [buf]);
  }

  /** Destroys the free buffers (returns their memory to the driver); in-use buffers are untouched. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.bytesAllocated -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
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
