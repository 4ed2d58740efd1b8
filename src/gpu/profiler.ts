/**
 * Per-kernel GPU time: while a profile runs, every dispatch is recorded in its own compute pass
 * with a timestamp at its start and end (the way tfjs-backend-webgpu profiles), and the times are
 * summed per kernel as each submission's timestamps come back, so memory stays bounded on a run of
 * any length. Profiling adds a pass per dispatch, so a profiled run is somewhat slower than a plain
 * one; what it shows is where the device's time goes and how host recording compares with it.
 */

/** One kernel's share of a profiled run. */
export interface KernelTime {
  /** 'file:entry' (generated programs by their registered name). */
  kernel: string;
  /** Dispatches; for COPY_COMMAND, buffer copies (encoder commands: they also end the open pass). */
  dispatches: number;
  /** Sum of the dispatches' GPU time (timestamps), 0 without timestamp-query. */
  gpuMs: number;
  /** Host time inside Gpu.dispatch for this kernel (bind group, pass commands). */
  hostMs: number;
}

export interface DispatchProfile {
  /** 'timestamp-query' when the device timed each dispatch; 'none' when only counts and host time are known. */
  source: 'timestamp-query' | 'none';
  kernels: KernelTime[];
}

/** A profiled stretch of a Gpu's work (Gpu.startProfile .. stopProfile). */
export interface GpuProfile extends DispatchProfile {
  /** Wall time from start to stop, including the wait for the last readback. */
  wallMs: number;
  dispatches: number;
  /** Command buffers submitted, and times the host waited for the GPU (reads, syncs). */
  submits: number;
  hostWaits: number;
}

/** The row buffer-to-buffer copies are counted under (no GPU time: they run outside compute passes). */
export const COPY_COMMAND = 'copyBufferToBuffer';

/** Queries per query set: the WebGPU limit on a set's count (two per dispatch). */
export const MAX_QUERIES = 4096;

/** One query set's dispatches, resolved into a readback buffer once full or at submit. */
export interface TimestampChunk {
  querySet: GPUQuerySet;
  kernels: string[];
  resolve?: GPUBuffer;
  readback?: GPUBuffer;
}

export class DispatchProfiler {
  private readonly totals = new Map<string, KernelTime>();
  private open: TimestampChunk | null = null;
  /** Readbacks in flight: each adds its chunk's times when mapped, then leaves (a run of any length holds a few). */
  private readonly pending = new Set<Promise<void>>();

  /** Readbacks not yet read (for tests). */
  get readbacksInFlight(): number {
    return this.pending.size;
  }
  private failure: Error | null = null;

  /** dispatchesPerSet: at most MAX_QUERIES / 2 (smaller in tests, to cross set boundaries). */
  constructor(
    private readonly device: GPUDevice,
    readonly timestamps: boolean,
    private readonly dispatchesPerSet = MAX_QUERIES / 2,
  ) {
    if (!(dispatchesPerSet >= 1 && dispatchesPerSet <= MAX_QUERIES / 2)) {
      throw new RangeError(`profiler: dispatchesPerSet must be 1..${MAX_QUERIES / 2}, got ${dispatchesPerSet}`);
    }
  }

  /** True when the open query set is full: the Gpu resolves it (resolveInto) before the next dispatch. */
  get full(): boolean {
    return this.open !== null && this.open.kernels.length >= this.dispatchesPerSet;
  }

  /** The pass descriptor for the next dispatch of `kernel` (its timestamps, when the device has them). */
  passFor(kernel: string): GPUComputePassDescriptor {
    this.total(kernel).dispatches++;
    if (!this.timestamps) return {};
    this.open ??= {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 * this.dispatchesPerSet }),
      kernels: [],
    };
    const i = this.open.kernels.length;
    this.open.kernels.push(kernel);
    return {
      timestampWrites: { querySet: this.open.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    };
  }

  addHostMs(kernel: string, ms: number): void {
    this.total(kernel).hostMs += ms;
  }

  /** An encoder command outside any pass (a buffer copy): counted with its host time, not timed on the GPU. */
  countCommand(name: string, hostMs: number): void {
    const t = this.total(name);
    t.dispatches++;
    t.hostMs += hostMs;
  }

  /** Records the open set's resolve and readback copy into `enc` (an encoder with no open pass). */
  resolveInto(enc: GPUCommandEncoder): TimestampChunk | null {
    const c = this.open;
    if (!c || c.kernels.length === 0) return null;
    this.open = null;
    const bytes = c.kernels.length * 16;
    c.resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    c.readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.resolveQuerySet(c.querySet, 0, 2 * c.kernels.length, c.resolve, 0);
    enc.copyBufferToBuffer(c.resolve, 0, c.readback, 0, bytes);
    return c;
  }

  /** After the encoder holding `c`'s resolve is submitted: read its times back in the background. */
  collect(c: TimestampChunk): void {
    const done: Promise<void> = c.readback!.mapAsync(GPUMapMode.READ).then(
      () => {
        const t = new BigInt64Array(c.readback!.getMappedRange());
        c.kernels.forEach((k, i) => {
          const ns = Number(t[2 * i + 1] - t[2 * i]);
          // A driver may report 0 or a reversed pair for a pass too short to resolve; count it as 0.
          if (ns > 0) this.total(k).gpuMs += ns / 1e6;
        });
        this.release(c, done);
      },
      (e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
        this.release(c, done);
      },
    );
    this.pending.add(done);
  }

  /** Waits for every readback (the caller has submitted everything) and returns the totals by GPU time. */
  async finish(): Promise<DispatchProfile> {
    await Promise.all(this.pending);
    this.open?.querySet.destroy();
    this.open = null;
    if (this.failure) throw this.failure;
    const kernels = [...this.totals.values()].sort((a, b) => b.gpuMs - a.gpuMs || b.hostMs - a.hostMs);
    return { source: this.timestamps ? 'timestamp-query' : 'none', kernels };
  }

  private release(c: TimestampChunk, done: Promise<void>): void {
    this.pending.delete(done);
    c.readback?.destroy();
    c.resolve?.destroy();
    c.querySet.destroy();
  }

  private total(kernel: string): KernelTime {
    let t = this.totals.get(kernel);
    if (!t) {
      t = { kernel, dispatches: 0, gpuMs: 0, hostMs: 0 };
      this.totals.set(kernel, t);
    }
    return t;
  }
}
