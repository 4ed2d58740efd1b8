/**
 * What a stretch of recording asks of Dawn, counted by wrapping Gpu's methods (bench/gpu-host-cost.ts):
 * dispatches by kernel (with their host time, when timed), buffer copies, uploads (Gpu.write) and
 * every queue.writeBuffer (uploads and uniform blocks), reads (each a staging buffer and a mapAsync
 * round trip), syncs and submits, and when the first wait on the GPU came.
 */
import { Gpu } from '../src/gpu/gpu.js';

export interface CountSnapshot {
  dispatches: number;
  copies: number;
  /** Gpu.write calls (uploads of host data; staged ones included). */
  uploads: number;
  /** queue.writeBuffer calls (uploads and uniform blocks). */
  writeBuffers: number;
  /** Round trips: Gpu.readMany calls (Gpu.read before it existed), a staging buffer and a mapAsync each. */
  reads: number;
  syncs: number;
  submits: number;
}

export class GpuCounters {
  /** Dispatches (and host ms, while timeKernels) by 'file:entry'. */
  readonly kernels = new Map<string, { count: number; hostMs: number }>();
  timeKernels = false;
  /** ms (performance.now) and process CPU µs of the first read or sync since markStart(). */
  firstWaitMs = 0;
  firstWaitCpuUs = 0;
  private cpu0 = process.cpuUsage();
  private n: CountSnapshot = { dispatches: 0, copies: 0, uploads: 0, writeBuffers: 0, reads: 0, syncs: 0, submits: 0 };
  private readonly restore: Array<() => void> = [];

  constructor(readonly gpu: Gpu) {}

  snapshot(): CountSnapshot {
    return { ...this.n };
  }

  /** Starts a stretch: the next read or sync marks its first wait. */
  markStart(): void {
    this.firstWaitMs = 0;
    this.cpu0 = process.cpuUsage();
  }

  private markWait(): void {
    if (this.firstWaitMs) return;
    this.firstWaitMs = performance.now();
    const c = process.cpuUsage(this.cpu0);
    this.firstWaitCpuUs = c.user + c.system;
  }

  install(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrappers run with Gpu's `this`
    const self = this;
    const proto = Gpu.prototype;
    const { dispatch, copy, write, read, sync, flush } = proto;
    proto.dispatch = function (this: Gpu, args) {
      const name = `${args.kernel.file}:${args.kernel.entry ?? 'main'}`;
      let k = self.kernels.get(name);
      if (!k) self.kernels.set(name, (k = { count: 0, hostMs: 0 }));
      const before = this.dispatchCount;
      const t0 = self.timeKernels ? performance.now() : 0;
      dispatch.call(this, args);
      if (self.timeKernels) k.hostMs += performance.now() - t0;
      // An empty grid records nothing (Gpu.dispatch returns early).
      if (this.dispatchCount > before) {
        k.count++;
        self.n.dispatches++;
      }
    };
    proto.copy = function (this: Gpu, ...a: Parameters<Gpu['copy']>) {
      if ((a[2] ?? a[0].size) > 0) self.n.copies++;
      return copy.apply(this, a);
    };
    proto.write = function (this: Gpu, ...a: Parameters<Gpu['write']>) {
      self.n.uploads++;
      return write.apply(this, a);
    };
    // A read is a round trip: readMany where the Gpu has it (read() goes through it), else read().
    const many = (proto as unknown as { readMany?: (ts: unknown[]) => Promise<Float32Array[]> }).readMany;
    if (many) {
      (proto as unknown as { readMany: typeof many }).readMany = function (this: Gpu, ts: unknown[]) {
        self.n.reads++;
        self.markWait();
        return many.call(this, ts);
      };
      this.restore.push(() => ((proto as unknown as { readMany: typeof many }).readMany = many));
    } else {
      proto.read = function (this: Gpu, t) {
        self.n.reads++;
        self.markWait();
        return read.call(this, t);
      };
    }
    proto.sync = function (this: Gpu) {
      self.n.syncs++;
      self.markWait();
      return sync.call(this);
    };
    proto.flush = function (this: Gpu) {
      const before = this.submitCount;
      flush.call(this);
      self.n.submits += this.submitCount - before;
    };
    const queue = this.gpu.device.queue;
    const writeBuffer = queue.writeBuffer;
    queue.writeBuffer = function (this: GPUQueue, ...a: Parameters<GPUQueue['writeBuffer']>) {
      self.n.writeBuffers++;
      return writeBuffer.apply(this, a);
    };
    this.restore.push(
      () => Object.assign(proto, { dispatch, copy, write, read, sync, flush }),
      () => (queue.writeBuffer = writeBuffer),
    );
  }

  uninstall(): void {
    for (const r of this.restore.splice(0)) r();
  }
}

/** b - a, field by field. */
export function countsSince(a: CountSnapshot, b: CountSnapshot): CountSnapshot {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof CountSnapshot)[]) out[k] = b[k] - a[k];
  return out;
}
