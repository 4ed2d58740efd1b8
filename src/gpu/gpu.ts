/**
 * The GPU runtime: one Dawn device, a buffer pool, a pipeline cache, and a command encoder that
 * collects dispatches until something needs the results (read, upload, timer, flush). Consecutive
 * dispatches share one open compute pass (see Gpu.computePass for why that is safe).
 *
 * Binding convention for every kernel: group 0, binding 0 = the uniform struct (if the kernel has
 * one), bindings 1..n = the storage buffers in the order given to dispatch().
 */
import { LeakTracker } from '../util/leaks.js';
import type { AdapterReport } from './adapter.js';
import { BlockArena } from './blocks.js';
import { GpuDeviceLostError, GpuDisposedError, GpuOutOfMemoryError, GpuValidationError, KernelCompileError } from './errors.js';
import { BufferPool } from './pool.js';
import { COPY_COMMAND, DispatchProfiler, type GpuProfile, type TimestampChunk } from './profiler.js';
import { loadShaderSource, specializeOverrides } from './shaders.js';
import { GpuTensor, numel } from './tensor.js';
import { noteUnreported } from './unreported.js';

export interface KernelSpec {
  /** File under shaders/, e.g. 'conv2d.wgsl' (or a generated program's registered name). */
  file: string;
  entry?: string;
  /** WGSL override constants; part of the pipeline cache key. */
  constants?: Record<string, number>;
}

export interface DispatchArgs {
  kernel: KernelSpec;
  /** Storage buffers bound at 1..n. */
  buffers: (GpuTensor | GPUBuffer)[];
  /** Uniform struct bytes bound at 0: a UniformBlock's pack() (src/gpu/uniforms.ts). */
  uniforms?: ArrayBuffer | ArrayBufferView;
  workgroups: [number, number?, number?];
}

/** The first submit threshold after a host wait (Gpu.submitThreshold): ~3 ms of host recording. */
export const FIRST_SUBMIT_DISPATCHES = 64;

/** Bytes per uniform block (several dispatches' uniform structs; within maxUniformBufferBindingSize). */
const UNIFORM_BLOCK_BYTES = 64 * 1024;
/**
 * Staged uploads (write() into a buffer the open encoder uses) up to this size share a staging block
 * instead of a mapped buffer each: on Dawn's null backend a slot costs 0.08-0.26x of a buffer of its
 * own from 16 B to 64 KiB (docs/results.md, "Staging blocks"). Larger ones keep their own buffer, so
 * a block wastes at most a quarter of itself where a slot does not fit.
 */
export const STAGED_SLOT_MAX_BYTES = 64 * 1024;
export const STAGING_BLOCK_BYTES = 256 * 1024;

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  check: Promise<KernelCompileError | null>;
  /** Set by dispatch(): work using it was recorded, and is invalid where the pipeline is. */
  dispatched: boolean;
}

/**
 * A spec's constants as written by the caller (key order as given, no sorting): the per-dispatch
 * lookup key. Two orders of the same constants get two aliases of one pipeline (see Gpu.pipeline).
 */
function callKey(file: string, entry: string, consts: Record<string, number> | undefined): string {
  let key = `${file}:${entry}:`;
  for (const k in consts) key += `${k}=${consts[k]},`;
  return key;
}

function isOutOfMemory(e: GPUError): boolean {
  return typeof GPUOutOfMemoryError !== 'undefined' && e instanceof GPUOutOfMemoryError;
}

export class Gpu {
  readonly pool: BufferPool;
  /** Compiled pipelines by canonical key (file, entry, constants sorted by name). */
  private readonly pipelines = new Map<string, CachedPipeline>();
  /** The same pipelines by callKey, so the hot path neither sorts nor joins (cleared with pipelines). */
  private readonly pipelinesByCall = new Map<string, CachedPipeline>();
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  private encoder: GPUCommandEncoder | null = null;
  /** The compute pass consecutive dispatches record into; ended before any encoder-level command. */
  private pass: GPUComputePassEncoder | null = null;
  private passPipeline: GPUComputePipeline | null = null;
  /** Dispatches' uniform structs, packed into blocks written once each (see uniformSlot). */
  private readonly uniforms: BlockArena;
  /** Small staged uploads, packed into copy-source blocks the same way (see write). */
  readonly stagingBlocks: BlockArena;
  private querySet: GPUQuerySet | null = null;
  private timerStartMs = 0;
  private destroyed = false;
  /** Returns the buffer of a tensor garbage-collected without dispose() to the pool (src/util/leaks.ts). */
  private readonly leaks = new LeakTracker<GPUBuffer>('webgpu', (buf) => {
    if (this.destroyed) return false;
    this.pool.release(buf);
    return true;
  });
  /** Set once the device is lost (not by destroy()): every later call throws GpuDeviceLostError. */
  private lostInfo: { reason: string; message: string } | null = null;
  /** The waits in progress (whileAlive), woken when the device is lost, so none can hang. */
  private readonly lostWaiters = new Set<() => void>();
  /**
   * The first error no scope caught (e.g. a write into a buffer whose allocation failed): Dawn
   * would only print it, and the work it concerns was dropped; the next check throws it.
   */
  private uncaptured: GPUError | null = null;
  /** Buffers that work recorded in the open encoder uses (cleared when it is submitted). */
  private pendingBuffers = new Set<GPUBuffer>();
  /** Staging buffers of the open encoder's large uploads, destroyed once it is submitted. */
  private pendingStaging: GPUBuffer[] = [];
  /** Validation outcomes of submitted command buffers, not yet reported (read() and sync() report them). */
  private submitChecks: Array<Promise<GPUError | null>> = [];
  dispatchCount = 0;
  /** Buffer copies recorded (copy()), beside the dispatches: each is an encoder command too. */
  copyCount = 0;
  /**
   * Submit the open encoder (without waiting) once it holds this many dispatches, so the GPU
   * starts on long recordings (a group of networks) while the host records the rest.
   */
  maxDispatchesPerSubmit = 2048;
  /**
   * The open encoder's submit threshold: firstDispatchesPerSubmit after every host wait, doubling
   * per submit up to maxDispatchesPerSubmit. After a wait the GPU is idle, and at ~40 us of host
   * time per dispatch a first chunk of 2048 kept it idle ~90 ms into every scoring group (an
   * H100's cell is GPU-bound: 4 processes gave no more cells/s than one); small chunks first put it
   * to work within ~3 ms, and the larger ones after keep the submits few.
   */
  private firstDispatches = FIRST_SUBMIT_DISPATCHES;
  private submitThreshold = FIRST_SUBMIT_DISPATCHES;
  get firstDispatchesPerSubmit(): number {
    return this.firstDispatches;
  }
  /** Takes effect at once (the open encoder's threshold too) and after every later wait. */
  set firstDispatchesPerSubmit(n: number) {
    this.firstDispatches = n;
    this.submitThreshold = n;
  }
  private encoderDispatches = 0;
  /** Command buffers submitted (each flush with recorded work). */
  submitCount = 0;
  /** Times the host waited for the GPU (read, sync, timer end). */
  hostWaitCount = 0;
  /**
   * Opt-in: kernels with an f16 variant (matmul, conv2d forward) round their operands to f16 and
   * accumulate in f32 unless a call asks otherwise. Only on devices with shader-f16; off by default.
   */
  f16Compute = false;
  /** Adapter limits read on every dispatch, looked up once. */
  private readonly maxWorkgroups: number;
  /** Set between startProfile() and stopProfile(): every dispatch then runs in its own timed pass. */
  private profiler: DispatchProfiler | null = null;
  private profileStart = { ms: 0, dispatches: 0, submits: 0, hostWaits: 0 };
  /** Timestamp chunks resolved in the open encoder, read back once it is submitted. */
  private profileChunks: TimestampChunk[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
  ) {
    this.pool = new BufferPool(device, adapter.limits.maxStorageBufferBindingSize ?? 128 * 1024 * 1024);
    this.maxWorkgroups = adapter.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    const create = (desc: GPUBufferDescriptor) => this.pool.createBuffer(desc);
    this.uniforms = new BlockArena(device, create, {
      blockBytes: UNIFORM_BLOCK_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      alignBytes: adapter.limits.minUniformBufferOffsetAlignment ?? 256,
    });
    // copyBufferToBuffer wants 4-byte offsets; at most 4 blocks (1 MiB) are kept between submits.
    this.stagingBlocks = new BlockArena(device, create, {
      blockBytes: STAGING_BLOCK_BYTES,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      alignBytes: 4,
      maxFree: 4,
    });
    void device.lost.then((l) => {
      if (!this.destroyed) this.lostInfo = { reason: String(l.reason), message: String(l.message ?? '') };
      for (const wake of this.lostWaiters) wake();
      this.lostWaiters.clear();
    });
    device.addEventListener?.('uncapturederror', (ev) => {
      const e = ev as GPUUncapturedErrorEvent;
      e.preventDefault(); // Dawn prints it otherwise (several lines): it is thrown at the next check instead
      this.uncaptured ??= e.error;
    });
  }

  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  get name(): string {
    return this.adapter.description || this.adapter.device || this.adapter.vendor;
  }

  private live(): void {
    if (this.destroyed) throw new GpuDisposedError('GPU context used after destroy()');
    if (this.lostInfo) throw this.lostError();
  }

  private lostError(): GpuDeviceLostError {
    const l = this.lostInfo ?? { reason: 'unknown', message: '' };
    return new GpuDeviceLostError(l.reason, l.message);
  }

  /** True when the device is lost, or is found lost within a tick (a rejection may come just before the loss). */
  private async foundLost(): Promise<boolean> {
    if (!this.lostInfo) await new Promise((r) => setImmediate(r));
    return this.lostInfo !== null;
  }

  /**
   * Waits for `p` (a map, the queue's completion) unless the device is lost first; a rejection that
   * the loss caused is thrown as that loss. So a pending read never hangs on a dead device.
   */
  private async whileAlive<T>(p: Promise<T>, what: 'read' | 'sync' = 'read'): Promise<T> {
    if (this.lostInfo) {
      p.catch(() => {}); // rejected by the loss: said below
      throw this.lostError();
    }
    // A waiter per wait, dropped after it (a reaction on device.lost per read would pile up for hours).
    let wake = () => {};
    const lost = new Promise<null>((resolve) => (wake = () => resolve(null)));
    this.lostWaiters.add(wake);
    let r: { value: T } | { error: unknown } | null;
    try {
      r = await Promise.race([
        p.then(
          (value): { value: T } | { error: unknown } => ({ value }),
          (error: unknown) => ({ error }),
        ),
        lost,
      ]);
    } finally {
      this.lostWaiters.delete(wake);
    }
    if (r === null) {
      if (this.lostInfo) throw this.lostError();
      // Lost through destroy() while waiting: the caller's own doing, the wait goes on (a map is aborted).
      return p.catch((e: unknown) => {
        throw this.disposedWhile(what, e);
      });
    }
    if ('error' in r) {
      // Dawn aborts a pending map with a bare AbortError (no message) when the device is destroyed.
      if (this.destroyed) throw this.disposedWhile(what, r.error);
      if (await this.foundLost()) throw this.lostError();
      throw r.error;
    }
    return r.value;
  }

  /** A wait cut short by destroy() (backend.dispose()), said as such; Dawn's own error is its cause. */
  private disposedWhile(what: 'read' | 'sync', cause: unknown): GpuDisposedError {
    return new GpuDisposedError(`the GPU backend was disposed while a ${what} was pending (its result is lost)`, { cause });
  }

  // ---- tensors -------------------------------------------------------------------------------

  empty(shape: readonly number[], label?: string): GpuTensor {
    this.live();
    const buf = this.pool.acquire(numel(shape) * 4, label);
    const t = new GpuTensor(this, buf, shape);
    this.leaks.track(t, buf, shape);
    return t;
  }

  /**
   * @internal GpuTensor.dispose(): the buffer goes back to the pool at once, as queue order keeps
   * its next use after the work queued on it (write() stages around the open encoder). After
   * destroy() there is nothing to return.
   */
  releaseTensor(t: GpuTensor, buf: GPUBuffer): void {
    this.leaks.untrack(t);
    if (!this.destroyed) this.pool.release(buf);
  }

  /** Tensors garbage-collected without dispose() (their buffers went back to the pool). */
  get leakedTensors(): number {
    return this.leaks.leaked;
  }

  zeros(shape: readonly number[]): GpuTensor {
    return this.upload(new Float32Array(numel(shape)), shape);
  }

  upload(data: Float32Array | ArrayLike<number>, shape: readonly number[] = [data.length]): GpuTensor {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== numel(shape)) {
      throw new RangeError(`upload: ${arr.length} values do not fill shape [${shape.join(', ')}]`);
    }
    const t = this.empty(shape);
    this.write(t, arr);
    return t;
  }

  /**
   * Overwrites a tensor's contents, in order with the recorded work and without submitting it:
   * queue.writeBuffer lands before the open encoder runs, which is right unless that encoder
   * already uses the buffer (a pooled buffer recycled within it); then the data is staged and
   * copied in encoder order. Small uploads share a staging block (one buffer for many, written
   * before the submit: see blocks.ts), large ones get a mapped buffer of their own.
   */
  write(t: GpuTensor, data: Float32Array, offsetElems = 0): void {
    this.live();
    const buf = t.buffer;
    if (data.byteLength === 0) return;
    if (!this.pendingBuffers.has(buf)) {
      this.device.queue.writeBuffer(buf, offsetElems * 4, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength <= STAGED_SLOT_MAX_BYTES) {
      // A refused block is reported by the next check with its size (its copies fail with it).
      const slot = this.stagingBlocks.slot(bytes);
      this.encoderCommands().copyBufferToBuffer(slot.buffer, slot.offset, buf, offsetElems * 4, data.byteLength);
      return;
    }
    let staging: GPUBuffer;
    try {
      staging = this.pool.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    } catch (e) {
      // Refused: the next check throws it (with the group's other refusals), before any read.
      if (e instanceof GpuOutOfMemoryError) return;
      throw e;
    }
    new Uint8Array(staging.getMappedRange()).set(bytes);
    staging.unmap();
    this.encoderCommands().copyBufferToBuffer(staging, 0, buf, offsetElems * 4, data.byteLength);
    this.pendingStaging.push(staging);
  }

  async read(t: GpuTensor): Promise<Float32Array> {
    return (await this.readMany([t]))[0];
  }

  /**
   * Several tensors' values with one round trip: one staging buffer, a copy into it per tensor and
   * one mapAsync, where a read() each would map a staging buffer each.
   */
  async readMany(ts: readonly GpuTensor[]): Promise<Float32Array[]> {
    this.live();
    try {
      return await this.readLive(ts);
    } catch (e) {
      // destroy() while it waited: whatever Dawn rejected with, the cause is the dispose.
      if (this.destroyed && !(e instanceof GpuDisposedError)) throw this.disposedWhile('read', e);
      throw e;
    }
  }

  private async readLive(ts: readonly GpuTensor[]): Promise<Float32Array[]> {
    const outs = ts.map((t) => new Float32Array(t.size));
    const bytes = 4 * outs.reduce((a, o) => a + o.length, 0);
    if (bytes === 0) return outs;
    const staging = this.pool.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.encoderCommands();
    let offset = 0;
    for (const t of ts) {
      if (t.size > 0) enc.copyBufferToBuffer(t.buffer, 0, staging, offset, t.size * 4);
      offset += t.size * 4;
    }
    this.flush();
    await this.checkWork().catch((e: unknown) => {
      staging.destroy();
      throw e;
    });
    this.noteHostWait();
    try {
      await this.whileAlive(staging.mapAsync(GPUMapMode.READ));
      const all = new Float32Array(staging.getMappedRange(0, bytes));
      offset = 0;
      for (const o of outs) {
        o.set(all.subarray(offset, offset + o.length));
        offset += o.length;
      }
      staging.unmap();
    } finally {
      staging.destroy();
    }
    return outs;
  }

  // ---- kernels -------------------------------------------------------------------------------

  pipeline(spec: KernelSpec): GPUComputePipeline {
    return this.cachedPipeline(spec).pipeline;
  }

  private cachedPipeline(spec: KernelSpec): CachedPipeline {
    const entry = spec.entry ?? 'main';
    // Every dispatch comes through here: look up by the constants as written first (no sort).
    const fastKey = callKey(spec.file, entry, spec.constants);
    const fast = this.pipelinesByCall.get(fastKey);
    if (fast) return fast;
    const consts = spec.constants ?? {};
    const key = `${spec.file}:${entry}:${Object.keys(consts)
      .sort()
      .map((k) => `${k}=${consts[k]}`)
      .join(',')}`;
    const hit = this.pipelines.get(key);
    if (hit) {
      this.pipelinesByCall.set(fastKey, hit);
      return hit;
    }
    this.live();
    const special = process.env.WGNAS_OVERRIDES !== 'pipeline';
    const code = special ? specializeOverrides(loadShaderSource(spec.file), consts) : loadShaderSource(spec.file);
    // A driver's own compile failure (its shader compiler refusing what Dawn passed) is an internal
    // error, not a validation one (WebGPU: createComputePipeline's internal error): caught by a scope
    // of its own, so it fails this pipeline as a compile error (an autotune candidate dropped), not
    // the next check's work as an error no scope caught. Validation is the inner scope.
    this.device.pushErrorScope('internal');
    this.device.pushErrorScope('validation');
    // Innermost first. Popped even where a call throws: a scope left pushed would swallow every later error.
    const popScopes = () => [this.device.popErrorScope(), this.device.popErrorScope()] as const;
    let module: GPUShaderModule;
    let pipeline: GPUComputePipeline;
    try {
      module = this.device.createShaderModule({ code, label: spec.file });
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        label: `${spec.file}:${entry}`,
        compute: { module, entryPoint: entry, constants: special ? {} : consts },
      });
    } catch (e) {
      for (const scope of popScopes()) scope.catch(() => null);
      throw e;
    }
    const [invalidScope, internalScope] = popScopes();
    const check = (async () => {
      const [invalid, internal, info] = await Promise.all([invalidScope, internalScope, module.getCompilationInfo()]);
      const msgs = info.messages
        .filter((m) => m.type === 'error')
        .map((m) => `${spec.file}:${m.lineNum}:${m.linePos}: ${m.message}`);
      if (msgs.length) return new KernelCompileError(spec.file, msgs);
      if (invalid) return new KernelCompileError(spec.file, [invalid.message]);
      if (internal) return new KernelCompileError(spec.file, [`internal error (the driver's compiler): ${internal.message}`]);
      return null;
    })();
    // Handled now, observed where awaited (checkCompiles): a device lost before then may reject the
    // scopes, and a rejection left unhandled until the next check would end the process.
    check.catch(() => null);
    const cached = { pipeline, check, dispatched: false };
    this.pipelines.set(key, cached);
    this.pipelinesByCall.set(fastKey, cached);
    return cached;
  }

  /** Compiles (or fetches) a pipeline and waits for its validation; throws KernelCompileError. */
  async compile(spec: KernelSpec): Promise<GPUComputePipeline> {
    const p = this.pipeline(spec);
    await this.checkCompiles();
    return p;
  }

  /**
   * Before any wait on submitted work (read, sync, a timer's end): throws its compile or validation
   * error, so that no path reads the zeros of dropped work or leaves the error to a later read.
   */
  private async checkWork(): Promise<void> {
    await this.checkCompiles();
    await this.checkAllocations();
    const err = await this.takeWorkError();
    if (err) throw err;
  }

  /** An allocation refused since the last check (or an out-of-memory error no scope caught), as its error. */
  private async takeOutOfMemory(): Promise<GpuOutOfMemoryError | null> {
    const refused = await this.pool.takeRefusal();
    const uncaught = this.uncaptured && isOutOfMemory(this.uncaptured) ? this.uncaptured : null;
    return refused || uncaught ? new GpuOutOfMemoryError(refused?.bytes, refused?.message ?? uncaught!.message) : null;
  }

  /**
   * Throws GpuOutOfMemoryError where an allocation since the last check was refused. The work that
   * used the missing buffer failed validation in turn: those reports are consequences, dropped here,
   * so that the caller may free memory and go on (a smaller group) on a clean slate.
   */
  private async checkAllocations(): Promise<void> {
    const oom = await this.takeOutOfMemory();
    if (!oom) return;
    const checks = this.submitChecks;
    this.submitChecks = [];
    await Promise.all(checks);
    // Errors of writes into the missing buffer arrive as events: let those in flight land first.
    await this.whileAlive(this.device.queue.onSubmittedWorkDone(), 'sync');
    this.uncaptured = null;
    const refusedBlock = (b: GPUBuffer) => this.pool.isRefused(b);
    this.uniforms.dropFree(refusedBlock);
    this.stagingBlocks.dropFree(refusedBlock);
    throw oom;
  }

  /**
   * The first validation error of the submissions since the last check, else the first error no
   * scope caught; both are taken (each reported once): what no scope caught beside a failed
   * submission (e.g. its invalid bind groups) is reported with it, not again by the next check.
   */
  private async takeWorkError(): Promise<GpuValidationError | null> {
    const checks = this.submitChecks;
    this.submitChecks = [];
    const submitted = checks.length ? (await Promise.all(checks)).find((e) => e !== null) : null;
    const uncaptured = this.uncaptured;
    this.uncaptured = null;
    if (submitted) return new GpuValidationError(`GPU work failed validation and was dropped: ${submitted.message}`);
    return uncaptured && new GpuValidationError(`GPU work failed and was dropped: ${uncaptured.message}`);
  }

  private async checkCompiles(): Promise<void> {
    for (const [key, c] of this.pipelines) {
      let err: KernelCompileError | null;
      try {
        err = await c.check;
      } catch (e) {
        // The scopes or the compilation info rejected: by a lost device, said as such.
        if (await this.foundLost()) throw this.lostError();
        throw e;
      }
      if (err) {
        this.pipelines.delete(key);
        this.pipelinesByCall.clear(); // rare (a compile error): drop every alias, valid ones re-alias
        if (c.dispatched) await this.dropInvalidPipelineWork(c.pipeline.label);
        throw err;
      }
    }
  }

  /**
   * The work recorded with a pipeline that failed to compile was dropped, and Dawn reported that
   * too: the submission's scope ("[Invalid ComputePipeline ...] is invalid due to a previous error")
   * and an uncaptured error of its bind group. Those are consequences of the compile error being
   * thrown: taken here (the open encoder submitted first, the uncaptured errors in flight let land),
   * so that the next check, and the next caller's work (the next autotune candidate), is not blamed.
   * Only those are taken (messages naming the pipeline or "due to a previous error"): other work's
   * errors stay for the next check, and an out-of-memory error for checkAllocations.
   */
  private async dropInvalidPipelineWork(label: string): Promise<void> {
    this.flush();
    const checks = this.submitChecks;
    this.submitChecks = [];
    const errors = await Promise.all(checks);
    await this.whileAlive(this.device.queue.onSubmittedWorkDone(), 'sync');
    const consequence = (e: GPUError) => e.message.includes(label) || e.message.includes('due to a previous error');
    for (const e of errors) if (e && !consequence(e)) this.submitChecks.push(Promise.resolve(e));
    if (this.uncaptured && !isOutOfMemory(this.uncaptured) && consequence(this.uncaptured)) this.uncaptured = null;
  }

  /** Group 0's layout of a pipeline, asked of Dawn once (every dispatch binds a new group). */
  private bindGroupLayout(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.layouts.get(pipeline);
    if (!layout) {
      layout = pipeline.getBindGroupLayout(0);
      this.layouts.set(pipeline, layout);
    }
    return layout;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  private enc(): GPUCommandEncoder {
    this.live();
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /**
   * The encoder, ready for an encoder-level command (copy, query resolve, another pass): an open
   * compute pass locks its encoder, so it is ended first.
   */
  private encoderCommands(): GPUCommandEncoder {
    this.endPass();
    return this.enc();
  }

  /**
   * The open compute pass, begun on first use. One pass across consecutive dispatches is safe:
   * the WebGPU spec makes every dispatchWorkgroups() of a compute pass its own usage scope, and
   * the implementation must order successive scopes on a queue as written, so storage writes of
   * one dispatch are visible to the next dispatch of the same pass exactly as across passes
   * (read-after-write, write-after-read and write-after-write alike). Dawn's Vulkan backend does
   * this per dispatch (CommandBufferVk RecordComputePass: PrepareResourcesForSyncScope on
   * dispatchUsages[i] before each vkCmdDispatch; BufferVk only skips the barrier when the last
   * usage was read-only and covers the new one), the same barriers it records between passes.
   * So buffers the pool recycles between dispatches of one pass are as safe as before. What a
   * pass does save is the per-pass bookkeeping (begin/end, state resets, pass-level validation).
   */
  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.enc().beginComputePass();
      this.passPipeline = null;
    }
    return this.pass;
  }

  private endPass(): void {
    if (!this.pass) return;
    this.pass.end();
    this.pass = null;
    this.passPipeline = null;
  }

  /**
   * A slot for one dispatch's uniform struct. Slots are packed into 64 KiB blocks at the device's
   * offset alignment and each block is written with one queue.writeBuffer when it is sealed
   * (full, or at submit), instead of one write and one buffer per dispatch.
   */
  private uniformSlot(data: Uint8Array): { buffer: GPUBuffer; offset: number; size: number } {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const { buffer, offset } = this.uniforms.slot(data, size);
    return { buffer, offset, size };
  }

  dispatch(args: DispatchArgs): void {
    const t0 = this.profiler ? performance.now() : 0;
    const cached = this.cachedPipeline(args.kernel);
    const pipeline = cached.pipeline;
    const [x, y = 1, z = 1] = args.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxWg = this.maxWorkgroups;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new RangeError(`${args.kernel.file}: dispatch [${x}, ${y}, ${z}] exceeds ${maxWg} workgroups per dimension`);
    }
    const entries: GPUBindGroupEntry[] = [];
    if (args.uniforms) {
      const u = args.uniforms;
      const view = u instanceof ArrayBuffer ? new Uint8Array(u) : new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
      // Each pending dispatch owns its slot, so no write can clobber queued work.
      entries.push({ binding: 0, resource: this.uniformSlot(view) });
    }
    const buffers = args.buffers;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      const buffer = b instanceof GpuTensor ? b.buffer : b;
      this.pendingBuffers.add(buffer);
      // A bare buffer binds it whole, as { buffer } does, and Dawn converts it with fewer lookups.
      entries.push({ binding: i + 1, resource: buffer });
    }
    cached.dispatched = true;
    const bindGroup = this.device.createBindGroup({ layout: this.bindGroupLayout(pipeline), entries });
    if (this.profiler) {
      this.profiledDispatch(this.profiler, args.kernel, pipeline, bindGroup, x, y, z, t0);
    } else {
      const pass = this.computePass();
      if (pipeline !== this.passPipeline) {
        pass.setPipeline(pipeline);
        this.passPipeline = pipeline;
      }
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    }
    this.dispatchCount++;
    if (++this.encoderDispatches >= Math.min(this.submitThreshold, this.maxDispatchesPerSubmit)) {
      this.flush();
      this.submitThreshold = Math.min(2 * this.submitThreshold, this.maxDispatchesPerSubmit);
    }
  }

  /** A dispatch in its own pass between two timestamps (profiling only). */
  private profiledDispatch(
    prof: DispatchProfiler,
    kernel: KernelSpec,
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    x: number,
    y: number,
    z: number,
    t0: number,
  ): void {
    const name = `${kernel.file}:${kernel.entry ?? 'main'}`;
    if (prof.full) {
      const chunk = prof.resolveInto(this.encoderCommands());
      // The chunk's readback is collected once the encoder that resolves it is submitted.
      if (chunk) this.profileChunks.push(chunk);
    }
    this.endPass();
    const pass = this.enc().beginComputePass(prof.passFor(name));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    prof.addHostMs(name, performance.now() - t0);
  }

  /**
   * Starts a profile: until stopProfile(), each dispatch runs in its own pass with timestamps
   * (where the device has timestamp-query) and its host time is counted per kernel.
   */
  startProfile(opts: { dispatchesPerSet?: number } = {}): void {
    this.live();
    if (this.profiler) throw new Error('startProfile: a profile is already running');
    this.flush();
    this.profiler = new DispatchProfiler(this.device, this.hasTimestamps, opts.dispatchesPerSet);
    this.profileStart = {
      ms: performance.now(),
      dispatches: this.dispatchCount,
      submits: this.submitCount,
      hostWaits: this.hostWaitCount,
    };
  }

  get profiling(): boolean {
    return this.profiler !== null;
  }

  /** Ends the profile: submits what is queued, waits for the timestamps, returns the totals per kernel. */
  async stopProfile(): Promise<GpuProfile> {
    const prof = this.profiler;
    if (!prof) throw new Error('stopProfile: no profile is running (call startProfile first)');
    const s = this.profileStart;
    // Detached at once: the open chunk is resolved and submitted here, and work recorded while the
    // readbacks are awaited runs unprofiled (it never meets a query set finish() destroys).
    this.flush();
    this.profiler = null;
    const counts = {
      dispatches: this.dispatchCount - s.dispatches,
      submits: this.submitCount - s.submits,
      hostWaits: this.hostWaitCount - s.hostWaits + 1, // + the wait for the last work, below
    };
    await this.sync();
    const r = await prof.finish();
    return { ...r, wallMs: performance.now() - s.ms, ...counts };
  }

  /** Splits a 1-D grid over x and y so it fits the per-dimension limit; kernels fold gid.y back in. */
  grid1d(items: number, workgroupSize: number): [number, number] {
    const groups = Math.ceil(items / workgroupSize);
    const maxWg = this.maxWorkgroups;
    if (groups <= maxWg) return [groups, 1];
    const y = Math.ceil(groups / maxWg);
    return [Math.ceil(groups / y), y];
  }

  copy(src: GpuTensor, dst: GpuTensor, elems = src.size, srcOffsetElems = 0, dstOffsetElems = 0): void {
    if (elems === 0) return;
    this.copyCount++;
    const t0 = this.profiler ? performance.now() : 0;
    this.encoderCommands().copyBufferToBuffer(src.buffer, srcOffsetElems * 4, dst.buffer, dstOffsetElems * 4, elems * 4);
    this.pendingBuffers.add(src.buffer);
    this.pendingBuffers.add(dst.buffer);
    this.profiler?.countCommand(COPY_COMMAND, performance.now() - t0);
  }

  /** Submits queued work. Uniform buffers of submitted work become reusable (queue order protects them). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.uniforms.seal();
    this.stagingBlocks.seal();
    const encoder = this.encoder;
    // Dropped first: where submit throws, the next work records into a new encoder, not a finished one.
    this.encoder = null;
    const tail = this.profiler?.resolveInto(encoder);
    if (tail) this.profileChunks.push(tail);
    // An invalid command buffer (e.g. one buffer bound twice with a write) is dropped whole and
    // Dawn only logs it: catch it here, so that read() and sync() reject instead of giving zeros.
    this.device.pushErrorScope('validation');
    try {
      this.device.queue.submit([encoder.finish()]);
    } finally {
      // Popped even where submit throws: a scope left pushed would swallow every later error.
      // Caught now: a lost device rejects its scopes, and a rejection left unhandled until the next
      // read() would end the process (the loss is reported as such).
      this.submitChecks.push(this.device.popErrorScope().catch(() => null));
    }
    for (const c of this.profileChunks) this.profiler?.collect(c);
    this.profileChunks = [];
    this.encoderDispatches = 0;
    this.submitCount++;
    this.pendingBuffers.clear();
    // Destroying after submit is safe: the implementation frees them once the work is done.
    for (const b of this.pendingStaging) b.destroy();
    this.pendingStaging = [];
    // Queue order protects reused blocks: their next write lands after this submission's work.
    this.uniforms.submitted();
    this.stagingBlocks.submitted();
  }

  /** Counts a wait for the GPU; the GPU is idle after it, so the next recording submits early. */
  private noteHostWait(): void {
    this.hostWaitCount++;
    this.submitThreshold = this.firstDispatches;
  }

  /** Flushes and waits until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.checkWork();
    this.noteHostWait();
    // A lost device resolves the wait as if the work were done: the loss is thrown instead.
    await this.whileAlive(this.device.queue.onSubmittedWorkDone(), 'sync');
    if (this.lostInfo) throw this.lostError();
  }

  /**
   * Returns the pool's free buffers to the driver and waits until it has them: Dawn frees a destroyed
   * buffer's memory only when a later submission completes (measured on lavapipe: 1 GiB destroyed
   * stays held through onSubmittedWorkDone alone), so an allocation right after a bare trim finds
   * the old memory still taken: a big GPU ran out of memory that way between stacked groups.
   * keepRecent: only the buffers not handed out since the last release (BufferPool.trim).
   */
  async releaseFreeBuffers(opts: { keepRecent?: boolean } = {}): Promise<void> {
    await this.sync();
    this.pool.trim(opts);
    this.device.queue.submit([]);
    await this.whileAlive(this.device.queue.onSubmittedWorkDone(), 'sync');
    if (this.lostInfo) throw this.lostError();
  }

  // ---- timing --------------------------------------------------------------------------------

  /** Starts a GPU timer: timestamp queries when the device has them, else wall clock. */
  async beginTimer(): Promise<void> {
    await this.sync();
    // The timed work goes out as one command buffer (up to maxDispatchesPerSubmit), not in the small
    // chunks after a wait: between chunks the GPU would wait for the host inside the timestamps.
    this.submitThreshold = this.maxDispatchesPerSubmit;
    if (this.hasTimestamps) {
      this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: 2 });
      this.encoderCommands()
        .beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0 } })
        .end();
    }
    this.timerStartMs = performance.now();
  }

  /** Ends the timer; returns elapsed GPU milliseconds (wall clock around onSubmittedWorkDone as fallback). */
  async endTimer(): Promise<{ ms: number; source: 'timestamp-query' | 'wall-clock' }> {
    if (!this.hasTimestamps || !this.querySet) {
      await this.sync();
      return { ms: performance.now() - this.timerStartMs, source: 'wall-clock' };
    }
    const enc = this.encoderCommands();
    enc.beginComputePass({ timestampWrites: { querySet: this.querySet, endOfPassWriteIndex: 1 } }).end();
    const resolve = this.pool.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.pool.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.resolveQuerySet(this.querySet, 0, 2, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    this.flush();
    let t0: bigint, t1: bigint;
    try {
      // Dropped work would read as 0 ns (a wall-clock time for nothing) and its error go to a later read.
      await this.checkWork();
      this.noteHostWait();
      await this.whileAlive(readback.mapAsync(GPUMapMode.READ));
      [t0, t1] = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
    } finally {
      readback.destroy();
      resolve.destroy();
    }
    const ns = Number(t1 - t0);
    // Some drivers report 0 or garbage when timestamps are quantized away; fall back to wall clock.
    if (!(ns > 0)) return { ms: performance.now() - this.timerStartMs, source: 'wall-clock' };
    return { ms: ns / 1e6, source: 'timestamp-query' };
  }

  // ---- lifetime ------------------------------------------------------------------------------

  /** What checkWork() would throw for the work since the last check, without the recovery (destroy() ends the device). */
  private async lastWorkError(): Promise<Error | null> {
    return (await this.takeOutOfMemory()) ?? (await this.takeWorkError());
  }

  /** The same as destroy(), under the name the backends and tensors use. */
  dispose(): void {
    this.destroy();
  }

  /** Frees every buffer and ends the device; idempotent. A read pending then rejects with GpuDisposedError. */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    // What the last work failed with, no read coming to report it (a lost device is reported as such).
    if (!this.lostInfo) noteUnreported(this.lastWorkError());
    this.destroyed = true;
    this.pool.destroyAll();
    this.uniforms.destroy();
    this.stagingBlocks.destroy();
    this.querySet?.destroy();
    this.pipelines.clear();
    this.pipelinesByCall.clear();
    this.device.destroy();
  }
}
