/**
 * Reverse-mode autograd over a backend's ops. Each op runs its forward kernel now and pushes a closure that
 * runs its backward kernels later; backward() replays them in reverse. Activations and gradients
 * the tape creates are disposed by dispose(); parameters (Param) outlive it.
 *
 * ReLUs are observable: proxies (WRCor, NASWOT, MeCo) read each ReLU's pre-activation and the
 * gradient that flows back through that ReLU alone, tagged with where it sits (ReluPlace).
 *
 * Gradients are copy-on-write: an add hands its output gradient itself to both inputs, a ReLU gives
 * its dx to its record and to its input, crossEntropy its dlogits to the logits (a copy each cost a
 * device copy, ending the GPU's compute pass). A tape-owned gradient counts its holders (vars,
 * ReLU records, crossEntropy); one with several is never updated in place: the next accumulate into
 * it writes the sum to a tensor the var alone holds (the incoming gradient when fresh, else a new one;
 * add(a, b) equals axpy(a, b, 1) bit for bit on both backends), and the last holder to let go frees
 * it. Params never share: they get their own copy. So callers must not update an activation's or a
 * record's gradient in place: another var or record may hold the same tensor.
 */
import type { Backend, BackendOps, Tensor } from '../backend/index.js';
import type { Precision } from '../kernels/f16.js';
import { assertMixture, type Conv2dParams, DEFAULT_BN_EPS, type Pool2dParams } from '../kernels/params.js';

export class Var {
  grad: Tensor | null = null;
  constructor(
    public value: Tensor,
    readonly requiresGrad: boolean,
  ) {}
  get shape(): readonly number[] {
    return this.value.shape;
  }
}

export type ParamKind = 'conv' | 'linear' | 'bias' | 'bn_gamma' | 'bn_beta';

/** A trainable tensor owned by a network, not by a tape. */
export class Param extends Var {
  constructor(
    value: Tensor,
    readonly name: string,
    readonly kind: ParamKind,
  ) {
    super(value, true);
  }
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

/**
 * Where a ReLU sits, the exponents of WRCor's weights. `module`: the entry of the network's module
 * list it sits in, as the authors' code indexes net.cells / net.block_list (wrcor weighs it by
 * 2^module; NB201: the i-th of the cells and reduction blocks i, the final ReLU one past the last;
 * MobileNet: src/mobilenet/skeleton.ts). `block`: its stage (wrcor_stage weighs it by 2^block;
 * NB201: 0, 1, 2, a reduction block the stage it opens, the final ReLU 2).
 */
export interface ReluPlace {
  block: number;
  module: number;
}

export interface ReluRecord extends ReluPlace {
  name: string;
  input: Tensor;
  /** dL/d(input) through this ReLU only; set by backward() when keepReluGrads. */
  gradInput?: Tensor;
}

/** One training-mode batch norm's batch statistics (TapeOptions.bnBatchStats), for the running averages. */
export interface BnBatchRecord {
  /** The BN's parameter prefix ('stem.bn' of 'stem.bn.gamma'), else its tape name. */
  name: string;
  mean: Tensor;
  invStd: Tensor;
  /** Values per channel the statistics came from (N x H x W). */
  count: number;
  /** The eps the batch norm used (invStd = 1 / sqrt(biased var + eps)). */
  eps: number;
}

/** Per-channel statistics an eval-mode batch norm normalises with (the running averages, src/nn/bn-running.ts). */
export interface BnEvalStats {
  /** The statistics of BN `name`, invStd = 1 / sqrt(var + eps) with the BN's own eps. */
  statsFor(name: string, channels: number, eps: number): { mean: Tensor; invStd: Tensor };
}

export interface BnRecord {
  name: string;
  /** Per-channel batch variance of the BN input (biased), shape [C]. */
  invStd: Tensor;
}

/**
 * Where a parameter enters the network (TapeOptions.recordParamUses): VKDNW differentiates the
 * logits of each image by one element of every parameter tensor, from these inputs and outputs
 * and their gradients. With bnIdentity a batch norm's output is its input (eval mode at init).
 */
export type ParamUse =
  | { kind: 'conv'; weight: Param; input: Var; output: Var; conv: Conv2dParams }
  | { kind: 'bn'; gamma: Param | null; beta: Param | null; input: Var }
  | { kind: 'linear'; weight: Param; bias: Param | null; input: Var };

export interface TapeOptions {
  /** Record every conv, batch norm and linear with its parameters and activations (paramUses). */
  recordParamUses?: boolean;
  /**
   * backward() keeps its closures so that it can run again with another seed; resetGrads()
   * between runs frees the activation gradients of the previous one.
   */
  retainGraph?: boolean;
  /** Keep ReLU inputs (and, after backward, their gradients) for the proxies. */
  recordRelus?: boolean;
  /** Keep BN statistics (Zen-score). */
  recordBn?: boolean;
  /** Keep every batch norm's batch mean and invStd (bnBatches) for the running averages. */
  bnBatchStats?: boolean;
  /**
   * Eval mode: batch norms normalise with these statistics (by BN name), not the batch's. Forward
   * only (noGrad).
   */
  bnEval?: BnEvalStats;
  /** Replace batch norm by identity (SynFlow's linearised network). */
  bnIdentity?: boolean;
  /**
   * The convolutions' and linear layers' precision where a backend has a choice (the webgpu
   * backend's f16 operands): 'f32' keeps them at f32 whatever WGNAS_F16 (Gpu.f16Compute) says, for
   * proxies that f16 operands would silently break (SynFlow, Zen). Unset: each op's default.
   */
  precision?: Precision;
  /** Forward only: no backward closures, activations freed as soon as possible. */
  noGrad?: boolean;
  /**
   * Which parameters get gradients: 'all' (default), 'none', or only those in the set. Proxies that
   * read activation gradients (WRCor, jacob_cov) and architecture steps skip the weight-gradient
   * convolutions this way (about a third of a backward pass); give the input requiresGrad then,
   * or nothing upstream will need a gradient.
   */
  paramGrads?: 'all' | 'none' | ReadonlySet<Param>;
}

export class Tape {
  private readonly backs: Array<() => void> = [];
  private readonly owned = new Set<Tensor>();
  readonly relus: ReluRecord[] = [];
  readonly bns: BnRecord[] = [];
  readonly bnBatches: BnBatchRecord[] = [];
  readonly paramUses: ParamUse[] = [];
  /** Activations that got a gradient (retainGraph: resetGrads clears them). */
  private readonly gradded: Var[] = [];
  /** Holders of the tape-owned gradients with more than one (absent: one). */
  private readonly holders = new Map<Tensor, number>();
  /** Owned tensors that are views of others (reshape): they free nothing themselves. */
  private readonly views = new Set<Tensor>();
  /** Outputs whose backward reads no gradient of theirs (the fused loss): backward() seeds them with none. */
  private readonly seedless = new WeakSet<Var>();

  private readonly ops: BackendOps;

  constructor(
    readonly backend: Backend,
    readonly opts: TapeOptions = {},
  ) {
    if (opts.bnEval && !opts.noGrad) throw new Error('Tape: eval-mode batch norm (bnEval) is forward only; give noGrad');
    this.ops = backend.ops;
  }

  /** Wraps an input tensor (not owned by the tape). */
  input(t: Tensor, requiresGrad = false): Var {
    return new Var(t, requiresGrad);
  }

  /** Hands a tensor to the tape so dispose() frees it. */
  adopt(t: Tensor): Tensor {
    this.owned.add(t);
    return t;
  }

  /**
   * v's values as a tensor the caller owns (and disposes), which this tape's dispose() leaves
   * alone: v's own tensor where the tape owns it outright, else (an input, a view, a shared
   * gradient) a copy. A no-grad sub-tape's output kept without a device copy.
   */
  take(v: Var): Tensor {
    const t = v.value;
    if (this.owned.has(t) && !this.views.has(t) && !this.holders.has(t)) {
      this.owned.delete(t);
      return t;
    }
    return this.copyOf(t);
  }

  private out(t: Tensor, requiresGrad: boolean): Var {
    this.owned.add(t);
    return new Var(t, requiresGrad && !this.opts.noGrad);
  }

  private track<T extends Tensor | null>(t: T): T {
    if (t) this.owned.add(t);
    return t;
  }

  /** Whether v gets a gradient on this tape (parameters filtered by opts.paramGrads). */
  private needs(v: Var | null): boolean {
    if (!v?.requiresGrad) return false;
    if (!(v instanceof Param)) return true;
    const pg = this.opts.paramGrads ?? 'all';
    return pg === 'all' ? true : pg === 'none' ? false : pg.has(v);
  }

  /** One more holder of the tape-owned gradient t (which from now on is not updated in place). */
  private share(t: Tensor): Tensor {
    this.holders.set(t, (this.holders.get(t) ?? 1) + 1);
    return t;
  }

  /** Drops one holder of g (a tape-owned gradient or a fresh one); the last frees it. */
  private release(g: Tensor): void {
    const n = this.holders.get(g);
    if (n === undefined) {
      this.owned.delete(g);
      g.dispose();
    } else if (n === 2) this.holders.delete(g);
    else this.holders.set(g, n - 1);
  }

  /** t for one more consumer: t itself, shared, when the tape owns it; else (a caller's seed) a copy. */
  private handOn(t: Tensor): Tensor {
    return this.owned.has(t) ? this.share(t) : this.copyOf(t);
  }

  private copyOf(t: Tensor): Tensor {
    const c = this.backend.empty(t.shape);
    this.backend.copy(t, c);
    return c;
  }

  /** Adds g into v.grad, taking over one holding of g (a fresh tensor or one passed through share()). */
  private accumulate(v: Var, g: Tensor): void {
    if (!this.needs(v)) {
      this.release(g);
      return;
    }
    // Every shared gradient is tape-owned (share() is only given owned tensors), so owned.has()
    // tells a tape-held g from a fresh one.
    if (v instanceof Param && v.grad === null && this.owned.has(g)) {
      // A Param's gradient outlives the tape and optimizers update it in place: it gets its own.
      v.grad = this.copyOf(g);
      this.release(g);
    } else if (v.grad === null) {
      v.grad = g;
      if (!(v instanceof Param)) {
        this.owned.add(g);
        if (this.opts.retainGraph) this.gradded.push(v);
      }
    } else if (this.holders.has(v.grad)) {
      // Shared (v.grad === g is too): the sum goes to a tensor v alone holds, the other holders keep
      // theirs: g itself when fresh (g + v.grad is v.grad + g bit for bit), else a new one.
      const old = v.grad;
      if (!this.owned.has(g)) {
        this.ops.axpy(g, old, 1);
        v.grad = this.track(g);
      } else {
        v.grad = this.track(this.ops.add(old, g));
        this.release(g);
      }
      this.release(old);
    } else {
      this.ops.axpy(v.grad, g, 1);
      this.release(g);
    }
  }

  /** The precision option of the ops that have one (empty: their defaults). */
  private precisionOpts(): { precision?: Precision } {
    return this.opts.precision ? { precision: this.opts.precision } : {};
  }

  private push(needs: boolean, fn: () => void): void {
    if (needs && !this.opts.noGrad) this.backs.push(fn);
  }

  conv(x: Var, w: Param, p: Conv2dParams): Var {
    const y = this.out(this.ops.conv2d(x.value, w.value, p, this.precisionOpts()), this.needs(x) || this.needs(w));
    if (this.opts.recordParamUses) this.paramUses.push({ kind: 'conv', weight: w, input: x, output: y, conv: p });
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      if (this.needs(w)) this.accumulate(w, this.ops.conv2dBackwardWeight(x.value, y.grad, w.shape, p));
      if (this.needs(x)) this.accumulate(x, this.ops.conv2dBackwardInput(y.grad, w.value, x.shape, p));
    });
    return y;
  }

  /**
   * conv(relu(x), w): the ReLU-Conv pair as one op (the backend's reluConv2d*), so relu(x) is never
   * stored and the input gradient arrives at the ReLU's input directly. The ReLU is recorded as
   * relu() records it. With recordParamUses (which needs the conv's input as a Var) the pair is
   * composed instead. The same values as relu() then conv(), bit for bit.
   */
  reluConv(x: Var, w: Param, p: Conv2dParams, at: ReluPlace, reluName = 'relu'): Var {
    if (this.opts.recordParamUses) return this.conv(this.relu(x, at, reluName), w, p);
    const y = this.out(this.ops.reluConv2d(x.value, w.value, p, this.precisionOpts()), this.needs(x) || this.needs(w));
    const rec = this.record(reluName, at, x);
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      if (this.needs(w)) this.accumulate(w, this.ops.reluConv2dBackwardWeight(x.value, y.grad, w.shape, p));
      if (!this.needs(x)) return;
      const dx = this.ops.reluConv2dBackwardInput(y.grad, w.value, x.value, p);
      if (rec) rec.gradInput = this.share(this.track(dx));
      this.accumulate(x, dx);
    });
    return y;
  }

  /**
   * Training-mode batch norm (eval mode with opts.bnEval). With `residual`: add(residual, bn(x)) as
   * one op (the backend's batchNormForwardAdd: a node sum folded into the batch norm that feeds it,
   * one dispatch and one tensor less), the same values and gradients bit for bit; composed under
   * bnIdentity and bnEval. `eps` is the network's (a ProxylessNAS net.config gives 1e-3), in
   * training and eval mode alike.
   */
  batchNorm(x: Var, gamma: Param | null, beta: Param | null, name = 'bn', residual?: Var, eps = DEFAULT_BN_EPS): Var {
    if (residual && (this.opts.bnIdentity || this.opts.bnEval))
      return this.add(residual, this.batchNorm(x, gamma, beta, name, undefined, eps));
    if (this.opts.recordParamUses) this.paramUses.push({ kind: 'bn', gamma, beta, input: x });
    if (this.opts.bnIdentity) return x;
    // Running statistics are keyed by the BN's parameter name ('stem.bn' of 'stem.bn.gamma'), the name weights files use.
    const key = gamma ? gamma.name.replace(/\.gamma$/, '') : name;
    if (this.opts.bnEval) {
      const s = this.opts.bnEval.statsFor(key, x.shape[1], eps);
      return this.out(this.ops.batchNormEval(x.value, s.mean, s.invStd, gamma?.value ?? null, beta?.value ?? null), false);
    }
    const [gv, bv] = [gamma?.value ?? null, beta?.value ?? null];
    const { y, mean, invStd } = residual
      ? this.ops.batchNormForwardAdd(x.value, gv, bv, residual.value, eps)
      : this.ops.batchNormForward(x.value, gv, bv, eps);
    this.track(mean);
    this.track(invStd);
    if (this.opts.recordBn) this.bns.push({ name, invStd });
    if (this.opts.bnBatchStats) this.bnBatches.push({ name: key, mean, invStd, count: x.value.size / x.shape[1], eps });
    const bnNeeds = this.needs(x) || this.needs(gamma) || this.needs(beta);
    const out = this.out(y, bnNeeds || (residual?.requiresGrad ?? false));
    this.push(out.requiresGrad, () => {
      if (!out.grad) return;
      // As add(residual, bn) hands its gradient on: the residual first, then the batch norm's.
      if (residual && this.needs(residual)) this.accumulate(residual, this.handOn(out.grad));
      if (!bnNeeds) return;
      const g = this.ops.batchNormBackward(out.grad, x.value, mean, invStd, gamma?.value ?? null);
      this.accumulateBn(x, gamma, beta, g);
    });
    return out;
  }

  /**
   * relu6(batchNorm(x)), the MBConv pair: one op each way (the backend's batchNormRelu6Forward and
   * Backward) where the batch norm is the plain training-mode one whose output nothing records (no
   * ReLU records, parameter uses, bnIdentity, bnEval or bnBatchStats); else batchNorm then relu. The
   * fused ops keep neither the BN output nor its gradient: one tensor, two passes over memory and
   * two dispatches less per pair (bit for bit the composition on the GPU, within f32 rounding on the CPU).
   */
  batchNormRelu6(
    x: Var,
    gamma: Param | null,
    beta: Param | null,
    at: ReluPlace,
    bnName = 'bn',
    reluName = 'relu6',
    eps = DEFAULT_BN_EPS,
  ): Var {
    const o = this.opts;
    if (o.recordRelus || o.recordParamUses || o.bnIdentity || o.bnEval || o.bnBatchStats) {
      return this.relu(this.batchNorm(x, gamma, beta, bnName, undefined, eps), at, reluName, true);
    }
    const { z, mean, invStd } = this.ops.batchNormRelu6Forward(x.value, gamma?.value ?? null, beta?.value ?? null, eps);
    this.track(mean);
    this.track(invStd);
    if (this.opts.recordBn) this.bns.push({ name: bnName, invStd });
    const out = this.out(z, this.needs(x) || this.needs(gamma) || this.needs(beta));
    this.push(out.requiresGrad, () => {
      if (!out.grad) return;
      const g = this.ops.batchNormRelu6Backward(out.grad, x.value, mean, invStd, gamma?.value ?? null, beta?.value ?? null);
      this.accumulateBn(x, gamma, beta, g);
    });
    return out;
  }

  /** A batch norm's gradients handed on: dx to x, dgamma and dbeta to its parameters (dropped where it has none). */
  private accumulateBn(x: Var, gamma: Param | null, beta: Param | null, g: { dx: Tensor; dgamma: Tensor; dbeta: Tensor }): void {
    if (gamma) this.accumulate(gamma, g.dgamma);
    else g.dgamma.dispose();
    if (beta) this.accumulate(beta, g.dbeta);
    else g.dbeta.dispose();
    this.accumulate(x, g.dx);
  }

  /** With recordRelus, the record of a ReLU on x (pushed to relus), else null. */
  private record(name: string, at: ReluPlace, x: Var): ReluRecord | null {
    if (!this.opts.recordRelus) return null;
    const rec: ReluRecord = { name, block: at.block, module: at.module, input: x.value };
    this.relus.push(rec);
    return rec;
  }

  relu(x: Var, at: ReluPlace, name = 'relu', six = false): Var {
    const y = this.out((six ? this.ops.relu6 : this.ops.relu)(x.value), x.requiresGrad);
    const rec = this.record(name, at, x);
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      const dx = (six ? this.ops.relu6Backward : this.ops.reluBackward)(y.grad, x.value);
      // The record holds this ReLU's own gradient until dispose(); x.grad shares it (copy-on-write).
      if (rec) rec.gradInput = this.share(this.track(dx));
      this.accumulate(x, dx);
    });
    return y;
  }

  avgPool(x: Var, p: Pool2dParams): Var {
    const y = this.out(this.ops.avgPool2d(x.value, p), x.requiresGrad);
    this.push(y.requiresGrad, () => {
      if (y.grad) this.accumulate(x, this.ops.avgPool2dBackward(y.grad, x.shape, p));
    });
    return y;
  }

  add(a: Var, b: Var): Var {
    const y = this.out(this.ops.add(a.value, b.value), a.requiresGrad || b.requiresGrad);
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      for (const v of [a, b]) if (this.needs(v)) this.accumulate(v, this.handOn(y.grad));
    });
    return y;
  }

  /**
   * (acc or 0) + mask[c] * x, x [N, C, ...], mask [C] a constant (no gradient): a channel-masked
   * skip or pool added to a node's sum in one op (stacked networks, whose masks are 0/1: the values
   * and gradients of conv(x, depthwise mask) then add, bit for bit). Backward: acc gets dy; x gets
   * mask[c] * dy, summed into a gradient it already has in the same op (a new tensor: a shared
   * gradient is never updated in place).
   */
  maskedAdd(acc: Var | null, x: Var, mask: Tensor): Var {
    const y = this.out(this.ops.maskedAdd(x.value, mask, acc?.value ?? null), (acc?.requiresGrad ?? false) || x.requiresGrad);
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      if (acc && this.needs(acc)) this.accumulate(acc, this.handOn(y.grad));
      if (!this.needs(x)) return;
      const old = x.grad;
      if (old === null || x instanceof Param) {
        this.accumulate(x, this.ops.maskedAdd(y.grad, mask, null));
        return;
      }
      // old + mask * dy as axpy(old, mask * dy) sums it, one dispatch fewer.
      x.grad = this.track(this.ops.maskedAdd(y.grad, mask, old));
      this.release(old);
    });
    return y;
  }

  /**
   * AutoSpace mixture: y = Σ_k softmax(logits)_k · outs[k] (K = outs.length, equal shapes,
   * logits [K]). Backward gives each output p_k·dL/dy and logits dL/dφ_i = p_i (g_i − Σ p_k g_k)
   * with g_k = Σ outs[k] ⊙ dL/dy. The probs and g_k tensors belong to the tape.
   */
  mixture(outs: Var[], logits: Param): Var {
    assertMixture('Tape.mixture', outs, logits);
    const probs = this.track(this.ops.fitnessSoftmax(logits.value));
    const y = this.out(
      this.ops.mixForward(
        outs.map((o) => o.value),
        probs,
      ),
      this.needs(logits) || outs.some((o) => this.needs(o)),
    );
    this.push(y.requiresGrad, () => {
      const dy = y.grad;
      if (!dy) return;
      const gDots = this.needs(logits) ? this.track(this.backend.empty([outs.length])) : null;
      const dOuts = outs.map((o) => (this.needs(o) ? this.backend.empty(o.shape) : null));
      this.ops.mixBackwardMany(
        outs.map((o) => o.value),
        dy,
        probs,
        dOuts,
        gDots,
      );
      outs.forEach((o, k) => {
        const d = dOuts[k];
        if (d) this.accumulate(o, d);
      });
      if (gDots) this.accumulate(logits, this.ops.fitnessGrad(probs, gDots));
    });
    return y;
  }

  globalAvgPool(x: Var): Var {
    const y = this.out(this.ops.globalAvgPool(x.value), x.requiresGrad);
    this.push(y.requiresGrad, () => {
      if (y.grad) this.accumulate(x, this.ops.globalAvgPoolBackward(y.grad, x.shape));
    });
    return y;
  }

  linear(x: Var, w: Param, b: Param | null): Var {
    const y = this.out(
      this.ops.linear(x.value, w.value, b?.value ?? null, this.precisionOpts()),
      this.needs(x) || this.needs(w) || this.needs(b),
    );
    if (this.opts.recordParamUses) this.paramUses.push({ kind: 'linear', weight: w, bias: b, input: x });
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      const g = this.ops.linearBackward(y.grad, x.value, w.value, b !== null, this.precisionOpts());
      this.accumulate(w, g.dw);
      if (b && g.db) this.accumulate(b, g.db);
      else g.db?.dispose();
      this.accumulate(x, g.dx);
    });
    return y;
  }

  /**
   * The same elements in another shape (a view: no copy forward; backward copies the gradient
   * into x's shape, the view being no tensor the gradient bookkeeping could share).
   */
  reshape(x: Var, shape: readonly number[]): Var {
    const view = x.value.view(shape);
    this.views.add(view);
    const y = this.out(view, x.requiresGrad);
    this.push(y.requiresGrad, () => {
      if (!y.grad || !this.needs(x)) return;
      const g = this.backend.empty(x.shape);
      this.backend.copy(y.grad, g);
      this.accumulate(x, g);
    });
    return y;
  }

  /** x [M, K] + b [K] on every row (a bias where linear() cannot hold the layer: a grouped classifier). */
  addBias(x: Var, b: Param): Var {
    const v = this.backend.empty(x.shape);
    this.backend.copy(x.value, v);
    this.ops.addBiasRows(v, b.value);
    const y = this.out(v, x.requiresGrad || this.needs(b));
    this.push(y.requiresGrad, () => {
      if (!y.grad) return;
      if (this.needs(b)) this.accumulate(b, this.ops.colSums(y.grad, b.value.size));
      if (this.needs(x)) this.accumulate(x, this.handOn(y.grad));
    });
    return y;
  }

  /**
   * Mean softmax cross-entropy; labels are f32 class indices [N]. Returns the [1] loss. `gradScale`
   * multiplies d(loss)/d(logits) (G stacked networks' logits as N*G rows: their mean over N*G rows
   * scaled by G is each network's own mean over N). `smoothing`: label smoothing ε (target
   * (1 - ε) one-hot + ε / classes), on the device.
   */
  crossEntropy(logits: Var, labels: Tensor, gradScale = 1, smoothing = 0): Var {
    const ce = this.ops.softmaxCrossEntropy(logits.value, labels, smoothing);
    const { loss } = ce;
    let { dlogits } = ce;
    if (gradScale !== 1) {
      const scaled = this.ops.scale(dlogits, gradScale);
      dlogits.dispose();
      dlogits = scaled;
    }
    this.track(dlogits);
    const out = this.out(loss, logits.requiresGrad);
    this.seedless.add(out);
    this.push(out.requiresGrad, () => {
      // d(loss)/d(logits) is already computed; the seed gradient of the loss is 1. The closure holds
      // dlogits (a retainGraph tape runs it again) and shares it with the logits.
      this.accumulate(logits, this.share(dlogits));
    });
    return out;
  }

  /**
   * Runs the backward closures. `seed` is dL/d(root) (default: ones, i.e. the gradient of the
   * sum of root's elements, which for a scalar loss is 1). A crossEntropy loss ignores its seed (its
   * gradient is computed in the forward): without one, none is uploaded and root.grad stays null.
   */
  backward(root: Var, seed?: Tensor): void {
    if (this.opts.noGrad) throw new Error('Tape.backward: this tape was created with noGrad');
    if (seed) root.grad = seed;
    else if (!this.seedless.has(root)) {
      root.grad = this.backend.upload(new Float32Array(root.value.size).fill(1), root.shape);
      this.owned.add(root.grad);
    }
    for (let i = this.backs.length - 1; i >= 0; i--) this.backs[i]();
    if (!this.opts.retainGraph) this.backs.length = 0;
  }

  /** retainGraph: frees the activation gradients of the last backward (parameters keep theirs). */
  resetGrads(): void {
    for (const v of this.gradded) {
      if (v.grad) this.release(v.grad);
      v.grad = null;
    }
    this.gradded.length = 0;
  }

  /** Frees every activation and gradient this tape created (parameters keep their grads). */
  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    this.holders.clear();
    this.views.clear();
    this.backs.length = 0;
    this.relus.length = 0;
    this.bns.length = 0;
    this.bnBatches.length = 0;
    this.paramUses.length = 0;
    this.gradded.length = 0;
  }
}
