/**
 * Optimizers of the searches: SGD with Nesterov momentum for weights (only parameters that got a
 * gradient this step move, as in ProxylessNAS where unsampled paths have grad None), and Adam for
 * architecture logits α. α lives on the CPU between steps (gate sampling needs it there); its Adam
 * state lives on the GPU and the update runs on optim.wgsl.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { Param, ParamKind } from './tape.js';
import { UserFacingError } from '../util/errors.js';

export interface SgdConfig {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** Kinds exempt from weight decay (ProxylessNAS: BN parameters). */
  noDecay?: ParamKind[];
}

export class WeightSgd {
  readonly buffers = new Map<Param, Tensor>();
  constructor(
    private readonly backend: Backend,
    readonly params: readonly Param[],
    readonly cfg: SgdConfig,
  ) {}

  /** Updates every parameter that has a gradient; returns how many moved. */
  step(lr: number): number {
    let n = 0;
    const noDecay = this.cfg.noDecay ?? ['bn_gamma', 'bn_beta', 'bias'];
    for (const p of this.params) {
      if (!p.grad) continue;
      let buf = this.buffers.get(p);
      if (!buf) {
        buf = this.backend.zeros(p.value.shape);
        this.buffers.set(p, buf);
      }
      this.backend.ops.sgdStep(p.value, p.grad, buf, {
        lr,
        momentum: this.cfg.momentum,
        nesterov: this.cfg.nesterov,
        weightDecay: noDecay.includes(p.kind) ? 0 : this.cfg.weightDecay,
      });
      n++;
    }
    return n;
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Adam over a ragged set of α rows (one per block), flattened into one GPU tensor. */
export class AlphaAdam {
  readonly offsets: number[];
  readonly total: number;
  private readonly w: Tensor;
  private readonly m: Tensor;
  private readonly v: Tensor;
  step = 0;

  constructor(
    private readonly backend: Backend,
    readonly sizes: readonly number[],
    readonly cfg: AdamConfig,
  ) {
    this.offsets = [];
    let o = 0;
    for (const s of sizes) {
      this.offsets.push(o);
      o += s;
    }
    this.total = o;
    this.w = backend.zeros([o]);
    this.m = backend.zeros([o]);
    this.v = backend.zeros([o]);
  }

  flatten(rows: ArrayLike<number>[]): Float32Array {
    const f = new Float32Array(this.total);
    rows.forEach((r, b) => {
      if (r.length !== this.sizes[b])
        throw new RangeError(`AlphaAdam: row ${b} has ${r.length} entries, expected ${this.sizes[b]}`);
      f.set(Array.from(r), this.offsets[b]);
    });
    return f;
  }

  unflatten(f: Float32Array): Float32Array[] {
    return this.sizes.map((s, b) => f.slice(this.offsets[b], this.offsets[b] + s));
  }

  /** One Adam step: α ← Adam(α, grads); returns the updated α rows. */
  async update(alpha: Float32Array[], grads: number[][]): Promise<Float32Array[]> {
    this.step++;
    this.backend.write(this.w, this.flatten(alpha));
    const g = this.backend.upload(this.flatten(grads));
    this.backend.ops.adamStep(this.w, g, this.m, this.v, { ...this.cfg, step: this.step });
    g.dispose();
    return this.unflatten(await this.w.read());
  }

  async state(): Promise<{ step: number; m: number[]; v: number[] }> {
    return { step: this.step, m: Array.from(await this.m.read()), v: Array.from(await this.v.read()) };
  }

  load(s: { step: number; m: number[]; v: number[] }): void {
    if (s.m.length !== this.total || s.v.length !== this.total)
      throw new RangeError('AlphaAdam.load: state does not match the α layout');
    this.step = s.step;
    this.backend.write(this.m, Float32Array.from(s.m));
    this.backend.write(this.v, Float32Array.from(s.v));
  }

  dispose(): void {
    for (const t of [this.w, this.m, this.v]) t.dispose();
  }
}

/**
 * A training run whose loss (or whose learned logits) stopped being finite. Says where, and which
 * learning rate to lower: a diverged run otherwise ends far later in an unrelated error.
 */
export class TrainingDivergedError extends UserFacingError {
  override readonly name = 'TrainingDivergedError';
  constructor(
    /** Where it happened, e.g. 'warm-up step 3' or 'iteration 2, fitness step 1'. */
    readonly at: string,
    /** What stopped being finite, e.g. 'the loss is NaN'. */
    readonly what: string,
    /** The learning rate to lower: its value and the flag that sets it. */
    readonly lr: { value: number; flag: string },
  ) {
    super(`training diverged at ${at}: ${what} (learning rate ${lr.value}); try a smaller ${lr.flag}`);
  }
}
