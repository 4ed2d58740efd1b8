/**
 * The compute half of the addon, as the addon exports it (native/compute): a `ComputeDevice` class
 * whose tensors are integer handles to pooled native memory and whose ops are enqueued by name and
 * run in order on the device's worker thread. NativeDevice (device.ts) is the typed surface over
 * it; this file only loads it and declares its shape.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadNative, nativeBuildCommand, nativeCandidates, NativeUnavailableError } from './binding.js';

/** Every op the native device runs; the addon must register each (checked when a device opens). */
export const NATIVE_OP_NAMES = [
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'batchNormForward',
  'batchNormBackward',
  'relu',
  'reluBackward',
  'relu6',
  'relu6Backward',
  'batchNormRelu6Forward',
  'batchNormRelu6Backward',
  'avgPool2d',
  'avgPool2dBackward',
  'globalAvgPoolBackward',
  'matmul',
  'add',
  'mul',
  'scale',
  'abs',
  'axpy',
  'fill',
  'addBiasRows',
  'copy',
  'sum',
  'sumSquares',
  'sumAbsProduct',
  'dotPartials',
  'rowSums',
  'colSums',
  'sumSlices',
  'softmaxCrossEntropy',
  'normalizeRows',
  'gramRows',
  'correlationRows',
  'setDiag',
  'accumulateAbs',
  'accumulateAbsBatched',
  'signCodes',
  'signCodesInPlace',
  'unstackGroups',
  'maskedAdd',
  'gateDot',
  'sgdStep',
  'adamStep',
  'fitnessSoftmax',
  'mixAccumulate',
  'mixBackward',
  'fitnessGrad',
  'firstElementGrad',
  'uniformFill',
  'uniformFillBlocks',
] as const;

export type NativeOpName = (typeof NATIVE_OP_NAMES)[number];

/** Named op parameters: numbers, flags and number lists (read by name in C++). */
export type NativeOpParams = Record<string, number | boolean | readonly number[] | undefined>;

export interface NativeDeviceStats {
  /** Bytes of live tensors (pool buckets), including tensors whose dispose waits on queued work. */
  bytesInUse: number;
  /** Bytes held from the system: in use plus idle pool blocks. */
  bytesAllocated: number;
  peakBytesInUse: number;
  buffersInUse: number;
  buffersFree: number;
  /** Tensor handles not yet disposed. */
  tensors: number;
  /** Commands waiting for or running on the worker. */
  queued: number;
  /** Ops enqueued since the device opened (the CPU side of Gpu.dispatchCount). */
  enqueued: number;
  /** oneDNN primitives held in the device's shape cache. */
  cachedPrimitives: number;
}

/** The addon's ComputeDevice instance. Handles are positive integers. */
export interface RawComputeDevice {
  readonly threads: number;
  alloc(numel: number): number;
  upload(data: Float32Array): number;
  write(handle: number, data: Float32Array, offsetElems: number): void;
  release(handle: number): void;
  read(handle: number, offsetElems?: number, count?: number): Promise<Float32Array>;
  sync(): Promise<void>;
  enqueue(op: NativeOpName, handles: number[], params?: NativeOpParams): void;
  /**
   * enqueue() with the op as its index in ops() and the handles and parameters packed into
   * packed[0, length): the tensor count, the handles, then the values in the order of `keys`
   * ("k1,k2,[k3,"; a '[' key is an array: its length, then its elements).
   */
  enqueuePacked(opIndex: number, packed: Float64Array, length: number, keys: string): void;
  stats(): NativeDeviceStats;
  resetPeak(): void;
  trim(): void;
  destroy(): void;
  ops(): string[];
  /** Worker time per command since the last reset, and time spent waiting for commands. */
  profile(reset?: boolean): NativeProfile;
}

export interface NativeProfile {
  /** ms: wall time on the worker; cpuMs: the worker thread's CPU time (its OpenMP helpers not included). */
  ops: Record<string, { count: number; ms: number; cpuMs: number }>;
  idleMs: number;
}

export type RawComputeDeviceClass = new (options: { threads: number; convAlgorithm: 'direct' | 'auto' }) => RawComputeDevice;

/** The addon's ComputeDevice class and the cores this process may use; NativeUnavailableError lists fixes. */
export function loadComputeAddon(): { ComputeDevice: RawComputeDeviceClass; availableCores: number } {
  const binding = loadNative(); // throws NativeUnavailableError with the fixes when missing
  const path = nativeCandidates().find((p) => existsSync(p))!;
  // The same module object loadNative() loaded (require caches by path).
  const raw = createRequire(import.meta.url)(path) as { ComputeDevice?: RawComputeDeviceClass };
  if (typeof raw.ComputeDevice !== 'function') {
    throw new NativeUnavailableError(`${path} predates the native compute backend: rebuild it with ${nativeBuildCommand()}`);
  }
  return { ComputeDevice: raw.ComputeDevice, availableCores: binding.cpuInfo().availableCores };
}
