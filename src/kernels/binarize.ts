/**
 * ProxylessNAS binarized paths. Per block, binary gates g are sampled from p = softmax(α); only the
 * active path(s) run. Gate gradients dL/dg_j = Σ(o_j ⊙ dL/dy) are dot products on the GPU
 * (binarize.wgsl); sampling, the α gradient dL/dα_i = Σ_j dL/dg_j·p_j(δ_ij − p_i) and the two-path
 * rescale are a handful of scalars per block, so they run here in TS (the caller needs the sampled
 * indices on the CPU anyway to decide which paths to build).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import type { Rng } from '../util/rng.js';
import { softmax } from '../util/softmax.js';
import { defineOp } from './descriptor.js';
import { checkGateDot } from './params.js';
import { gateDotCpu } from './reference/binarize.js';

export { gateDotCpu };

/** Re-exported for callers that sample gates and read their probabilities together. */
export { softmax };

const WG = 256;
/** gateDot's workgroup width and first-pass workgroups at most (gateDotMany partitions as gateDot does). */
export const GATE_DOT_WG = WG;
export const BINARIZE_PARAMS = defineUniforms('binarize.wgsl', 'Params', { n: 'u32', parts: 'u32', index: 'u32', scale: 'f32' });
/** Upper bound on first-pass workgroups: enough to keep every core of a GPU (or lavapipe thread) busy. */
const MAX_PARTS = 256;
export const GATE_DOT_MAX_PARTS = MAX_PARTS;

export type PathMode = 1 | 2;

export interface GateSample {
  /** The path whose gate is 1 (its output is the block's output). */
  active: number;
  /** Paths whose output is computed for the gate gradient but contributes 0 (2-path mode: one). */
  inactive: number[];
  /**
   * Candidates the α gradient involves, active first: every candidate in 1-path mode, the two
   * sampled ones in 2-path mode.
   */
  involved: number[];
}

/** Index drawn from unnormalised non-negative weights. */
export function sampleIndex(weights: readonly number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('sampleIndex: weights must have a positive sum');
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  // Rounding left u >= 0: return the last index with positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return weights.length - 1;
}

/**
 * Samples binary gates from softmax(α).
 * 1 path: active ~ p. 2 paths (ProxylessNAS 'two' mode): two distinct candidates by multinomial
 * over p without replacement, then the active one of the pair ~ softmax(α of the pair).
 */
export function sampleGates(alpha: ArrayLike<number>, rng: Rng, paths: PathMode = 1): GateSample {
  const n = alpha.length;
  if (n < 1) throw new RangeError('sampleGates: no candidates');
  const p = softmax(alpha);
  if (paths === 1 || n === 1) {
    const active = sampleIndex(p, rng);
    return { active, inactive: [], involved: [active, ...range(n).filter((i) => i !== active)] };
  }
  if (paths !== 2) throw new RangeError(`sampleGates: paths must be 1 or 2, got ${paths}`);
  const first = sampleIndex(p, rng);
  const rest = p.map((v, i) => (i === first ? 0 : v));
  const second = sampleIndex(rest, rng);
  const pair = softmax([alpha[first], alpha[second]]);
  const c = sampleIndex(pair, rng);
  const active = c === 0 ? first : second;
  const other = c === 0 ? second : first;
  return { active, inactive: [other], involved: [active, other] };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * dL/dα from gate gradients: dα_i = Σ_j dg_j·p_j(δ_ij − p_i) over the involved candidates, where
 * p = softmax(α restricted to them) (all of α in 1-path mode, the sampled pair in 2-path mode).
 * `gateGrads[j]` is dL/dg_j (entries of candidates that were not evaluated must be 0).
 */
export function binarizeAlphaGrad(alpha: ArrayLike<number>, gateGrads: ArrayLike<number>, involved: readonly number[]): number[] {
  if (gateGrads.length !== alpha.length) {
    throw new RangeError(`binarizeAlphaGrad: ${gateGrads.length} gate gradients for ${alpha.length} candidates`);
  }
  const p = softmax(involved.map((i) => alpha[i]));
  const out = new Array<number>(alpha.length).fill(0);
  involved.forEach((oi, i) => {
    let s = 0;
    involved.forEach((oj, j) => (s += gateGrads[oj] * p[j] * ((i === j ? 1 : 0) - p[i])));
    out[oi] = s;
  });
  return out;
}

/**
 * After an α update in 2-path mode, shifts the pair's α by a common offset so that
 * Σ_{pair} exp(α) is what it was before the update: the pair trades probability between its two
 * members and every other candidate's probability is unchanged. Mutates `alpha`.
 */
export function rescaleTwoPath(alpha: Float32Array | number[], involved: readonly number[], oldAlpha: readonly number[]): void {
  if (involved.length !== oldAlpha.length) throw new RangeError('rescaleTwoPath: one old α per involved candidate');
  const mx = Math.max(...oldAlpha, ...involved.map((i) => alpha[i]));
  const sNew = involved.reduce((s, i) => s + Math.exp(alpha[i] - mx), 0);
  const sOld = oldAlpha.reduce((s, a) => s + Math.exp(a - mx), 0);
  const offset = Math.log(sNew / sOld);
  for (const i of involved) alpha[i] -= offset;
}

/**
 * out[index] = scale · Σ a ⊙ b (f32 accumulation on the GPU). Many gates write one `out` tensor, so
 * a step's gate gradients are read back with one read.
 */
export function gateDot(gpu: Gpu, a: GpuTensor, b: GpuTensor, out: GpuTensor, index: number, scale = 1): void {
  checkGateDot(a, b, out.size, index);
  // b is bound read_write; binding one buffer twice in a dispatch with a writable use is invalid.
  let bb = b;
  if (a.buffer === b.buffer) {
    bb = gpu.empty(b.shape);
    gpu.copy(b, bb);
  }
  const parts = Math.max(1, Math.min(MAX_PARTS, Math.ceil(a.size / (WG * 8))));
  const partials = gpu.empty([parts]);
  gpu.dispatch({
    kernel: { file: 'binarize.wgsl', entry: 'dot_partial', constants: { WG } },
    buffers: [a, bb, partials],
    uniforms: BINARIZE_PARAMS.pack({ n: a.size, parts, index, scale: 1 }),
    workgroups: [parts],
  });
  gpu.dispatch({
    kernel: { file: 'binarize.wgsl', entry: 'dot_final', constants: { WG } },
    buffers: [partials, out],
    uniforms: BINARIZE_PARAMS.pack({ n: parts, parts, index, scale }),
    workgroups: [1],
  });
  partials.dispose();
  if (bb !== b) bb.dispose();
}

export const gateDotOp = defineOp({
  name: 'gateDot',
  summary: 'ProxylessNAS gate gradient out[index] = scale * sum(a * b) (binarize.wgsl, two-pass reduction)',
  kernels: [{ file: 'binarize.wgsl', entries: ['dot_partial', 'dot_final'], uniforms: BINARIZE_PARAMS, overrides: { WG } }],
  // A multiply-add per element and the final scale; a and b read, one value written.
  cost: ({ n }: { n: number }) => ({ flops: 2 * n + 1, bytes: 4 * (2 * n + 1) }),
  reference: gateDotCpu,
  webgpu: gateDot,
});
