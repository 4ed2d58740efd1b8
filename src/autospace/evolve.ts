/**
 * AutoSpace: evolve the search space itself. Every searchable layer of a layout keeps a population
 * of cells. One iteration:
 *  1. per layer, tournament-select K cells (the reference cell is always one of them while the
 *     reference guides, i.e. during the first `guideIterations`);
 *  2. build the mixture network (layer output = [x +] Σ_k softmax(φ)_k · cell_k(x), fitness kernels
 *     in shaders/fitness.wgsl through Tape.mixture) and train it for `steps` rounds: a weight step
 *     (SGD-Nesterov) on a train batch, then a fitness step on a validation batch where φ follows
 *     dL/dφ of CE + a MAdds-budget hinge on E[MAdds] = Σ_b Σ_k p_bk·MAdds_bk;
 *  3. fold each selected cell's learned share K·p_k into its fitness (running mean over the
 *     iterations it took part in: 1 = an average cell);
 *  4. every `replaceEvery` iterations, per layer, replace the worst evaluated cell by a mutation of a
 *     tournament winner, if the child fits the layer's MAdds share of the budget and is new to the
 *     population.
 * Cells keep their weights across iterations (shared-weight training, as in a supernet); a child
 * starts from its parent's weights on the nodes they share, fresh ones elsewhere. The top-K cells per layer by fitness are the learned space.
 */
import type { Gpu } from '../gpu/gpu.js';
import { augment } from '../data/cifar10.js';
import { cosineLr } from '../kernels/optim.js';
import { ParamStore } from '../nn/init.js';
import { Param, Tape, type Var } from '../nn/tape.js';
import { BatchStream, type SearchData, mixSeed } from '../proxyless/data.js';
import type { ProxylessLayout } from '../proxyless/layout.js';
import { WeightSgd } from '../proxyless/optimizers.js';
import { Rng } from '../util/rng.js';
import { softmax } from '../util/softmax.js';
import { type Cell, type LayerShape, MAX_NODES, cellMadds, formatCell, handDesignedCells, mbconvCell, mutateCell, referenceCell, zeroCell } from './cell.js';
import { CellModule } from './cell-module.js';
import { fixedMadds } from './net.js';
import { SPACE_FORMAT, SPACE_VERSION, type SpaceFile, layerShapes, layoutRef, spaceEntry } from './space-file.js';

export interface EvolveConfig {
  layout: ProxylessLayout;
  /** Whole-network multiply-adds budget (the E[MAdds] hinge and the per-layer mutation limit). */
  budgetMadds: number;
  populationSize: number;
  /** Cells mixed per layer in an iteration, and cells per layer in the learned space. */
  k: number;
  tournamentSize: number;
  iterations: number;
  /** Weight step + fitness step rounds per iteration. */
  steps: number;
  /** Weight-only steps before the first iteration, with uniform mixing weights (φ = 0). */
  warmupSteps: number;
  /**
   * What the warm-up mixes per layer: 'population' = every member (one fixed network, so the skeleton
   * and every cell train at every step, as a plain network would), 'random-k' = K random members per
   * step (cheaper per step, but a network that changes every step trains far slower).
   */
  warmupMix: 'population' | 'random-k';
  /** A mutated child starts from its parent's weights on the nodes they share (CellModule.inheritFrom). */
  inheritWeights: boolean;
  /**
   * Scale each cell's weight learning rate by the number of cells mixed in its layer. A cell's output
   * enters the mixture with weight p ≈ 1/n, so its gradient is n times smaller than alone: unscaled,
   * the mixed cells train n times slower than the skeleton and the fitness is learned on near-untrained
   * cells. Scaled, every cell's weights move as they would in a plain network.
   */
  scaleCellLr: boolean;
  /** A member is replaced only after taking part in this many iterations (fitness is noisy). */
  minEvaluations: number;
  /**
   * Replacement rounds happen every this many iterations. Each round swaps in about one half-trained
   * child per layer; one every iteration turns the population over faster than its cells can train,
   * and the mixture, and so the fitness, stays near chance.
   */
  replaceEvery: number;
  /** Iterations during which the reference cell is always mixed and never replaced. */
  guideIterations: number;
  /**
   * The starting populations: 'reference' = the reference cell, the zero cell where the layer has a
   * shortcut, then mutations of the reference; 'hand-designed' = the reference and the hand-designed
   * MBConv candidates (k3/5/7 x e3/6, zero) that fit the layer's budget, then mutations. The second
   * evolves a space from the one it is compared with: the data decides which hand cells survive.
   */
  init: 'reference' | 'hand-designed';
  /** Largest cell a mutation may produce (nodes; at most MAX_NODES). Deeper cells cost latency and train slower. */
  maxNodes: number;
  batchSize: number;
  weightLr: number;
  fitnessLr: number;
  /** Weight of the budget hinge λ·max(0, E[MAdds]/budget − 1). */
  budgetPenalty: number;
  /** A mutated cell may use up to this multiple of its layer's share of the budget. */
  layerSlack: number;
  augment: boolean;
  seed: number;
}

export const DEFAULT_EVOLVE: Omit<EvolveConfig, 'layout' | 'budgetMadds'> = {
  populationSize: 8,
  k: 4,
  tournamentSize: 3,
  iterations: 12,
  steps: 4,
  warmupSteps: 20,
  warmupMix: 'population',
  inheritWeights: true,
  scaleCellLr: true,
  minEvaluations: 2,
  replaceEvery: 3,
  guideIterations: 4,
  // Start and depth of the evolution whose space beat the hand-designed one on both criteria (README,
  // v9; that run also used guide 10, warm-up 120, 30 iterations: the defaults below stay short).
  init: 'hand-designed',
  maxNodes: 3,
  batchSize: 32,
  weightLr: 0.05,
  fitnessLr: 0.1,
  budgetPenalty: 2,
  layerSlack: 1.5,
  augment: true,
  seed: 1,
};

export interface Member {
  id: number;
  cell: Cell;
  key: string;
  madds: number;
  /** Running mean of K·p over the iterations it was mixed in; 1 before its first. */
  fitness: number;
  evaluated: number;
  reference: boolean;
  module: CellModule;
  store: ParamStore;
  sgd: WeightSgd;
}

export interface IterationEvent {
  iteration: number;
  iterations: number;
  trainLoss: number;
  trainAcc: number;
  valLoss: number;
  expectedMadds: number;
  /** Per layer: the selected cells and their learned softmax weights this iteration. */
  mixed: Array<Array<{ cell: string; p: number }>>;
  /** Cells replaced by mutations this iteration. */
  replaced: number;
  msPerStep: number;
}

export interface EvolveResult {
  space: SpaceFile;
  history: IterationEvent[];
  /** Final populations, best first. */
  populations: Array<Array<{ cell: string; madds: number; fitness: number; evaluated: number }>>;
  seconds: number;
}

interface ConvBn {
  w: Param;
  gamma: Param;
  beta: Param;
}

export function checkEvolveConfig(c: EvolveConfig): void {
  const pos = (n: number, what: string) => {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`evolve-space: ${what} must be a positive integer, got ${n}`);
  };
  pos(c.populationSize, 'population size');
  pos(c.k, 'k');
  pos(c.tournamentSize, 'tournament size');
  pos(c.iterations, 'iterations');
  pos(c.steps, 'steps');
  if (!(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0)) throw new RangeError(`evolve-space: warm-up steps must be an integer >= 0, got ${c.warmupSteps}`);
  if (!(Number.isInteger(c.minEvaluations) && c.minEvaluations >= 1)) throw new RangeError(`evolve-space: minEvaluations must be a positive integer, got ${c.minEvaluations}`);
  pos(c.replaceEvery, 'replaceEvery');
  if (!(Number.isInteger(c.maxNodes) && c.maxNodes >= 1 && c.maxNodes <= MAX_NODES)) {
    throw new RangeError(`evolve-space: maxNodes must be an integer from 1 to ${MAX_NODES}, got ${c.maxNodes}`);
  }
  if (c.init !== 'reference' && c.init !== 'hand-designed') throw new RangeError(`evolve-space: init must be 'reference' or 'hand-designed', got '${c.init}'`);
  pos(c.batchSize, 'batch size');
  if (c.k > c.populationSize) throw new RangeError(`evolve-space: k (${c.k}) cannot exceed the population size (${c.populationSize})`);
  if (!(c.budgetMadds > 0)) throw new RangeError(`evolve-space: the MAdds budget must be > 0, got ${c.budgetMadds}`);
  const fixed = fixedMadds(c.layout);
  if (c.budgetMadds <= fixed) {
    throw new RangeError(`evolve-space: budget ${(c.budgetMadds / 1e6).toFixed(2)} M MAdds leaves nothing for the searchable layers (stem, first block and head alone take ${(fixed / 1e6).toFixed(2)} M)`);
  }
}

export class AutoSpace {
  readonly shapes: LayerShape[];
  readonly populations: Member[][];
  readonly history: IterationEvent[] = [];
  /** Per-layer MAdds allowance for mutations. */
  readonly layerBudget: number[];
  private readonly skeleton: ParamStore;
  private readonly skeletonSgd: WeightSgd;
  private readonly stem: ConvBn;
  private readonly first: CellModule;
  private readonly mix: ConvBn;
  private readonly fcW: Param;
  private readonly fcB: Param;
  private readonly trainStream: BatchStream;
  private readonly valStream: BatchStream;
  private readonly rng: Rng;
  private nextId = 0;
  private iteration = 0;
  private warmedUp = false;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: EvolveConfig,
    readonly data: SearchData,
  ) {
    checkEvolveConfig(cfg);
    const L = cfg.layout;
    if (L.inputSize !== 32) throw new RangeError(`evolve-space trains on CIFAR-10 (32×32): layout ${L.name} takes ${L.inputSize}`);
    this.rng = new Rng(mixSeed(cfg.seed, 0xa5));
    this.shapes = layerShapes(L);
    const s = (this.skeleton = new ParamStore(gpu, new Rng(mixSeed(cfg.seed, 0x5e))));
    const convBn = (name: string, shape: number[]): ConvBn => ({
      w: s.weight(name, shape),
      gamma: s.constant(`${name}.bn.gamma`, 'bn_gamma', shape[0], 1),
      beta: s.constant(`${name}.bn.beta`, 'bn_beta', shape[0], 0),
    });
    const h0 = Math.ceil(L.inputSize / L.stemStride);
    this.stem = convBn('stem', [L.stemC, 3, 3, 3]);
    this.first = new CellModule(s, 'first', mbconvCell(3, 1), { inC: L.stemC, outC: L.firstBlockC, stride: 1, inH: h0 });
    const lastC = this.shapes[this.shapes.length - 1].outC;
    this.mix = convBn('mix', [L.featureMixC, lastC, 1, 1]);
    this.fcW = s.weight('fc.w', [L.classes, L.featureMixC], 'linear');
    this.fcB = s.bias('fc.b', L.classes, L.featureMixC);
    this.skeletonSgd = new WeightSgd(gpu, s.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });

    // Each layer's share of the searchable budget is proportional to the reference cell's MAdds there.
    const refMadds = this.shapes.map((sh) => cellMadds(referenceCell(sh), sh));
    const free = cfg.budgetMadds - fixedMadds(L);
    const refTotal = refMadds.reduce((a, b) => a + b, 0);
    this.layerBudget = refMadds.map((m) => (cfg.layerSlack * free * m) / refTotal);

    // Warm start from the reference: the reference cell, then (init 'hand-designed') the hand-designed
    // candidates that fit, or (init 'reference') the zero cell where the layer has a shortcut, so 'skip
    // this layer' competes from the start; then mutations of the reference to fill the population.
    this.populations = this.shapes.map((sh, b) => {
      const ref = referenceCell(sh);
      const pop: Member[] = [this.member(b, ref, true)];
      const seen = new Set([pop[0].key]);
      const add = (c: Cell) => {
        const key = formatCell(c);
        if (pop.length >= cfg.populationSize || seen.has(key) || !this.fits(b, c)) return false;
        seen.add(key);
        pop.push(this.member(b, c, false));
        return true;
      };
      if (cfg.init === 'hand-designed') handDesignedCells(sh).forEach(add);
      else if (sh.stride === 1 && sh.inC === sh.outC) add(zeroCell());
      let parent = ref;
      for (let tries = 0; pop.length < cfg.populationSize && tries < 200 * cfg.populationSize; tries++) {
        const child = mutateCell(parent, sh, this.rng, { maxNodes: cfg.maxNodes });
        if (add(child)) parent = this.rng.next() < 0.5 ? ref : child; // explore one and two mutations away
      }
      return pop;
    });
    this.trainStream = new BatchStream(data.train, cfg.batchSize, mixSeed(cfg.seed, 1));
    this.valStream = new BatchStream(data.val, cfg.batchSize, mixSeed(cfg.seed, 2));
  }

  /** SGD step of the skeleton and every selected cell (cells scaled by their layer's mixture size). */
  private stepWeights(selected: Member[][], lr: number): void {
    this.skeletonSgd.step(lr);
    for (const sel of selected) for (const m of sel) m.sgd.step(this.cfg.scaleCellLr ? lr * sel.length : lr);
  }

  private fits(b: number, cell: Cell): boolean {
    return cellMadds(cell, this.shapes[b]) <= this.layerBudget[b];
  }

  private member(b: number, cell: Cell, reference: boolean): Member {
    const id = this.nextId++;
    const store = new ParamStore(this.gpu, new Rng(mixSeed(this.cfg.seed, 0xce11, id)));
    const module = new CellModule(store, `l${b}.m${id}`, cell, this.shapes[b]);
    const sgd = new WeightSgd(this.gpu, store.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
    return { id, cell, key: formatCell(cell), madds: cellMadds(cell, this.shapes[b]), fitness: 1, evaluated: 0, reference, module, store, sgd };
  }

  private dropMember(m: Member): void {
    m.sgd.dispose();
    m.store.dispose();
  }

  /** K distinct members by repeated tournaments (fittest of `tournamentSize` random picks). */
  select(b: number): Member[] {
    const pop = this.populations[b];
    const k = Math.min(this.cfg.k, pop.length);
    const chosen: Member[] = [];
    if (this.iteration < this.cfg.guideIterations) chosen.push(pop.find((m) => m.reference)!);
    while (chosen.length < k) {
      const rest = pop.filter((m) => !chosen.includes(m));
      let best: Member | null = null;
      for (let t = 0; t < Math.min(this.cfg.tournamentSize, rest.length); t++) {
        const c = this.rng.pick(rest);
        // Unevaluated cells win ties so every newcomer gets measured.
        if (!best || c.fitness > best.fitness || (c.fitness === best.fitness && c.evaluated < best.evaluated)) best = c;
      }
      chosen.push(best!);
    }
    return chosen;
  }

  private convBn(t: Tape, x: Var, m: ConvBn, stride: number, pad: number, act: boolean, name: string): Var {
    const c = t.conv(x, m.w, { stride, pad, groups: 1 });
    const y = t.batchNorm(c, m.gamma, m.beta, `${name}.bn`);
    return act ? t.relu(y, 0, `${name}.relu6`, true) : y;
  }

  /** Mixture forward: the selected cells of each layer, weighted by softmax(φ_b). */
  forward(t: Tape, x: Var, selected: Member[][], phi: Param[]): Var {
    const L = this.cfg.layout;
    let h = this.convBn(t, x, this.stem, L.stemStride, 1, true, 'stem');
    h = this.first.forward(t, h, 0, 'first')!;
    this.shapes.forEach((sh, b) => {
      const outs = selected[b].map((m) => {
        const o = m.module.forward(t, h, b + 1, `l${b}.m${m.id}`);
        if (o) return o;
        const n = h.shape[0];
        const ho = Math.ceil(sh.inH / sh.stride);
        return t.input(t.adopt(this.gpu.zeros([n, sh.outC, ho, ho])), false);
      });
      const y = t.mixture(outs, phi[b]);
      h = sh.stride === 1 && sh.inC === sh.outC ? t.add(h, y) : y;
    });
    h = this.convBn(t, h, this.mix, 1, 0, true, 'mix');
    return t.linear(t.globalAvgPool(h), this.fcW, this.fcB);
  }

  private batch(stream: BatchStream, key: number, aug: boolean): { x: Float32Array; y: Float32Array; n: number } {
    const b = stream.batchAt(key);
    return { x: aug && this.cfg.augment ? augment(b.x, b.n, new Rng(mixSeed(this.cfg.seed, 9, key))) : b.x, y: b.y, n: b.n };
  }

  /**
   * Warm-up: weight steps before any fitness is learned, so the first fitness comparisons are between
   * cells (and a skeleton) that have trained at all. Each step mixes the whole population (or K random
   * members, `warmupMix`) per layer with uniform weights (φ = 0); returns the mean training loss.
   */
  async warmup(onStep?: (step: number, loss: number) => void): Promise<number> {
    const cfg = this.cfg;
    let total = 0;
    for (let s = 0; s < cfg.warmupSteps; s++) {
      const selected = this.populations.map((pop) => (cfg.warmupMix === 'population' ? [...pop] : this.rng.shuffle([...pop]).slice(0, Math.min(cfg.k, pop.length))));
      const phi = selected.map((sel, b) => new Param(this.gpu.zeros([sel.length]), `fitness.l${b}`, 'bias'));
      try {
        const lr = cfg.weightLr;
        const r = await this.pass(this.batch(this.trainStream, s, true), selected, phi, 'all', async () => this.stepWeights(selected, lr));
        total += r.loss;
        onStep?.(s + 1, r.loss);
      } finally {
        for (const p of phi) p.value.dispose();
      }
    }
    this.warmedUp = true;
    return cfg.warmupSteps ? total / cfg.warmupSteps : NaN;
  }

  /** One iteration (selection, mixture training, fitness update, mutation). */
  async step(onEvent?: (e: IterationEvent) => void): Promise<IterationEvent> {
    const cfg = this.cfg;
    const gpu = this.gpu;
    const it = this.iteration;
    const selected = this.shapes.map((_, b) => this.select(b));
    const phiCpu = selected.map((sel) => new Float64Array(sel.length));
    const adam = selected.map((sel) => new Float64Array(sel.length));
    let fitnessV = 0;
    const phi = selected.map((sel, b) => new Param(gpu.zeros([sel.length]), `fitness.l${b}`, 'bias'));
    const madds = selected.map((sel) => sel.map((m) => m.madds));
    const fixed = fixedMadds(cfg.layout);
    let trainLoss = 0;
    let trainAcc = 0;
    let valLoss = 0;
    let expected = 0;
    const t0 = performance.now();
    try {
      for (let s = 0; s < cfg.steps; s++) {
        const key = it * cfg.steps + s;
        // Weight step (train split): every selected cell and the skeleton move.
        {
          const lr = cosineLr(cfg.weightLr, key, cfg.iterations * cfg.steps);
          const b = this.batch(this.trainStream, cfg.warmupSteps + key, true);
          const r = await this.pass(b, selected, phi, 'all', async () => this.stepWeights(selected, lr));
          trainLoss += r.loss / cfg.steps;
          trainAcc += r.acc / cfg.steps;
        }
        // Fitness step (validation split): φ follows dCE/dφ plus the budget hinge. Adam on the CPU (K values
        // per layer) with one second moment shared by all φ: per-element Adam would rescale every layer's
        // gradient to unit size, so a 5 k-MAdds difference in a 2×2 layer would push as hard as 500 k in the
        // first layer, and the layers whose CE signal is weak would follow the budget term alone.
        {
          const b = this.batch(this.valStream, key, false);
          const r = await this.pass(b, selected, phi, new Set(phi), async () => {
            const grads = await Promise.all(phi.map((p) => (p.grad ? p.grad.read() : Promise.resolve(new Float32Array(p.value.size)))));
            const probs = phiCpu.map((z) => softmax(z));
            expected = fixed + probs.reduce((acc, p, b) => acc + p.reduce((a, pk, k) => a + pk * madds[b][k], 0), 0);
            const over = expected / cfg.budgetMadds - 1;
            const g = phiCpu.map((z, b) => {
              const p = probs[b];
              const mean = p.reduce((a, pk, k) => a + pk * madds[b][k], 0);
              // ∂/∂φ_k of λ·max(0, E/B − 1) = λ/B · p_k (m_k − Σ_j p_j m_j)
              return Array.from(z, (_, k) => grads[b][k] + (over > 0 ? (cfg.budgetPenalty / cfg.budgetMadds) * p[k] * (madds[b][k] - mean) : 0));
            });
            const flat = g.flat();
            fitnessV = 0.999 * fitnessV + (0.001 * flat.reduce((a, x) => a + x * x, 0)) / flat.length;
            const vh = fitnessV / (1 - 0.999 ** (s + 1));
            phiCpu.forEach((z, b) => {
              const m = adam[b];
              for (let k = 0; k < z.length; k++) {
                m[k] = 0.9 * m[k] + 0.1 * g[b][k];
                const mh = m[k] / (1 - 0.9 ** (s + 1));
                z[k] -= (cfg.fitnessLr * mh) / (Math.sqrt(vh) + 1e-8);
              }
              gpu.write(phi[b].value, Float32Array.from(z));
            });
          });
          valLoss += r.loss / cfg.steps;
        }
      }
    } finally {
      for (const p of phi) {
        p.zeroGrad();
        p.value.dispose();
      }
    }
    const msPerStep = (performance.now() - t0) / (2 * cfg.steps);

    // Fold the learned shares into the fitness (running mean; K·p = 1 for an average cell).
    const mixed = selected.map((sel, b) => {
      const p = softmax(phiCpu[b]);
      return sel.map((m, k) => {
        const share = sel.length * p[k];
        m.fitness = (m.fitness * m.evaluated + share) / (m.evaluated + 1);
        m.evaluated++;
        return { cell: m.key, p: p[k] };
      });
    });
    const replaced = (it + 1) % cfg.replaceEvery === 0 ? this.mutatePopulations() : 0;
    this.iteration++;
    const ev: IterationEvent = { iteration: this.iteration, iterations: cfg.iterations, trainLoss, trainAcc, valLoss, expectedMadds: expected, mixed, replaced, msPerStep };
    this.history.push(ev);
    onEvent?.(ev);
    return ev;
  }

  private async pass(
    b: { x: Float32Array; y: Float32Array; n: number },
    selected: Member[][],
    phi: Param[],
    paramGrads: 'all' | ReadonlySet<Param>,
    update: () => Promise<void>,
  ): Promise<{ loss: number; acc: number }> {
    const gpu = this.gpu;
    // Fitness steps differentiate φ only: no weight-gradient convolutions.
    const t = new Tape(gpu, { paramGrads });
    const x = gpu.upload(b.x, [b.n, 3, 32, 32]);
    const y = gpu.upload(b.y);
    try {
      const logits = this.forward(t, t.input(x), selected, phi);
      const loss = t.crossEntropy(logits, y);
      t.backward(loss);
      await update();
      const [l, z] = await Promise.all([loss.value.read(), logits.value.read()]);
      let correct = 0;
      const C = this.cfg.layout.classes;
      for (let i = 0; i < b.n; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (z[i * C + c] > z[i * C + best]) best = c;
        if (best === b.y[i]) correct++;
      }
      return { loss: l[0], acc: correct / b.n };
    } finally {
      this.skeleton.zeroGrad();
      for (const sel of selected) for (const m of sel) m.store.zeroGrad();
      for (const p of phi) p.zeroGrad();
      t.dispose();
      x.dispose();
      y.dispose();
    }
  }

  /** Per layer: the worst evaluated (unprotected) member gives way to a mutation of a tournament winner. */
  private mutatePopulations(): number {
    let replaced = 0;
    this.populations.forEach((pop, b) => {
      const protect = (m: Member) => m.reference && this.iteration < this.cfg.guideIterations;
      const candidates = pop.filter((m) => m.evaluated >= this.cfg.minEvaluations && !protect(m));
      if (!candidates.length) return;
      const worst = candidates.reduce((w, m) => (m.fitness < w.fitness ? m : w));
      let parent = this.rng.pick(pop);
      for (let t = 1; t < this.cfg.tournamentSize; t++) {
        const c = this.rng.pick(pop);
        if (c.fitness > parent.fitness) parent = c;
      }
      if (parent === worst) return;
      const keys = new Set(pop.map((m) => m.key));
      for (let tries = 0; tries < 50; tries++) {
        let child: Cell;
        try {
          child = mutateCell(parent.cell, this.shapes[b], this.rng, { maxNodes: this.cfg.maxNodes });
        } catch {
          return;
        }
        const key = formatCell(child);
        if (keys.has(key) || !this.fits(b, child)) continue;
        const m = this.member(b, child, false);
        m.fitness = parent.fitness; // inherits its parent's standing until measured
        if (this.cfg.inheritWeights) m.module.inheritFrom(parent.module, (src, dst) => this.gpu.copy(src.value, dst.value));
        pop[pop.indexOf(worst)] = m;
        this.dropMember(worst);
        replaced++;
        return;
      }
    });
    return replaced;
  }

  async run(onEvent?: (e: IterationEvent) => void, onWarmup?: (step: number, loss: number) => void): Promise<EvolveResult> {
    const t0 = performance.now();
    if (!this.warmedUp) await this.warmup(onWarmup);
    while (this.iteration < this.cfg.iterations) await this.step(onEvent);
    return this.result((performance.now() - t0) / 1000);
  }

  /** Evaluated members first, then by fitness. */
  ranked(b: number): Member[] {
    return [...this.populations[b]].sort((a, c) => Number(c.evaluated > 0) - Number(a.evaluated > 0) || c.fitness - a.fitness);
  }

  result(seconds = 0): EvolveResult {
    const cfg = this.cfg;
    const space: SpaceFile = {
      format: SPACE_FORMAT,
      version: SPACE_VERSION,
      source: 'autospace',
      layout: layoutRef(cfg.layout),
      budgetMadds: cfg.budgetMadds,
      createdAt: new Date().toISOString(),
      meta: {
        seed: cfg.seed,
        iterations: this.iteration,
        populationSize: cfg.populationSize,
        k: cfg.k,
        steps: cfg.steps,
        batchSize: cfg.batchSize,
        data: `CIFAR-10 train ${this.data.train.count} / val ${this.data.val.count}`,
      },
      layers: this.shapes.map((shape, b) => ({
        shape,
        cells: this.ranked(b)
          .slice(0, cfg.k)
          .map((m) => spaceEntry(m.cell, shape, m.fitness)),
      })),
    };
    return {
      space,
      history: this.history,
      populations: this.shapes.map((_, b) => this.ranked(b).map((m) => ({ cell: m.key, madds: m.madds, fitness: m.fitness, evaluated: m.evaluated }))),
      seconds,
    };
  }

  dispose(): void {
    for (const pop of this.populations) for (const m of pop) this.dropMember(m);
    this.skeletonSgd.dispose();
    this.skeleton.dispose();
  }
}
