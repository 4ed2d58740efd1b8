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
 * starts from its parent's weights on the nodes they share, fresh ones elsewhere. The top-K cells
 * per layer by fitness are the learned space. Settings: evolve-config.ts; populations, selection and
 * mutation: population.ts; the fitness logits' optimizer: fitness.ts.
 *
 * Checkpoints (run's `checkpoint`): after every iteration and every `every` warm-up steps, the whole
 * state (skeleton and cell weights with their momentum, populations, the evolution's generator,
 * counters, history) through nn/checkpoint.ts, so a resumed run ends bit for bit where an
 * uninterrupted one does (batches and augmentation are pure in (seed, step); φ lives within an
 * iteration). What a checkpoint must agree on: resume-state.ts.
 */
import type { Backend, Tensor } from '../backend/index.js';
import {
  type BatchSource,
  batchSource,
  checkSplitClasses,
  isStreamed,
  resizeNearest,
  type SearchImages,
} from '../data/batch-stream.js';
import { augment } from '../data/cifar10.js';
import { cosineLr } from '../kernels/optim.js';
import type { LayerShape } from '../mobilenet/cell.js';
import { fixedMadds } from '../mobilenet/madds.js';
import { mixtureForward } from '../mobilenet/mixture-layer.js';
import { Skeleton } from '../mobilenet/skeleton.js';
import { SPACE_FORMAT, SPACE_VERSION, type SpaceFile } from '../mobilenet/space.js';
import { layoutRef, spaceEntry } from '../mobilenet/space-file.js';
import { accuracy } from '../mobilenet/train.js';
import { ParamStore } from '../nn/init.js';
import { stepWeightSgds, TrainingDivergedError, WeightSgd } from '../nn/optim.js';
import { Param, Tape, type Var } from '../nn/tape.js';
import {
  applyCheckpoint,
  type CheckpointState,
  matchCheckpoint,
  readCheckpointBinaries,
  saveCheckpoint,
} from '../nn/checkpoint.js';
import { killPoint } from '../util/durable.js';
import { Rng } from '../util/rng.js';
import type { RunSettings } from '../util/run-settings.js';
import { mixSeed } from '../util/seed.js';
import { type EvolveConfig, type EvolveResult, type IterationEvent, checkEvolveConfig } from './evolve-config.js';
import { FitnessLogits } from './fitness.js';
import { type Member, Populations } from './population.js';
import { EVOLVE_CHECKPOINT_KIND, checkEvolveSettings, validateEvolveState } from './resume-state.js';

export { DEFAULT_EVOLVE, type EvolveConfig, type EvolveResult, type IterationEvent, checkEvolveConfig } from './evolve-config.js';
export type { Member } from './population.js';

type Batch = { x: Float32Array; y: Float32Array; n: number };

/** Where and how often a run saves (see the file comment). */
export interface EvolveCheckpointing {
  dir: string;
  /** Warm-up steps between saves (0: only at the end of the warm-up); every iteration ends with one. */
  every: number;
  /** The run's settings by flag, recorded with each save and checked on resume. */
  settings: RunSettings;
}

export class AutoSpace {
  readonly shapes: LayerShape[];
  readonly history: IterationEvent[] = [];
  private readonly pops: Populations;
  private readonly store: ParamStore;
  private readonly skeleton: Skeleton<never>;
  private readonly skeletonSgd: WeightSgd;
  private readonly trainStream: BatchSource;
  private readonly valStream: BatchSource;
  private readonly rng: Rng;
  private iteration = 0;
  private warmedUp = false;
  /** Warm-up steps done and the sum of their losses (a checkpoint can fall inside the warm-up). */
  private warmupDone = 0;
  private warmupLossSum = 0;
  /** Seconds of the segments before a resume. */
  private secondsBefore = 0;

  constructor(
    readonly backend: Backend,
    readonly cfg: EvolveConfig,
    readonly data: SearchImages,
  ) {
    checkEvolveConfig(cfg);
    checkSplitClasses(data.train, cfg.layout.classes, 'AutoSpace', 'train');
    checkSplitClasses(data.val, cfg.layout.classes, 'AutoSpace', 'val');
    const L = cfg.layout;
    this.rng = new Rng(mixSeed(cfg.seed, 0xa5));
    // The skeleton's own weights; the cells live in their members' stores (built per step into mixtures).
    this.store = new ParamStore(backend, new Rng(mixSeed(cfg.seed, 0x5e)));
    this.skeleton = new Skeleton<never>(this.store, L, () => [], cfg.bnEps);
    this.shapes = this.skeleton.shapes;
    this.skeletonSgd = new WeightSgd(backend, this.store.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
    this.pops = new Populations(backend, cfg, this.shapes, this.rng);
    this.trainStream = batchSource(data.train, cfg.batchSize, mixSeed(cfg.seed, 1));
    this.valStream = batchSource(data.val, cfg.batchSize, mixSeed(cfg.seed, 2));
  }

  /** Every layer's population (members keep their weights across iterations). */
  get populations(): Member[][] {
    return this.pops.members;
  }

  /** Per-layer MAdds allowance for mutations. */
  get layerBudget(): number[] {
    return this.pops.layerBudget;
  }

  /** K distinct members of layer b by repeated tournaments (the reference among them while it guides). */
  select(b: number): Member[] {
    return this.pops.select(b, this.iteration < this.cfg.guideIterations);
  }

  /** Evaluated members first, then by fitness. */
  ranked(b: number): Member[] {
    return this.pops.ranked(b);
  }

  /** SGD step of the skeleton and every selected cell (cells scaled by their layer's mixture size). */
  private stepWeights(selected: Member[][], lr: number): void {
    // One multi-tensor update for all of them (WeightSgd.step each, in fewer dispatches).
    stepWeightSgds([
      { sgd: this.skeletonSgd, lr },
      ...selected.flatMap((sel) => sel.map((m) => ({ sgd: m.sgd, lr: this.cfg.scaleCellLr ? lr * sel.length : lr }))),
    ]);
  }

  /** Mixture forward: the selected cells of each layer, weighted by softmax(φ_b). */
  forward(t: Tape, x: Var, selected: Member[][], phi: Param[]): Var {
    return this.skeleton.forward(t, x, (_, b, h, at) =>
      mixtureForward(
        t,
        h,
        selected[b].map((m) => m.module),
        phi[b],
        this.shapes[b],
        at,
      ),
    ).logits;
  }

  /**
   * Batch `key` of a split as the layout's input: an image folder comes decoded at the layout's size;
   * in-memory CIFAR images are upscaled (nearest) when the layout is larger than 32.
   */
  private async batch(stream: BatchSource, key: number, aug: boolean): Promise<Batch> {
    const b = await stream.batchAt(key);
    const x = aug && this.cfg.augment ? augment(b.x, b.n, new Rng(mixSeed(this.cfg.seed, 9, key)), stream.geometry) : b.x;
    return { x: resizeNearest(x, b.n, 3, stream.geometry.size, this.cfg.layout.inputSize), y: b.y, n: b.n };
  }

  /** The weights diverged: the loss of a weight (or, right after one, a fitness) step is not finite. */
  private checkLoss(loss: number, at: string, split: 'training' | 'validation'): void {
    if (!Number.isFinite(loss))
      throw new TrainingDivergedError(at, `the ${split} loss is ${loss}`, { value: this.cfg.weightLr, flag: '--lr' });
  }

  /**
   * Warm-up: weight steps before any fitness is learned, so the first fitness comparisons are between
   * cells (and a skeleton) that have trained at all. Each step mixes the whole population (or K random
   * members, `warmupMix`) per layer with uniform weights (φ = 0); returns the mean training loss.
   */
  async warmup(onStep?: (step: number, loss: number) => void, save?: (step: number) => Promise<void>): Promise<number> {
    const cfg = this.cfg;
    if (this.warmedUp) {
      this.warmupDone = 0;
      this.warmupLossSum = 0;
    }
    for (let s = this.warmupDone; s < cfg.warmupSteps; s++) {
      const selected = this.populations.map((pop) =>
        cfg.warmupMix === 'population' ? [...pop] : this.rng.shuffle([...pop]).slice(0, Math.min(cfg.k, pop.length)),
      );
      const phi = selected.map((sel, b) => new Param(this.backend.zeros([sel.length]), `fitness.l${b}`, 'bias'));
      try {
        const lr = cfg.weightLr;
        const r = await this.pass(await this.batch(this.trainStream, s, true), selected, phi, 'all', {
          update: () => this.stepWeights(selected, lr),
        });
        this.checkLoss(r.loss, `warm-up step ${s + 1}`, 'training');
        this.warmupLossSum += r.loss;
        this.warmupDone = s + 1;
        onStep?.(s + 1, r.loss);
      } finally {
        for (const p of phi) p.value.dispose();
      }
      await save?.(s + 1);
    }
    this.warmedUp = true;
    return cfg.warmupSteps ? this.warmupLossSum / cfg.warmupSteps : NaN;
  }

  /** One iteration (selection, mixture training, fitness update, mutation). */
  async step(onEvent?: (e: IterationEvent) => void): Promise<IterationEvent> {
    const cfg = this.cfg;
    const backend = this.backend;
    const it = this.iteration;
    const selected = this.shapes.map((_, b) => this.select(b));
    const fitness = new FitnessLogits(
      selected.map((sel) => sel.map((m) => m.madds)),
      fixedMadds(cfg.layout),
      { budgetMadds: cfg.budgetMadds, budgetPenalty: cfg.budgetPenalty, lr: cfg.fitnessLr },
    );
    const phi = selected.map((sel, b) => new Param(backend.zeros([sel.length]), `fitness.l${b}`, 'bias'));
    let trainLoss = 0;
    let trainAcc = 0;
    let valLoss = 0;
    let expected = 0;
    const t0 = performance.now();
    try {
      for (let s = 0; s < cfg.steps; s++) {
        const key = it * cfg.steps + s;
        const at = (kind: string) => `iteration ${it + 1}, ${kind} step ${s + 1}`;
        // Weight step (train split): every selected cell and the skeleton move.
        {
          const lr = cosineLr(cfg.weightLr, key, cfg.iterations * cfg.steps);
          const b = await this.batch(this.trainStream, cfg.warmupSteps + key, true);
          const r = await this.pass(b, selected, phi, 'all', { update: () => this.stepWeights(selected, lr) });
          this.checkLoss(r.loss, at('weight'), 'training');
          trainLoss += r.loss / cfg.steps;
          trainAcc += r.acc / cfg.steps;
        }
        // Fitness step (validation split): φ follows dCE/dφ plus the budget hinge (fitness.ts).
        {
          const b = await this.batch(this.valStream, key, false);
          // Every layer's dCE/dφ, read with the loss (a layer without one reads as zeros).
          const withGrad = () => phi.filter((p) => p.grad);
          const r = await this.pass(b, selected, phi, new Set(phi), {
            reads: () => withGrad().map((p) => p.grad!),
            update: (read) => {
              const got = withGrad();
              const grads = phi.map((p) => read[got.indexOf(p)] ?? new Float32Array(p.value.size));
              expected = fitness.step(grads);
              fitness.phi.forEach((z, b) => backend.write(phi[b].value, Float32Array.from(z)));
            },
          });
          // A non-finite validation loss with finite φ means the weights broke in the weight step before.
          this.checkLoss(r.loss, at('fitness'), 'validation');
          if (!fitness.finite())
            throw new TrainingDivergedError(at('fitness'), 'the fitness logits φ are not finite', {
              value: cfg.fitnessLr,
              flag: '--fitness-lr',
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
    const probs = fitness.probs();
    const mixed = selected.map((sel, b) => {
      const p = probs[b];
      return sel.map((m, k) => {
        const share = sel.length * p[k];
        m.fitness = (m.fitness * m.evaluated + share) / (m.evaluated + 1);
        m.evaluated++;
        return { cell: m.key, p: p[k] };
      });
    });
    const replaced = (it + 1) % cfg.replaceEvery === 0 ? this.pops.replaceWorst(it < cfg.guideIterations) : 0;
    this.iteration++;
    const ev: IterationEvent = {
      iteration: this.iteration,
      iterations: cfg.iterations,
      trainLoss,
      trainAcc,
      valLoss,
      expectedMadds: expected,
      mixed,
      replaced,
      msPerStep,
    };
    this.history.push(ev);
    onEvent?.(ev);
    return ev;
  }

  /**
   * A forward and backward on batch b, then `update`: with the values of `reads` (tensors after the
   * backward), read together with the loss and logits in one wait; without reads, before that wait
   * (a weight update then goes to the GPU with the step).
   */
  private async pass(
    b: Batch,
    selected: Member[][],
    phi: Param[],
    paramGrads: 'all' | ReadonlySet<Param>,
    o: { update: (values: Float32Array[]) => void; reads?: () => Tensor[] },
  ): Promise<{ loss: number; acc: number }> {
    const backend = this.backend;
    // Fitness steps differentiate φ only: no weight-gradient convolutions.
    const t = new Tape(backend, { paramGrads });
    const S = this.cfg.layout.inputSize;
    const x = backend.upload(b.x, [b.n, 3, S, S]);
    const y = backend.upload(b.y);
    try {
      const logits = this.forward(t, t.input(x), selected, phi);
      const loss = t.crossEntropy(logits, y);
      t.backward(loss);
      const extra = o.reads?.() ?? [];
      if (!o.reads) o.update([]);
      const [l, z, ...values] = await backend.readMany([loss.value, logits.value, ...extra]);
      if (o.reads) o.update(values);
      return { loss: l[0], acc: accuracy(z, b.y) };
    } finally {
      this.store.zeroGrad();
      for (const sel of selected) for (const m of sel) m.store.zeroGrad();
      for (const p of phi) p.zeroGrad();
      t.dispose();
      x.dispose();
      y.dispose();
    }
  }

  /**
   * Warm-up (unless done), then the remaining iterations. Progress goes to the callbacks: one event
   * per iteration, one call per warm-up step.
   */
  async run(
    onEvent?: (e: IterationEvent) => void,
    onWarmup?: (step: number, loss: number) => void,
    checkpoint?: EvolveCheckpointing,
  ): Promise<EvolveResult> {
    const t0 = performance.now();
    const seconds = () => this.secondsBefore + (performance.now() - t0) / 1000;
    const save = checkpoint ? (at: () => number) => this.save(checkpoint.dir, checkpoint.settings, at()) : undefined;
    if (!this.warmedUp) {
      const every = checkpoint?.every ?? 0;
      await this.warmup(onWarmup, async (s) => {
        if ((every > 0 && s % every === 0) || s === this.cfg.warmupSteps) await save?.(seconds);
      });
    }
    while (this.iteration < this.cfg.iterations) {
      await this.step(onEvent);
      await save?.(seconds);
    }
    return this.result(seconds());
  }

  /** Iterations and warm-up steps done (a resumed run starts from these). */
  get progress(): { warmup: number; iterations: number } {
    return { warmup: this.warmupDone, iterations: this.iteration };
  }

  /** Saves the whole state into `dir` (nn/checkpoint.ts: one rename switches it in). */
  async save(dir: string, settings: RunSettings, seconds: number): Promise<void> {
    killPoint('evolve.save');
    const { params, momentum } = this.tensors();
    await saveCheckpoint(dir, params, momentum, {
      kind: EVOLVE_CHECKPOINT_KIND,
      layout: this.cfg.layout,
      settings,
      counters: {
        iteration: this.iteration,
        warmup: this.warmupDone,
        warmupLossSum: this.warmupLossSum,
        seconds,
      },
      rng: this.rng.snapshot(),
      populations: this.pops.saved(),
      history: this.history,
    });
  }

  /**
   * Continues from a checkpoint's state.json already read (its settings are checked again here, with
   * `settings`, this run's) and its binaries, verified against its manifest. The settings, state.json
   * and binaries are checked before anything changes; tensors that do not match the rebuilt
   * populations end in one CheckpointError line (the run stops, this object is then only disposed).
   */
  restore(ck: CheckpointState, settings: RunSettings): void {
    checkEvolveSettings(ck, this.cfg.layout, settings);
    const st = validateEvolveState(ck.meta, this.cfg, this.shapes, `${ck.path}/state.json`);
    const data = readCheckpointBinaries(ck);
    this.pops.restore(st.populations);
    const { params, momentum } = this.tensors();
    const match = matchCheckpoint(data, params);
    applyCheckpoint(this.backend, data, params, momentum, match);
    // The buffers applyCheckpoint made (it disposed the old ones), each to its parameter's optimizer.
    for (const sgd of [this.skeletonSgd, ...this.pops.members.flat().map((m) => m.sgd)]) {
      sgd.buffers.clear();
      for (const p of sgd.params) {
        const buf = momentum.get(p);
        if (buf) sgd.buffers.set(p, buf);
      }
    }
    this.rng.restore(st.rng);
    this.iteration = st.counters.iteration;
    this.warmupDone = st.counters.warmup;
    this.warmupLossSum = st.counters.warmupLossSum;
    this.warmedUp = this.warmupDone >= this.cfg.warmupSteps;
    this.secondsBefore = st.counters.seconds;
    this.history.length = 0;
    this.history.push(...st.history);
  }

  /** Every parameter (skeleton, then the members in population order) and their momentum buffers. */
  private tensors(): { params: Param[]; momentum: Map<Param, Tensor> } {
    const sgds = [this.skeletonSgd, ...this.pops.members.flat().map((m) => m.sgd)];
    const params = sgds.flatMap((s) => [...s.params]);
    const momentum = new Map(sgds.flatMap((s) => [...s.buffers]));
    return { params, momentum };
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
      bn: { momentum: cfg.bnMomentum, eps: cfg.bnEps },
      meta: {
        seed: cfg.seed,
        iterations: this.iteration,
        populationSize: cfg.populationSize,
        k: cfg.k,
        steps: cfg.steps,
        batchSize: cfg.batchSize,
        tournamentSize: cfg.tournamentSize,
        guideIterations: cfg.guideIterations,
        warmupSteps: cfg.warmupSteps,
        weightLr: cfg.weightLr,
        data: describeSplits(this.data),
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
      populations: this.shapes.map((_, b) =>
        this.ranked(b).map((m) => ({ cell: m.key, madds: m.madds, fitness: m.fitness, evaluated: m.evaluated })),
      ),
      seconds,
    };
  }

  dispose(): void {
    this.pops.dispose();
    this.skeletonSgd.dispose();
    this.store.dispose();
  }
}

/** The data a space was learned on, for its meta (in-memory splits are CIFAR-10's, as before). */
function describeSplits(d: SearchImages): string {
  const { train, val } = d;
  if (!isStreamed(train) || !isStreamed(val)) return `CIFAR-10 train ${train.count} / val ${val.count}`;
  return `${train.ds.name} train ${train.count} / val ${val.count} at ${train.size}x${train.size}`;
}
