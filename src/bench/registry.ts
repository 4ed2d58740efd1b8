/**
 * Registry of benchmarkable kernels. One entry per op: its shape sweeps, its cost at a shape
 * (FLOPs and minimum memory traffic, read from the op descriptors in src/kernels), a setup that
 * uploads inputs and returns a case whose run() records the dispatches (no sync), plus optional
 * baselines: the same math in tfjs (run on its webgpu and wasm backends), in gpu.js, as an
 * equivalent oneDNN/XNNPACK op chain, and in TypeScript on the CPU (the descriptor's reference, or
 * a faster blocked version where the reference is too slow to time).
 * Adding an op = one file in src/bench/kernels/ and one line in src/bench/kernels/index.ts.
 */
import type * as Tfjs from '@tensorflow/tfjs';
import type { Backend } from '../backend/index.js';
import type { OpCost } from '../kernels/descriptor.js';
import type { GpuJsBaseline, GpuJsCase } from './gpujs.js';
import type { NativeEquivalent } from './native.js';

/** A problem size, e.g. { batch: 1, M: 512, N: 512, K: 512 }. */
export type Shape = Record<string, number>;

export const SHAPE_SETS = ['tiny', 'small', 'default', 'large'] as const;
export type ShapeSet = (typeof SHAPE_SETS)[number];

export type Tf = typeof Tfjs;
export type TfTensor = Tfjs.Tensor;

export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

export interface KernelCase {
  /** Enqueues the op (on the GPU: records its dispatches); must not sync or read back. */
  run(): void;
  /** Frees the case's GPU tensors. */
  teardown(): void;
  /** Host copies of the inputs run() consumes, so baselines compute the same thing. */
  inputs?: HostTensor[];
  /** Output of the last run(), for the parity guards. */
  read?(): Promise<Float32Array>;
  /** Kernel configuration worth reporting (e.g. the matmul tile). */
  config?: Record<string, number | string>;
}

export interface TfCase {
  /** Runs the op (queues GPU work) and returns its output; the harness disposes it. */
  run(): TfTensor;
  /** Converts run()'s output to our layout for the parity guard (e.g. NHWC -> NCHW); not timed. */
  forParity?(out: TfTensor): TfTensor;
  teardown(): void;
}

export interface CpuCase {
  run(): void;
  /** Output of the last run(). */
  output(): ArrayLike<number>;
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface BenchKernel {
  name: string;
  description: string;
  /** False for entries only run when named (e.g. the calibration kernels). Default true. */
  inDefaultRun?: boolean;
  /** A WGSL-only path (calibration, f16, subgroup matrices): no CPU-backend op to time. Default false. */
  gpuOnly?: boolean;
  shapes: Record<ShapeSet, Shape[]>;
  label?(shape: Shape): string;
  /**
   * Useful FLOPs and minimum memory traffic (every input read once, every output written once) of
   * one run() at this shape: the op descriptors' cost() (summed where a run is several ops).
   */
  cost(shape: Shape): OpCost;
  /** Uploads inputs on the backend that runs ours (GPU-only entries throw on the CPU backend); may compile first. */
  setup(backend: Backend, shape: Shape): KernelCase | Promise<KernelCase>;
  /** The same op written with tfjs ops (runs on the tfjs webgpu backend, same device). */
  tfjs?(tf: Tf, shape: Shape, inputs: HostTensor[]): TfCase;
  /** The same op as gpu.js kernels (whatever mode the gpu.js baseline runs in). */
  gpujs?(g: GpuJsBaseline, shape: Shape, inputs: HostTensor[]): Promise<GpuJsCase>;
  /** An equivalent op chain for the native addon (oneDNN / XNNPACK), or null where there is none. */
  native?(shape: Shape): NativeEquivalent | null;
  /** The same op in plain TypeScript. */
  cpu?(shape: Shape, inputs: HostTensor[]): CpuCase;
  /** Parity-guard tolerance against the baselines (default atol 1e-4, rtol 1e-3). */
  tolerance?(shape: Shape): Tolerance;
}

/** The shapes of a sweep to run: all, or those whose label is in `only`. */
export function sweepShapes(k: BenchKernel, set: ShapeSet, only?: readonly string[]): Shape[] {
  const all = k.shapes[set];
  return only?.length ? all.filter((s) => only.includes(shapeLabel(k, s))) : all;
}

export function shapeLabel(k: Pick<BenchKernel, 'label'>, shape: Shape): string {
  if (k.label) return k.label(shape);
  return Object.entries(shape)
    .map(([key, v]) => `${key}=${v}`)
    .join(' ');
}

export class KernelRegistry {
  private readonly entries = new Map<string, BenchKernel>();

  constructor(kernels: BenchKernel[] = []) {
    for (const k of kernels) this.add(k);
  }

  add(k: BenchKernel): this {
    if (this.entries.has(k.name)) throw new Error(`bench registry: kernel '${k.name}' is registered twice`);
    this.entries.set(k.name, k);
    return this;
  }

  get(name: string): BenchKernel {
    const k = this.entries.get(name);
    if (!k) throw new Error(`unknown benchmark kernel '${name}' (available: ${this.names().join(', ')})`);
    return k;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  all(): BenchKernel[] {
    return [...this.entries.values()];
  }
}
