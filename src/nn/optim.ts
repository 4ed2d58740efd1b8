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
    return stepWeightSgds([{ sgd: this, lr }]);
  }

  /** The parameters with a gradient, each with its momentum buffer (zeros on first use), lr and weight decay. */
  pending(lr: number): Array<{ p: Param; buf: Tensor; lr: number; weightDecay: number }> {
    const noDecay = this.cfg.noDecay ?? ['bn_gamma', 'bn_beta', 'bias'];
    const out: Array<{ p: Param; buf: Tensor; lr: number; weightDecay: number }> = [];
    for (const p of this.params) {
      if (!p.grad) continue;
      let buf = this.buffers.get(p);
      if (!buf) {
        buf = this.backend.zeros(p.value.shape);
        this.buffers.set(p, buf);
      }
      out.push({ p, buf, lr, weightDecay: noDecay.includes(p.kind) ? 0 : this.cfg.weightDecay });
    }
    return out;
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

/**
 * One step of several optimizers on one backend, each at its own learning rate: every parameter
 * with a gradient moves as WeightSgd.step would move it, through one sgdStepMany per momentum
 * setting (several tensors per dispatch on the GPU). Returns how many parameters moved.
 */
export function stepWeightSgds(steps: ReadonlyArray<{ sgd: WeightSgd; lr: number }>): number {
  const groups = new Map<string, { backend: Backend; cfg: SgdConfig; items: ReturnType<WeightSgd['pending']> }>();
  for (const { sgd, lr } of steps) {
    const items = sgd.pending(lr);
    if (items.length === 0) continue;
    const backend = sgd['backend'];
    const key = `${sgd.cfg.momentum}:${sgd.cfg.nesterov}`;
    const g = groups.get(key);
    if (g && g.backend !== backend) throw new Error('stepWeightSgds: optimizers of different backends');
    if (g) g.items.push(...items);
    else groups.set(key, { backend, cfg: sgd.cfg, items });
  }
  let n = 0;
  for (const { backend, cfg, items } of groups.values()) {
    backend.ops.sgdStepMany(
      items.map((i) => i.p.value),
      items.map((i) => i.p.grad!),
      items.map((i) => i.buf),
      {
        lr: items.map((i) => i.lr),
        weightDecay: items.map((i) => i.weightDecay),
        momentum: cfg.momentum,
        nesterov: cfg.nesterov,
      },
    );
    n += items.length;
  }
  return n;
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** AlphaAdam's saved state: each block's step count, and the moments flattened in block order. */
export interface AlphaAdamState {
  steps: number[];
  m: number[];
  v: number[];
}

/**
 * Adam over a ragged set of α rows, as PyTorch's Adam over one parameter per block: a block that
 * gets no gradient in a step (ProxylessNAS sets its grad to None) is skipped whole, its α, moments
 * and step count untouched, so its bias correction counts only the steps it took. The rows live
 * flat on the device (α, its moments), so a step is one upload each of α and the gradients, one
 * adamStepRows dispatch and one read, whatever the block count.
 */
export class AlphaAdam {
  readonly offsets: number[];
  readonly total: number;
  private readonly w: Tensor;
  private readonly m: Tensor;
  private readonly v: Tensor;
  /** Steps taken per block. */
  steps: number[];

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
    // At least one element: a layout without candidates still gets tensors to hold.
    this.w = backend.zeros([Math.max(1, o)]);
    this.m = backend.zeros([Math.max(1, o)]);
    this.v = backend.zeros([Math.max(1, o)]);
    this.steps = sizes.map(() => 0);
  }

  private checkRows(rows: ArrayLike<number>[], what: string): void {
    if (rows.length !== this.sizes.length)
      throw new RangeError(`AlphaAdam: ${rows.length} ${what} rows, expected ${this.sizes.length}`);
    rows.forEach((r, b) => {
      if (r.length !== this.sizes[b])
        throw new RangeError(`AlphaAdam: ${what} row ${b} has ${r.length} entries, expected ${this.sizes[b]}`);
    });
  }

  /** The rows laid end to end, as f32 (a tensor's worth: at least one element). */
  private flat(rows: ArrayLike<number>[]): Float32Array {
    const out = new Float32Array(Math.max(1, this.total));
    rows.forEach((r, b) => out.set(Float32Array.from(r), this.offsets[b]));
    return out;
  }

  /**
   * One Adam step on the blocks with `hasGrad[b]` (default: all): α ← Adam(α, grads) there, the
   * other rows returned as they came. Returns the new α rows.
   */
  async update(alpha: Float32Array[], grads: number[][], hasGrad?: readonly boolean[]): Promise<Float32Array[]> {
    this.checkRows(alpha, 'α');
    this.checkRows(grads, 'gradient');
    const moved = this.sizes.map((_, b) => b).filter((b) => !hasGrad || hasGrad[b]);
    const next = alpha.map((a) => Float32Array.from(a));
    if (moved.length === 0) return next;
    for (const b of moved) this.steps[b]++;
    this.backend.write(this.w, this.flat(alpha));
    const g = this.backend.upload(this.flat(grads));
    const rows = moved.map((b) => ({ offset: this.offsets[b], size: this.sizes[b], step: this.steps[b] }));
    this.backend.ops.adamStepRows(this.w, g, this.m, this.v, rows, this.cfg);
    g.dispose();
    const [w] = await this.backend.readMany([this.w]);
    for (const b of moved) next[b].set(w.subarray(this.offsets[b], this.offsets[b] + this.sizes[b]));
    return next;
  }

  async state(): Promise<AlphaAdamState> {
    const [m, v] = await this.backend.readMany([this.m, this.v]);
    return { steps: [...this.steps], m: Array.from(m.subarray(0, this.total)), v: Array.from(v.subarray(0, this.total)) };
  }

  load(s: AlphaAdamState): void {
    if (s.m.length !== this.total || s.v.length !== this.total || s.steps.length !== this.sizes.length)
      throw new RangeError('AlphaAdam.load: state does not match the α layout');
    this.steps = [...s.steps];
    const pad = (a: number[]) => {
      const out = new Float32Array(Math.max(1, this.total));
      out.set(a);
      return out;
    };
    this.backend.write(this.m, pad(s.m));
    this.backend.write(this.v, pad(s.v));
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
