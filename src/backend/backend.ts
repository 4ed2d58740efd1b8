/**
 * The backend seam (docs/architecture-backend.md): tensor storage plus the ops of src/kernels/ops.ts
 * (OPS), bound to one device. Two implementations: webgpu (today's WGSL through Dawn, ./webgpu.ts)
 * and cpu (oneDNN and C++ in the native addon, ./cpu.ts). Everything above src/backend (the tape,
 * networks, proxies, searches, methods) takes a Backend and never sees Dawn or the addon.
 *
 * Rules both implementations keep: ops enqueue and return their outputs at once, only read() and
 * sync() wait; in-place ops stay in place; the logical layout is NCHW; argument checks are the
 * shared ones of src/kernels/params.ts, so errors read the same on both.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { BackendName, OpName, Ops } from '../kernels/ops.js';
import type { Tensor } from './tensor.js';

export type { BackendName, OpName };

/** The device a backend runs on, as `--device` names it. */
export type DeviceKind = 'gpu' | 'cpu';

/** GpuTensor -> T through an op's parameters and results (options objects and arrays included). */
export type SwapTensor<X, T = Tensor> = X extends GpuTensor
  ? T
  : X extends readonly GpuTensor[]
    ? readonly T[]
    : X extends object
      ? [Extract<X[keyof X], GpuTensor>] extends [never]
        ? X
        : { [K in keyof X]: SwapTensor<X[K], T> }
      : X;

type SwapArgs<A extends readonly unknown[], T> = { [I in keyof A]: SwapTensor<A[I], T> };

/** A WGSL wrapper's signature without its leading Gpu, with Tensor for GpuTensor. */
export type DropContext<F> = F extends (gpu: Gpu, ...args: infer A) => infer R
  ? (...args: SwapArgs<A, Tensor>) => SwapTensor<R>
  : never;

/** A WGSL wrapper's signature with another device C and tensor type T (what a backend implements). */
export type WithContext<F, C, T> = F extends (gpu: Gpu, ...args: infer A) => infer R
  ? (ctx: C, ...args: SwapArgs<A, T>) => SwapTensor<R, T>
  : never;

/** One method per op of OPS: the op's WGSL signature minus the leading Gpu. */
export type BackendOps = { readonly [N in OpName]: DropContext<Ops[N]['webgpu']> };

export interface BackendLimits {
  /** Largest tensor one op may read or write, in bytes (the WebGPU binding limit; large on the CPU). */
  maxTensorBytes: number;
  /** Most layers one batched proxy accumulation may stack (the WebGPU grid limit). */
  maxBatchedLayers: number;
  /** Largest single allocation (WebGPU maxBufferSize; the CPU: no practical limit). */
  maxBufferBytes: number;
}

export interface BackendStats {
  /** Bytes of live tensors. */
  bytesInUse: number;
  peakBytesInUse: number;
  /**
   * Bytes the buffer pool holds from the system: in use plus idle pooled buffers (kept for reuse;
   * trimPool() returns them). What the process's memory grows by.
   */
  bytesAllocated: number;
  /** Ops (WGSL dispatches / native commands) enqueued since the backend opened. */
  opsEnqueued: number;
}

/**
 * What Backend.memory() reports: the tensors alive on the device, and the leaks the safety net
 * caught (a tensor garbage-collected without dispose() has its memory returned and is counted).
 */
export interface BackendMemory {
  /** Tensors that own memory, neither disposed nor reclaimed (views and windows own none). */
  tensors: number;
  /**
   * The bytes they hold, rounded up to the pool's size classes. CPU: also a disposed tensor's
   * memory until the work queued on it has run (exact after sync()).
   */
  bytes: number;
  /** Tensors garbage-collected without dispose() since the backend opened: each a missing dispose(). */
  leakedTensors: number;
}

/** One kernel's (or native op's) share of a profiled stretch of work. */
export interface KernelProfileRow {
  kernel: string;
  /** Dispatches (GPU) or ops run (CPU). */
  count: number;
  /** Device time: summed GPU timestamps, or the CPU worker's wall time on the op. */
  deviceMs: number;
  /** Host time spent recording the dispatches (GPU only). */
  hostMs?: number;
}

/** What Backend.stopProfile returns: where a stretch of work spent its time, by kernel. */
export interface KernelProfile {
  device: DeviceKind;
  deviceName: string;
  /**
   * 'gpu-timestamps': each dispatch timed on the GPU in its own pass; 'gpu-host-only': the adapter has
   * no timestamp-query (counts and host time only); 'cpu-worker': the native worker's time per op.
   */
  clock: 'gpu-timestamps' | 'gpu-host-only' | 'cpu-worker';
  wallMs: number;
  /** Sum of deviceMs: the device's busy time (its share of wallMs says device- or host-bound). */
  deviceMs: number;
  /** GPU: host time spent recording the dispatches. */
  hostMs?: number;
  /** CPU: the worker's time waiting for ops (the JS side is the bound when it is large). */
  idleMs?: number;
  ops: number;
  /** GPU: command buffers submitted and host waits for the GPU. */
  submits?: number;
  hostWaits?: number;
  /** By deviceMs, largest first. */
  kernels: KernelProfileRow[];
}

/**
 * Fused ops a backend may offer beyond OPS (no WGSL counterpart, so no descriptor); callers
 * compose the OPS where a backend has none. Each equals its composition within f32 rounding.
 */
export interface FusedOps {
  /**
   * out[l] ([L, n, n]) = correlationOffDiagInPlace's matrix for xs[l] (n x d elements each, left
   * unchanged), bit for bit as on the xs copied into one [L, n, d] arena, without that arena.
   */
  correlationsOffDiag(xs: readonly Tensor[], n: number, d: number, out: Tensor): void;
}

/**
 * Ops only the webgpu backend has, each replacing a read back in the middle of a pass (a round trip
 * to the GPU); where a backend has none (the CPU backend, whose reads wait for no device) the caller
 * reads instead.
 */
export interface DeviceOnlyOps {
  /** SynFlow's backward seed from its forward, or a code for the host (src/kernels/synflow-seed.ts). */
  synflowSeed(logits: Tensor, features: Tensor, seed: Tensor, status: Tensor, maxShift: number): void;
}

export interface Backend {
  readonly name: BackendName;
  readonly device: DeviceKind;
  /** What runs the ops, for logs and result files, e.g. 'NVIDIA H200' or 'native CPU (2 threads)'. */
  readonly deviceName: string;
  /** True where the WebGPU adapter is a software rasteriser (lavapipe); false on the CPU backend. */
  readonly isSoftware: boolean;
  /** CPU backend threads (null on the GPU). */
  readonly threads: number | null;
  readonly limits: BackendLimits;

  /** An uninitialised tensor. */
  empty(shape: readonly number[], label?: string): Tensor;
  zeros(shape: readonly number[]): Tensor;
  upload(data: Float32Array | ArrayLike<number>, shape?: readonly number[]): Tensor;
  /** Overwrites a tensor's contents after the work queued before (which may still read it). */
  write(t: Tensor, data: Float32Array, offsetElems?: number): void;
  copy(src: Tensor, dst: Tensor, elems?: number, srcOffsetElems?: number, dstOffsetElems?: number): void;
  /** Every tensor's values, with one wait for the device (where a read() each would wait once each). */
  readMany(ts: readonly Tensor[]): Promise<Float32Array[]>;
  /**
   * A non-owning tensor on the first numel(shape) elements of `base` (a window on a reused arena,
   * as the batched proxies cut them). Shares base's lifetime; its dispose() does nothing.
   */
  window(base: Tensor, shape: readonly number[]): Tensor;
  /** Starts queued work (a no-op where ops start as they are enqueued). */
  flush(): void;
  /** Resolves once everything queued has run; rejects with the first failure of queued work. */
  sync(): Promise<void>;
  stats(): BackendStats;
  /** Live tensors, their bytes and the leaked-and-reclaimed count (see BackendMemory). */
  memory(): BackendMemory;
  /** Restarts peakBytesInUse from the bytes in use now. */
  resetPeak(): void;
  /**
   * Waits for the work submitted, then returns the memory of free pooled buffers to the driver and
   * resolves once the driver has it back (the webgpu backend's pool keeps each size it handed out;
   * work of other sizes from now on, such as stacked groups of other cells, would otherwise hold
   * both). keepRecent: only those not handed out since the last trimPool (work like the last one
   * keeps its buffers). Absent where nothing is pooled.
   */
  trimPool?(opts?: { keepRecent?: boolean }): Promise<void>;
  /**
   * Starts timing each kernel: on the GPU every dispatch then runs in its own timestamped pass (a
   * profiled run is somewhat slower), on the CPU the worker's time per op is counted. One at a time.
   */
  startProfile(): void;
  /** Waits for the queued work and returns the time per kernel since startProfile(). */
  stopProfile(): Promise<KernelProfile>;
  /** Waits for queued work and releases the device and every tensor. Idempotent. */
  dispose(): void;

  readonly ops: BackendOps;
  /** Fused ops where this backend has them (the CPU backend); undefined: callers compose OPS. */
  readonly fused?: FusedOps;
  /** Where this backend has them (the webgpu backend); undefined: the caller reads instead. */
  readonly deviceOnly?: DeviceOnlyOps;
}
