/**
 * The op catalog and the per-backend registry (the first step of the backend seam, see
 * docs/architecture-backend.md). OPS holds every op's descriptor under its name; an OpRegistry
 * maps (op name, backend) to an implementation. 'webgpu' implementations come from the
 * descriptors; the native 'cpu' backend registers its own against the same names
 * (src/backend/cpu.ts: cpuOpRegistry; missing('cpu') is empty). Callers reach the ops through a
 * Backend (src/backend), never these functions directly.
 */
import { relu6BackwardOp, relu6Op, reluBackwardOp, reluOp } from './activation.js';
import {
  batchNormBackwardOp,
  batchNormEvalOp,
  batchNormForwardAddOp,
  batchNormForwardOp,
  batchNormRelu6BackwardOp,
  batchNormRelu6ForwardOp,
} from './batchnorm.js';
import { gateDotOp } from './binarize.js';
import { gateDotManyOp } from './gate-dot-many.js';
import {
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
  conv2dOp,
  reluConv2dBackwardInputOp,
  reluConv2dBackwardWeightOp,
  reluConv2dOp,
} from './conv2d.js';
import { correlationOffDiagInPlaceOp, correlationOp, gramOp } from './correlation.js';
import type { OpDescriptor } from './descriptor.js';
import { absOp, addBiasRowsOp, addOp, axpyOp, fillOp, maskedAddOp, mulOp, scaleOp } from './elementwise.js';
import { firstElementGradOp } from './first-grad.js';
import { fitnessGradOp, fitnessSoftmaxOp, mixAccumulateOp, mixBackwardManyOp, mixBackwardOp, mixForwardOp } from './fitness.js';
import { linearBackwardOp, linearOp } from './linear.js';
import { softmaxCrossEntropyOp } from './loss.js';
import { matmulOp } from './matmul.js';
import { adamStepOp, adamStepRowsOp, sgdStepOp } from './optim.js';
import { sgdStepManyOp } from './optim-many.js';
import { avgPool2dBackwardOp, avgPool2dOp, globalAvgPoolBackwardOp, globalAvgPoolOp } from './pool.js';
import { uniformFillBlocksOp, uniformFillManyOp, uniformFillOp } from './random.js';
import { accumulateAbsBatchedOp, accumulateAbsOp, signCodesInPlaceOp, signCodesOp, unstackGroupsOp } from './proxy-ops.js';
import { colSumsOp, dotPartialsOp, rowSumsOp, sumAbsProductOp, sumOp, sumSlicesOp, sumSquaresOp } from './reduce.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- descriptors differ in every type parameter
type AnyOp = OpDescriptor<any, unknown, unknown, string>;
type Catalog<T extends readonly AnyOp[]> = { readonly [D in T[number] as D['name']]: D };

function catalog<const T extends readonly AnyOp[]>(ops: T): Catalog<T> {
  const out: Record<string, AnyOp> = {};
  for (const d of ops) {
    if (out[d.name]) throw new Error(`op catalog: '${d.name}' is declared twice`);
    out[d.name] = d;
  }
  return Object.freeze(out) as Catalog<T>;
}

/** Every op of the product, by name (the bench's calibration kernels are not product ops). */
export const OPS = catalog([
  matmulOp,
  conv2dOp,
  conv2dBackwardInputOp,
  conv2dBackwardWeightOp,
  reluConv2dOp,
  reluConv2dBackwardInputOp,
  reluConv2dBackwardWeightOp,
  batchNormForwardOp,
  batchNormForwardAddOp,
  batchNormBackwardOp,
  batchNormEvalOp,
  batchNormRelu6ForwardOp,
  batchNormRelu6BackwardOp,
  reluOp,
  reluBackwardOp,
  relu6Op,
  relu6BackwardOp,
  avgPool2dOp,
  avgPool2dBackwardOp,
  globalAvgPoolOp,
  globalAvgPoolBackwardOp,
  linearOp,
  linearBackwardOp,
  softmaxCrossEntropyOp,
  addOp,
  mulOp,
  scaleOp,
  absOp,
  axpyOp,
  maskedAddOp,
  fillOp,
  addBiasRowsOp,
  sumOp,
  sumSquaresOp,
  sumAbsProductOp,
  dotPartialsOp,
  rowSumsOp,
  colSumsOp,
  sumSlicesOp,
  sgdStepOp,
  sgdStepManyOp,
  adamStepOp,
  adamStepRowsOp,
  correlationOp,
  correlationOffDiagInPlaceOp,
  gramOp,
  accumulateAbsOp,
  accumulateAbsBatchedOp,
  signCodesOp,
  signCodesInPlaceOp,
  unstackGroupsOp,
  gateDotOp,
  gateDotManyOp,
  fitnessSoftmaxOp,
  mixAccumulateOp,
  mixForwardOp,
  mixBackwardOp,
  mixBackwardManyOp,
  fitnessGradOp,
  firstElementGradOp,
  uniformFillOp,
  uniformFillManyOp,
  uniformFillBlocksOp,
]);

export type Ops = typeof OPS;
export type OpName = Extract<keyof Ops, string>;

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function isOpName(name: string): name is OpName {
  return Object.hasOwn(OPS, name);
}

export type BackendName = 'webgpu' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['webgpu', 'cpu'];

/**
 * An op as a backend implements it. webgpu's take the Gpu first, then GpuTensors and the op's
 * attributes (the descriptor's `webgpu` function); cpu's take the NativeDevice and NativeTensors
 * in the same positions (typed against these signatures in src/backend/cpu.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature is per op and per backend
export type OpImpl = (...args: any[]) => unknown;
export type ImplOf<N extends OpName, B extends BackendName> = B extends 'webgpu' ? Ops[N]['webgpu'] : OpImpl;

export class OpRegistry {
  private readonly impls = new Map<OpName, Map<BackendName, OpImpl>>();

  /** Registers `backend`'s implementation of `op`; an op has at most one per backend. */
  register<N extends OpName, B extends BackendName>(op: N, backend: B, impl: ImplOf<N, B>): this {
    if (!isOpName(op)) throw new Error(`op registry: unknown op '${String(op)}' (see OPS in src/kernels/ops.ts)`);
    if (!BACKENDS.includes(backend)) throw new Error(`op registry: unknown backend '${backend}' (${BACKENDS.join(', ')})`);
    const byBackend = this.impls.get(op) ?? new Map<BackendName, OpImpl>();
    if (byBackend.has(backend)) throw new Error(`op registry: '${op}' already has a ${backend} implementation`);
    byBackend.set(backend, impl as OpImpl);
    this.impls.set(op, byBackend);
    return this;
  }

  has(op: OpName, backend: BackendName): boolean {
    return this.impls.get(op)?.has(backend) ?? false;
  }

  get<N extends OpName, B extends BackendName>(op: N, backend: B): ImplOf<N, B> {
    const impl = this.impls.get(op)?.get(backend);
    if (!impl) {
      const have = this.backends(op);
      throw new Error(`op '${op}' has no ${backend} implementation${have.length ? ` (only ${have.join(', ')})` : ''}`);
    }
    return impl as ImplOf<N, B>;
  }

  /** Backends that implement `op`. */
  backends(op: OpName): BackendName[] {
    return [...(this.impls.get(op)?.keys() ?? [])];
  }

  /** Ops of the catalog `backend` does not implement yet. */
  missing(backend: BackendName): OpName[] {
    return OP_NAMES.filter((op) => !this.has(op, backend));
  }
}

/** A registry holding every op's webgpu implementation (the descriptors' WGSL functions). */
export function webgpuOpRegistry(): OpRegistry {
  const reg = new OpRegistry();
  for (const name of OP_NAMES) reg.register(name, 'webgpu', OPS[name].webgpu as never);
  return reg;
}
