/** Parameter initialisers (PyTorch defaults, so untrained networks match the reference proxies). */
import type { Backend } from '../backend/index.js';
import { numel, type Tensor } from '../backend/tensor.js';
import type { Rng } from '../util/rng.js';
import { Param, type ParamKind } from './tape.js';

/** PyTorch's default for Conv2d/Linear weights: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function kaimingUniform(shape: readonly number[], rng: Rng): Float32Array {
  return rng.uniforms(numel(shape), kaimingBound(shape));
}

function kaimingBound(shape: readonly number[]): number {
  return 1 / Math.sqrt(Math.max(1, numel(shape.slice(1))));
}

/** Kaiming-normal fan-in for ReLU: N(0, 2 / fan_in), what AZ-NAS's and VKDNW's code initialise with. */
export function kaimingNormal(shape: readonly number[], rng: Rng): Float32Array {
  return rng.normals(numel(shape), Math.sqrt(2 / Math.max(1, numel(shape.slice(1)))));
}

/** 'pytorch': the framework defaults; 'gaussian': Zen-NAS's N(0, 1); 'kaiming': kaiming-normal fan-in weights, zero biases. */
export type InitMode = 'pytorch' | 'gaussian' | 'kaiming';

export interface ParamStoreOptions {
  /**
   * Draw the 'pytorch' weights in batches (uniformFillMany, up to 8 per dispatch) when drawPending()
   * is called, not one dispatch per weight; until then their tensors hold garbage. For constructors
   * that create every weight, then call drawPending() before anything reads them; weights created
   * after it are drawn at once.
   */
  batchWeights?: boolean;
}

export class ParamStore {
  readonly params: Param[] = [];
  /** Weights created but not yet drawn (batchWeights). */
  private pending: Array<{ t: Tensor; state: number; scale: number }> | null;
  constructor(
    private readonly backend: Backend,
    private readonly rng: Rng,
    private readonly mode: InitMode = 'pytorch',
    opts: ParamStoreOptions = {},
  ) {
    this.pending = opts.batchWeights ? [] : null;
  }

  /** Draws the weights batchWeights deferred (a no-op without them); later weights are drawn at once. */
  drawPending(): void {
    const p = this.pending;
    this.pending = null;
    if (!p?.length) return;
    this.backend.ops.uniformFillMany(
      p.map((e) => e.t),
      p.map((e) => e.state),
      p.map((e) => e.scale),
    );
  }

  /** Conv or linear weight: [out, in, (kh, kw)]. `gaussian` is Zen-NAS's N(0, 1) init. */
  weight(name: string, shape: readonly number[], kind: ParamKind = 'conv'): Param {
    if (this.mode === 'pytorch') {
      // The same values as kaimingUniform's, drawn where the tensor lives (a JS loop and an upload
      // per weight were ~20% of a batch-1 SynFlow cell on the CPU backend, of a grouped WRCor cell's
      // host time on the GPU).
      const [state, scale] = [this.rng.skip(numel(shape)), kaimingBound(shape)];
      if (!this.pending) return this.addTensor(name, kind, this.backend.ops.uniformFill(shape, state, scale));
      const t = this.backend.empty(shape);
      this.pending.push({ t, state, scale });
      return this.addTensor(name, kind, t);
    }
    const data =
      this.mode === 'gaussian'
        ? this.rng.normals(numel(shape))
        : this.mode === 'kaiming'
          ? kaimingNormal(shape, this.rng)
          : kaimingUniform(shape, this.rng);
    return this.add(name, kind, data, shape);
  }

  /** Linear bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as in PyTorch. */
  bias(name: string, n: number, fanIn: number): Param {
    const bound = 1 / Math.sqrt(fanIn);
    const data = new Float32Array(n);
    if (this.mode === 'pytorch') for (let i = 0; i < n; i++) data[i] = (this.rng.next() * 2 - 1) * bound;
    return this.add(name, 'bias', data, [n]);
  }

  constant(name: string, kind: ParamKind, n: number, value: number): Param {
    return this.add(name, kind, new Float32Array(n).fill(value), [n]);
  }

  private add(name: string, kind: ParamKind, data: Float32Array, shape: readonly number[]): Param {
    return this.addTensor(name, kind, this.backend.upload(data, shape));
  }

  private addTensor(name: string, kind: ParamKind, value: Tensor): Param {
    const p = new Param(value, name, kind);
    this.params.push(p);
    return p;
  }

  count(): number {
    return this.params.reduce((s, p) => s + p.value.size, 0);
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  dispose(): void {
    for (const p of this.params) {
      p.zeroGrad();
      p.value.dispose();
    }
    this.params.length = 0;
  }
}
