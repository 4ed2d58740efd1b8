/**
 * The ProxylessNAS search loop: weight warm-up on sampled paths, then alternating weight steps
 * (SGD + Nesterov, cosine LR, weight decay, train split) and architecture steps (Adam on α,
 * validation split). Architecture steps are either gradient-based (binarized gates, cost loss
 * from a cost model: CE + λ·E[cost] or CE·(ln E[cost]/ln T)^β) or REINFORCE with reward
 * acc·(T/cost)^w (search-steps.ts). Every random draw is keyed by (seed, phase, step), so a resumed
 * run continues exactly where the checkpoint left off.
 */
import { type Backend, gpuOf } from '../backend/index.js';
import { batchSource, checkSplitClasses, type SearchImages } from '../data/batch-stream.js';
import { softmax } from '../util/softmax.js';
import { cosineLr } from '../kernels/optim.js';
import { type CostModel, archCost, expectedCost } from '../mobilenet/cost/model.js';
import { archJson, DEFAULT_BN } from '../mobilenet/space-file.js';
import { AlphaAdam, TrainingDivergedError, WeightSgd } from '../nn/optim.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import { holdsLock, type LockHandle } from '../util/durable.js';
import {
  applyCheckpoint,
  CheckpointError,
  checkpointLockPath,
  hasCheckpoint,
  lockCheckpointDir,
  matchCheckpoint,
  readCheckpoint,
  readCheckpointBinaries,
  saveCheckpoint,
  type CheckpointState,
} from '../nn/checkpoint.js';
import { checkSettingsAndLayout, proxylessRunSettings, type RunSettings, validateSearchState } from './resume-state.js';
import { kernelsRecordOf } from '../kernels/record.js';
import { toNetConfig } from './net-config.js';
import type { ProgressEvent, ProxylessSearchConfig, SearchResult } from './search-config.js';
import {
  type SearchParts,
  evaluateChoices,
  evaluatedImages,
  gradientArchStep,
  reinforceArchStep,
  weightStep,
} from './search-steps.js';
import { ProxylessSupernet } from './supernet.js';

export { DEFAULT_SEARCH, type ProgressEvent, type ProxylessSearchConfig, type SearchResult } from './search-config.js';

interface Counters {
  warmup: number;
  search: number;
  arch: number;
  baseline: number | null;
  /** Cumulative seconds over resumed segments. */
  seconds: number;
}

/**
 * Whether search step `step` (1-based) is followed by an architecture step: after the
 * `archWarmupSteps` weight-only steps, every `archEvery`-th step (the authors' get_update_schedule,
 * (i + 1) % every == 0, with one update each, and no updates in their first search epoch).
 */
export function isArchStep(cfg: Pick<ProxylessSearchConfig, 'archEvery' | 'archWarmupSteps'>, step: number): boolean {
  const s = step - cfg.archWarmupSteps;
  return s > 0 && s % cfg.archEvery === 0;
}

/** α at the start: N(0, std²) per entry, drawn from the run's seed (the authors' init_arch_params 'normal'). */
export function initialAlpha(sizes: readonly number[], std: number, seed: number): Float32Array[] {
  const rng = new Rng(mixSeed(seed, 0xa1f));
  return sizes.map((n) => (std > 0 ? rng.normals(n, std) : new Float32Array(n)));
}

function entropy(p: number[]): number {
  return -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
}

export class ProxylessSearch {
  readonly net: ProxylessSupernet;
  alpha: Float32Array[];
  private readonly sgd: WeightSgd;
  private readonly adam: AlphaAdam;
  private readonly parts: SearchParts;
  private counters: Counters = { warmup: 0, search: 0, arch: 0, baseline: null, seconds: 0 };
  readonly history: ProgressEvent[] = [];
  private window = { loss: 0, correct: 0, seen: 0, steps: 0, archObj: 0, archCe: 0, archN: 0, t0: performance.now() };
  /** checkpointDir's lock when this search took it (from construction to dispose): two runs never share a directory. */
  private lock: LockHandle | null = null;

  constructor(
    readonly backend: Backend,
    readonly cfg: ProxylessSearchConfig,
    readonly data: SearchImages,
    /** The hardware cost of every candidate (ms or MAdds); null for an accuracy-only search. */
    readonly cost: CostModel | null,
  ) {
    if (cfg.mode === 'gradient' && cfg.gateGrads === 'all' && cfg.paths !== 1) {
      throw new Error("gate gradients 'all' (full_v2) evaluate every candidate: use it with --paths 1");
    }
    if (cfg.costLoss && !cost) throw new Error('a cost loss needs a cost model (a latency table, MAdds or measured cells)');
    if (cfg.mode === 'reinforce' && !cost) throw new Error('REINFORCE needs a cost model (reward acc·(T/cost)^w)');
    if (!(Number.isInteger(cfg.archEvery) && cfg.archEvery >= 1)) throw new RangeError('archEvery must be an integer >= 1');
    if (!(Number.isInteger(cfg.archWarmupSteps) && cfg.archWarmupSteps >= 0))
      throw new RangeError('archWarmupSteps must be an integer >= 0');
    if (!(cfg.labelSmoothing >= 0 && cfg.labelSmoothing < 1)) throw new RangeError('labelSmoothing must be in [0, 1)');
    if (!(cfg.alphaInitStd >= 0 && Number.isFinite(cfg.alphaInitStd))) throw new RangeError('alphaInitStd must be >= 0');
    if (cfg.space && cfg.space.layout.name !== cfg.layout.name)
      throw new Error(`space file is for layout ${cfg.space.layout.name}, the search uses ${cfg.layout.name}`);
    if (!(cfg.bnEps > 0 && Number.isFinite(cfg.bnEps))) throw new RangeError('bnEps must be > 0');
    if (cfg.bnMomentum !== undefined && !(cfg.bnMomentum > 0 && cfg.bnMomentum <= 1))
      throw new RangeError('bnMomentum must be in (0, 1]');
    checkSplitClasses(data.train, cfg.layout.classes, 'ProxylessSearch', 'train');
    checkSplitClasses(data.val, cfg.layout.classes, 'ProxylessSearch', 'val');
    this.net = new ProxylessSupernet(backend, cfg.layout, new Rng(mixSeed(cfg.seed, 0x5eed)), {
      cells: cfg.space?.cells,
      bnEps: cfg.bnEps,
    });
    if (
      cost &&
      (cost.perPosition.length !== this.net.positions.length ||
        cost.perPosition.some((row, b) => row.length !== this.net.choiceSizes[b]))
    ) {
      const n = this.net.choiceSizes;
      this.net.dispose();
      throw new Error(
        `the cost model prices ${cost.perPosition.map((r) => r.length).join('/')} candidates per block, the supernet has ${n.join('/')}`,
      );
    }
    this.alpha = initialAlpha(this.net.choiceSizes, cfg.alphaInitStd, cfg.seed);
    this.sgd = new WeightSgd(backend, this.net.params, {
      momentum: cfg.momentum,
      nesterov: cfg.nesterov,
      weightDecay: cfg.weightDecay,
    });
    this.adam = new AlphaAdam(backend, this.net.choiceSizes, cfg.arch);
    this.parts = {
      backend,
      cfg,
      net: this.net,
      cost,
      sgd: this.sgd,
      adam: this.adam,
      trainStream: batchSource(data.train, cfg.batchSize, mixSeed(cfg.seed, 1)),
      valStream: batchSource(data.val, cfg.valBatchSize, mixSeed(cfg.seed, 2)),
    };
    // A caller that locked the directory already (the CLI, before any GPU work) keeps its lock.
    if (cfg.checkpointDir && !holdsLock(checkpointLockPath(cfg.checkpointDir))) {
      try {
        this.lock = lockCheckpointDir(cfg.checkpointDir, cfg.onStaleLock);
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
  }

  get probs(): number[][] {
    return this.alpha.map((a) => softmax(a));
  }

  /** argmax α per block. */
  derive(): number[] {
    return this.alpha.map((a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0));
  }

  get progress(): Readonly<Counters> {
    return this.counters;
  }

  /**
   * Runs (or continues) warm-up and search; returns the derived network. `stopAfter` ends the call
   * once that many weight steps (warm-up + search, counted from the start of the run, not of this
   * call) are done, checkpointing first when a directory is set: a time-boxed segment to --resume.
   */
  async run(onProgress?: (e: ProgressEvent) => void, stopAfter = Infinity): Promise<SearchResult> {
    const cfg = this.cfg;
    const c = this.counters;
    const stop = () => c.warmup + c.search >= stopAfter;
    const start = performance.now();
    const baseSeconds = c.seconds;
    const tick = () => (c.seconds = baseSeconds + (performance.now() - start) / 1000);
    this.resetWindow();
    while (c.warmup < cfg.warmupSteps && !stop()) {
      const lr = cosineLr(cfg.warmupLr, c.warmup, cfg.warmupSteps);
      const r = await weightStep(this.parts, this.alpha, lr, c.warmup);
      c.warmup++;
      this.checkLoss(r.loss, `warm-up step ${c.warmup}`, { value: cfg.warmupLr, flag: '--warmup-lr' });
      this.account(r);
      tick();
      await this.maybeReport('warmup', c.warmup, cfg.warmupSteps, lr, c.warmup === cfg.warmupSteps, onProgress);
    }
    this.resetWindow();
    while (c.search < cfg.searchSteps && !stop()) {
      const lr = cosineLr(cfg.weightLr, c.search, cfg.searchSteps);
      const r = await weightStep(this.parts, this.alpha, lr, cfg.warmupSteps + c.search);
      c.search++;
      this.checkLoss(r.loss, `search step ${c.search}`, { value: cfg.weightLr, flag: '--lr' });
      this.account(r);
      if (isArchStep(cfg, c.search)) {
        const a =
          cfg.mode === 'reinforce'
            ? await this.archStepReinforce(c.arch)
            : await gradientArchStep(this.parts, this.alpha, c.arch);
        this.alpha = a.alpha;
        c.arch++;
        this.window.archObj += a.objective;
        this.window.archCe += a.ce;
        this.window.archN++;
      }
      tick();
      await this.maybeReport('search', c.search, cfg.searchSteps, lr, c.search === cfg.searchSteps, onProgress);
    }
    if (cfg.checkpointDir) await this.save(cfg.checkpointDir);
    return this.result();
  }

  private async archStepReinforce(key: number) {
    const r = await reinforceArchStep(this.parts, this.alpha, this.counters.baseline, key);
    this.counters.baseline = r.baseline;
    return r;
  }

  private checkLoss(loss: number, at: string, lr: { value: number; flag: string }): void {
    if (!Number.isFinite(loss)) throw new TrainingDivergedError(at, `the training loss is ${loss}`, lr);
  }

  private resetWindow(): void {
    this.window = { loss: 0, correct: 0, seen: 0, steps: 0, archObj: 0, archCe: 0, archN: 0, t0: performance.now() };
  }

  private account(r: { loss: number; acc: number }): void {
    this.window.loss += r.loss;
    this.window.correct += r.acc;
    this.window.steps++;
  }

  private async maybeReport(
    phase: 'warmup' | 'search',
    step: number,
    total: number,
    lr: number,
    last: boolean,
    onProgress?: (e: ProgressEvent) => void,
  ): Promise<void> {
    const cfg = this.cfg;
    if (step % cfg.logEvery === 0 || last) {
      const w = this.window;
      const rows = this.alpha.map((a) => Array.from(a));
      const choices = this.derive();
      const probs = this.probs;
      const ev: ProgressEvent = {
        phase,
        step,
        total,
        lr,
        trainLoss: w.loss / Math.max(1, w.steps),
        trainAcc: w.correct / Math.max(1, w.steps),
        archObjective: w.archN ? w.archObj / w.archN : null,
        archCe: w.archN ? w.archCe / w.archN : null,
        expectedCost: this.cost ? expectedCost(this.cost, rows).value : null,
        argmaxCost: this.cost ? archCost(this.cost, choices) : null,
        entropy: probs.reduce((s, p) => s + entropy(p), 0) / this.alpha.length,
        choices,
        msPerStep: (performance.now() - w.t0) / Math.max(1, w.steps),
        probs: probs.map((row) => row.map((p) => Math.round(p * 1e6) / 1e6)),
      };
      this.history.push(ev);
      onProgress?.(ev);
      this.resetWindow();
    }
    const done = this.counters.warmup + this.counters.search;
    if (cfg.checkpointDir && cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0 && !last)
      await this.save(cfg.checkpointDir);
  }

  result(): SearchResult {
    const choices = this.derive();
    const rows = this.alpha.map((a) => Array.from(a));
    return {
      choices,
      names: choices.map((ci, b) => this.net.candidateName(b, ci)),
      // Both forms record the supernet's BN, so the network trains and exports at it.
      netConfig: this.cfg.space
        ? archJson(this.cfg.space, choices, { momentum: this.cfg.bnMomentum ?? DEFAULT_BN.momentum, eps: this.cfg.bnEps })
        : toNetConfig(this.cfg.layout, choices, this.cfg.bnEps, this.cfg.bnMomentum),
      unit: this.cost?.unit ?? null,
      cost: this.cost ? archCost(this.cost, choices) : null,
      expectedCost: this.cost ? expectedCost(this.cost, rows).value : null,
      alpha: rows,
      probs: this.probs,
      history: this.history,
      weightSteps: this.counters.warmup + this.counters.search,
      archSteps: this.counters.arch,
      seconds: this.counters.seconds,
    };
  }

  /** Validation accuracy of fixed choices (default: the argmax architecture), batch-statistics BN. */
  evaluate(choices = this.derive(), batches = 4): Promise<number> {
    return evaluateChoices(this.parts, choices, batches);
  }

  /** The distinct validation images evaluate(_, batches) sees (at most batches x --val-batch, at most the split). */
  evaluatedImages(batches = 4): number {
    return evaluatedImages(this.parts, batches);
  }

  /** The settings a checkpoint records and a resume must match (see resume-state.ts). */
  settings(): RunSettings {
    return proxylessRunSettings(
      this.cfg,
      this.cost,
      { train: this.data.train.count, val: this.data.val.count },
      this.backend.device,
      this.backend.threads,
      gpuOf(this.backend)?.f16Compute === true,
      gpuBn(this.backend),
    );
  }

  async save(dir: string): Promise<void> {
    const state = {
      kind: 'wgnas-proxyless',
      layout: this.cfg.layout,
      config: { ...this.cfg, checkpointDir: null, onStaleLock: undefined },
      settings: this.settings(),
      // Measured prices differ from run to run: a resumed --price-cells run reuses these.
      cost: this.cost,
      counters: this.counters,
      alpha: this.alpha.map((a) => Array.from(a)),
      adam: await this.adam.state(),
      history: this.history,
    };
    await saveCheckpoint(dir, this.net.params, this.sgd.buffers, state);
  }

  /**
   * Restores weights, momentum, α, Adam state and counters from `dir`. Refuses a checkpoint whose
   * settings differ from this run's (ResumeMismatchError naming the flag; only --steps may grow)
   * and a corrupt one (CheckpointError); nothing is changed unless everything checks out. Given the
   * state.json a caller read already (readCheckpointState, to check settings before the device
   * started), it resumes that state: only the binaries are read, verified against its manifest.
   */
  resume(from: string | CheckpointState): void {
    if (typeof from === 'string' && !hasCheckpoint(from)) throw new CheckpointError(`--resume: no checkpoint in ${from}`);
    const ck = typeof from === 'string' ? readCheckpoint(from) : readCheckpointBinaries(from);
    checkSettingsAndLayout(ck, this.cfg, this.settings());
    const match = matchCheckpoint(ck, this.net.params);
    const st = validateSearchState(ck.meta, this.net.choiceSizes, `${ck.path}/state.json`);
    applyCheckpoint(this.backend, ck, this.net.params, this.sgd.buffers, match);
    this.alpha = st.alpha.map((a) => Float32Array.from(a));
    this.adam.load(st.adam);
    this.counters = { ...st.counters };
    this.history.push(...(st.history as ProgressEvent[]));
  }

  dispose(): void {
    this.lock?.release();
    this.lock = null;
    this.sgd.dispose();
    this.adam.dispose();
    this.net.dispose();
  }
}

/**
 * The kernels a GPU backend computes with, as its checkpoints record them (the adapter, the batch
 * norm, on hardware the convolution core and the tiles its Gpu uses); null on the CPU.
 */
function gpuBn(backend: Backend) {
  const gpu = gpuOf(backend);
  return gpu ? kernelsRecordOf(gpu) : null;
}
