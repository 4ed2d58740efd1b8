/**
 * Op descriptors: what each op declares, once, for everything else to read.
 *   - its WGSL kernels: file, entry points, the uniform struct they bind (named, typed fields,
 *     checked against the WGSL by test/kernels/descriptors.test.ts) and the override
 *     constants the host may set (tile sizes and workgroup widths, for the autotuner);
 *   - its cost for a problem size: useful FLOPs and the minimum bytes moved (every input read
 *     once, every output written once) - the bench and its roofline read these;
 *   - its TypeScript reference (src/kernels/reference/), the one CPU copy of the math;
 *   - its implementation per backend, registered under the op's name (src/kernels/ops.ts):
 *     'webgpu' here; issue 18's native 'cpu' backend registers against the same names.
 */
import type { UniformDecl } from '../gpu/uniforms.js';

export interface KernelRef {
  readonly file: string;
  readonly entries: readonly string[];
  /** The uniform struct the entries bind at @binding(0), if any. */
  readonly uniforms?: UniformDecl;
  /** Override constants the host sets, with the defaults the WGSL declares. */
  readonly overrides?: Readonly<Record<string, number>>;
}

export interface OpCost {
  /** Useful floating-point operations. */
  flops: number;
  /** Minimum memory traffic in bytes. */
  bytes: number;
}

export interface OpDescriptor<P = never, R = unknown, W = unknown, N extends string = string> {
  /** The op's name: the key every backend registers its implementation under. */
  readonly name: N;
  readonly summary: string;
  readonly kernels: readonly KernelRef[];
  /** FLOPs and minimum bytes for a problem size P (the op's natural dimensions). */
  cost(problem: P): OpCost;
  /** The TypeScript reference (f64 accumulation where it matters). */
  readonly reference: R;
  /** The WGSL implementation: the function the rest of the code calls with a Gpu. */
  readonly webgpu: W;
}

const OP_NAME_RE = /^[a-z][A-Za-z0-9]*$/;

export function defineOp<const N extends string, P, R, W>(d: OpDescriptor<P, R, W, N>): OpDescriptor<P, R, W, N> {
  if (!OP_NAME_RE.test(d.name)) throw new TypeError(`op name '${d.name}' must be lowerCamelCase`);
  if (d.kernels.length === 0) throw new TypeError(`op '${d.name}' declares no kernels`);
  return Object.freeze({ ...d });
}

const F32 = 4;

/** Cost of an element-wise op over n elements: `inputs` arrays read, `outputs` written, flopsPerElem each. */
export function elementwiseCost(n: number, inputs: number, outputs: number, flopsPerElem = 1): OpCost {
  return { flops: flopsPerElem * n, bytes: F32 * n * (inputs + outputs) };
}

/** Cost of running several ops one after the other. */
export function sumCosts(...costs: OpCost[]): OpCost {
  return costs.reduce((a, c) => ({ flops: a.flops + c.flops, bytes: a.bytes + c.bytes }), { flops: 0, bytes: 0 });
}
