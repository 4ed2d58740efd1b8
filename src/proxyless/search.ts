/**
 * The ProxylessNAS search loop: weight warm-up on sampled paths, then alternating weight steps
 * (SGD + Nesterov, cosine LR, weight decay, train split) and architecture steps (Adam on α,
 * validation split). Architecture steps are either gradient-based (binarized gates, latency loss
 * from a lookup table: CE + λ·E[lat] or CE·(ln E[lat]/ln T)^β) or REINFORCE with reward
 * acc·(T/lat)^w. Every random draw is keyed by (seed, phase, step), so a resumed run continues
 * exactly where the checkpoint left off.
 */
import type { Gpu } from '../gpu/gpu.js';
import { augment } from '../data/cifar10.js';
import { type PathMode, binarizeAlphaGrad, rescaleTwoPath, sampleGates, softmax } from '../kernels/binarize.js';
import { cosineLr } from '../kernels/optim.js';
import { Tape } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { applyCheckpoint, hasCheckpoint, lockCheckpointDir, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { checkResumeSettings, proxylessRunSettings, type RunSettings, validateSearchState } from './resume-state.js';
import type { LockHandle, LockOwner } from '../util/durable.js';
import { BatchStream, type SearchData, mixSeed, resizeNearest } from './data.js';
import {
  type LatencyLossConfig,
  type SearchLatency,
  choicesLatencyMs,
  combineLoss,
  expectedLatency,
  reinforceReward,
} from './latency-loss.js';
import type { ProxylessLayout } from './layout.js';
import { toNetConfig } from './net-config.js';
import { AlphaAdam, type AdamConfig, WeightSgd } from './optimizers.js';
import { ProxylessSupernet } from './supernet.js';
import { type CellSpace, archJson } from '../autospace/space-file.js';

export interface ProxylessSearchConfig {
  layout: ProxylessLayout;
  mode: 'gradient' | 'reinforce';
  /** Binarized paths per block in gradient mode. */
  paths: PathMode;
  /** 'sampled': gate gradients of the sampled path(s) only; 'all': every candidate, re-run one at a time (full_v2). */
  gateGrads: 'sampled' | 'all';
  /** Latency objective; null = accuracy only. */
  latencyLoss: LatencyLossConfig | null;
  /** REINFORCE: reward exponent w and architectures sampled per α update. */
  reinforceW: number;
  reinforceSamples: number;
  baselineDecay: number;
  warmupSteps: number;
  searchSteps: number;
  /** One architecture step after every `archEvery` weight steps of the search phase. */
  archEvery: number;
  batchSize: number;
  valBatchSize: number;
  warmupLr: number;
  weightLr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  arch: AdamConfig;
  augment: boolean;
  seed: number;
  logEvery: number;
  checkpointDir: string | null;
  checkpointEvery: number;
  /** Search a cell space (learned by AutoSpace, or hand-written) instead of the layout's MBConv candidates. */
  space?: CellSpace | null;
  /** Told when checkpointDir's lock was left by a dead run and is taken over. */
  onStaleLock?: (owner: LockOwner) => void;
}

export const DEFAULT_SEARCH: Omit<ProxylessSearchConfig, 'layout' | 'latencyLoss'> = {
  mode: 'gradient',
  paths: 2,
  gateGrads: 'sampled',
  reinforceW: 0.1,
  reinforceSamples: 4,
  baselineDecay: 0.9,
  warmupSteps: 20,
  searchSteps: 40,
  archEvery: 1,
  batchSize: 32,
  valBatchSize: 32,
  warmupLr: 0.05,
  weightLr: 0.05,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 4e-5,
  // ProxylessNAS: Adam lr 6e-3, β1 0; the CLI raises lr to 0.1 for its short default runs.
  arch: { lr: 6e-3, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  augment: true,
  seed: 1,
  logEvery: 10,
  checkpointDir: null,
  checkpointEvery: 50,
};

export interface ProgressEvent {
  phase: 'warmup' | 'search';
  /** Weight steps done in this phase. */
  step: number;
  total: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  /** Architecture-step loss (CE with the latency term) or mean reward (REINFORCE), since the last event. */
  archObjective: number | null;
  archCe: number | null;
  expectedMs: number | null;
  /** LUT latency of the current argmax architecture. */
  argmaxMs: number | null;
  /** Mean entropy of softmax(α) over blocks (nats). */
  entropy: number;
  choices: number[];
  msPerStep: number;
}

export interface SearchResult {
  choices: number[];
  names: string[];
  netConfig: Record<string, unknown>;
  latencyMs: number | null;
  expectedMs: number | null;
  alpha: number[][];
  probs: number[][];
  history: ProgressEvent[];
  weightSteps: number;
  archSteps: number;
  seconds: number;
}

interface Counters {
  warmup: number;
  search: number;
  arch: number;
  baseline: number | null;
  /** Cumulative seconds over resumed segments. */
  seconds: number;
}

function entropy(p: number[]): number {
  return -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
}

export class ProxylessSearch {
  readonly net: ProxylessSupernet;
  alpha: Float32Array[];
  private readonly sgd: WeightSgd;
  private readonly adam: AlphaAdam;
  private readonly trainStream: BatchStream;
  private readonly valStream: BatchStream;
  private counters: Counters = { warmup: 0, search: 0, arch: 0, baseline: null, seconds: 0 };
  readonly history: ProgressEvent[] = [];
  private window = { loss: 0, correct: 0, seen: 0, steps: 0, archObj: 0, archCe: 0, archN: 0, t0: performance.now() };
  /** checkpointDir's lock, held from construction to dispose: two runs never share a directory. */
  private lock: LockHandle | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: ProxylessSearchConfig,
    readonly data: SearchData,
    readonly latency: SearchLatency | null,
  ) {
    if (cfg.mode === 'gradient' && cfg.gateGrads === 'all' && cfg.paths !== 1) {
      throw new Error("gate gradients 'all' (full_v2) evaluate every candidate: use it with --paths 1");
    }
    if (cfg.latencyLoss && !latency) throw new Error('a latency loss needs a latency table');
    if (cfg.mode === 'reinforce' && !latency) throw new Error('REINFORCE needs a latency table (reward acc·(T/lat)^w)');
    if (!(cfg.archEvery >= 1)) throw new RangeError('archEvery must be >= 1');
    if (cfg.space && cfg.space.layout.name !== cfg.layout.name) throw new Error(`space file is for layout ${cfg.space.layout.name}, the search uses ${cfg.layout.name}`);
    this.net = new ProxylessSupernet(gpu, cfg.layout, new Rng(mixSeed(cfg.seed, 0x5eed)), { cells: cfg.space?.cells });
    if (latency && latency.perPosition.length !== this.net.positions.length) {
      throw new Error(`latency table prices ${latency.perPosition.length} blocks, the supernet has ${this.net.positions.length}`);
    }
    this.alpha = this.net.choiceSizes.map((n) => new Float32Array(n));
    this.sgd = new WeightSgd(gpu, this.net.params, { momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay });
    this.adam = new AlphaAdam(gpu, this.net.choiceSizes, cfg.arch);
    this.trainStream = new BatchStream(data.train, cfg.batchSize, mixSeed(cfg.seed, 1));
    this.valStream = new BatchStream(data.val, cfg.valBatchSize, mixSeed(cfg.seed, 2));
    if (cfg.checkpointDir) {
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

  private input(x: Float32Array, n: number): Float32Array {
    const s = this.cfg.layout.inputSize;
    return resizeNearest(x, n, 3, 32, s);
  }

  /** One weight step on a train batch with one sampled path per block. Returns loss and accuracy. */
  async weightStep(lr: number, key: number): Promise<{ loss: number; acc: number }> {
    const rng = new Rng(mixSeed(this.cfg.seed, 3, key));
    const b = this.trainStream.batchAt(key);
    const xs = this.cfg.augment ? augment(b.x, b.n, rng) : b.x;
    const gates = this.alpha.map((a) => sampleGates(a, rng, 1));
    const gpu = this.gpu;
    const t = new Tape(gpu);
    const x = gpu.upload(this.input(xs, b.n), [b.n, 3, this.cfg.layout.inputSize, this.cfg.layout.inputSize]);
    const y = gpu.upload(b.y);
    try {
      const { logits } = this.net.forward(t, t.input(x), gates);
      const loss = t.crossEntropy(logits, y);
      t.backward(loss);
      this.sgd.step(lr);
      this.net.zeroGrad();
      const [l, lg] = await Promise.all([loss.value.read(), logits.value.read()]);
      return { loss: l[0], acc: accuracy(lg, b.y) };
    } finally {
      t.dispose();
      x.dispose();
      y.dispose();
    }
  }

  /** One gradient-based architecture step on a validation batch. */
  async archStepGradient(key: number): Promise<{ objective: number; ce: number }> {
    const cfg = this.cfg;
    const rng = new Rng(mixSeed(cfg.seed, 4, key));
    const b = this.valStream.batchAt(key);
    const gates = this.alpha.map((a) => sampleGates(a, rng, cfg.paths));
    const gpu = this.gpu;
    // Gate gradients need dL/dy of the blocks only: no weight-gradient convolutions (the input
    // carries requiresGrad so the activation gradients still flow).
    const t = new Tape(gpu, { paramGrads: 'none' });
    const x = gpu.upload(this.input(b.x, b.n), [b.n, 3, cfg.layout.inputSize, cfg.layout.inputSize]);
    const y = gpu.upload(b.y);
    let ce: number;
    let gateGrads: Array<number[] | null>;
    try {
      const { logits, records } = this.net.forward(t, t.input(x, true), gates, { inactive: cfg.paths === 2 });
      const loss = t.crossEntropy(logits, y);
      t.backward(loss);
      this.net.zeroGrad(); // weights do not learn from validation data
      gateGrads = await this.net.gateGradients(records, cfg.gateGrads);
      ce = (await loss.value.read())[0];
    } finally {
      t.dispose();
      x.dispose();
      y.dispose();
    }
    const involvedOf = (bIdx: number): number[] =>
      cfg.gateGrads === 'all' || cfg.paths === 1 ? [...Array(this.alpha[bIdx].length).keys()] : gates[bIdx].involved;
    const ceGrad = this.alpha.map((a, bIdx) => {
      const g = gateGrads[bIdx];
      return g ? binarizeAlphaGrad(a, g, involvedOf(bIdx)) : new Array<number>(a.length).fill(0);
    });
    let objective = ce;
    let grads = ceGrad;
    if (cfg.latencyLoss && this.latency) {
      const rows = this.alpha.map((a) => Array.from(a));
      const e = expectedLatency(this.latency, rows);
      const c = combineLoss(cfg.latencyLoss, ce, e.valueMs);
      objective = c.loss;
      // 2-path mode: as in ProxylessNAS the latency gradient reaches only the sampled pair, through
      // the pair's softmax, so the rescale below keeps every other candidate's probability.
      const latGrad = cfg.paths === 2 ? this.alpha.map((a, bIdx) => pairLatencyGrad(a, this.latency!.perPosition[bIdx], gates[bIdx].involved)) : e.gradAlphas;
      grads = ceGrad.map((row, bIdx) => row.map((v, i) => c.dCe * v + c.dE * latGrad[bIdx][i]));
    }
    const old = cfg.paths === 2 ? gates.map((g, bIdx) => g.involved.map((i) => this.alpha[bIdx][i])) : null;
    this.alpha = await this.adam.update(this.alpha, grads);
    if (old) gates.forEach((g, bIdx) => rescaleTwoPath(this.alpha[bIdx], g.involved, old[bIdx]));
    return { objective, ce };
  }

  /** One REINFORCE architecture step: sample architectures, reward acc·(T/lat)^w, policy gradient on α. */
  async archStepReinforce(key: number): Promise<{ objective: number; ce: number }> {
    const cfg = this.cfg;
    const rng = new Rng(mixSeed(cfg.seed, 5, key));
    const K = cfg.reinforceSamples;
    const target = cfg.latencyLoss?.targetMs ?? this.latency!.fixedMs * 2;
    const probs = this.probs;
    const grads = this.alpha.map((a) => new Array<number>(a.length).fill(0));
    const samples: Array<{ choices: number[]; reward: number; ce: number }> = [];
    for (let k = 0; k < K; k++) {
      const gates = this.alpha.map((a) => sampleGates(a, rng, 1));
      const b = this.valStream.batchAt(key * K + k);
      const gpu = this.gpu;
      const t = new Tape(gpu, { noGrad: true });
      const x = gpu.upload(this.input(b.x, b.n), [b.n, 3, cfg.layout.inputSize, cfg.layout.inputSize]);
      const y = gpu.upload(b.y);
      try {
        const { logits } = this.net.forward(t, t.input(x), gates);
        const loss = t.crossEntropy(logits, y);
        const [lg, l] = await Promise.all([logits.value.read(), loss.value.read()]);
        const choices = gates.map((g) => g.active);
        const lat = choicesLatencyMs(this.latency!, choices);
        samples.push({ choices, reward: reinforceReward(accuracy(lg, b.y), lat, target, cfg.reinforceW), ce: l[0] });
      } finally {
        t.dispose();
        x.dispose();
        y.dispose();
      }
    }
    const mean = samples.reduce((s, x) => s + x.reward, 0) / K;
    const base = this.counters.baseline ?? mean;
    // loss = −Σ_k (R_k − b) log π(a_k) / K; ∂ log p_a / ∂α_i = δ_ia − p_i.
    for (const s of samples) {
      const adv = s.reward - base;
      s.choices.forEach((a, bIdx) => probs[bIdx].forEach((p, i) => (grads[bIdx][i] -= (adv * ((i === a ? 1 : 0) - p)) / K)));
    }
    this.counters.baseline = cfg.baselineDecay * base + (1 - cfg.baselineDecay) * mean;
    this.alpha = await this.adam.update(this.alpha, grads);
    return { objective: mean, ce: samples.reduce((s, x) => s + x.ce, 0) / K };
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
      const r = await this.weightStep(lr, c.warmup);
      c.warmup++;
      this.account(r);
      tick();
      await this.maybeReport('warmup', c.warmup, cfg.warmupSteps, lr, c.warmup === cfg.warmupSteps, onProgress);
    }
    this.resetWindow();
    while (c.search < cfg.searchSteps && !stop()) {
      const lr = cosineLr(cfg.weightLr, c.search, cfg.searchSteps);
      const r = await this.weightStep(lr, cfg.warmupSteps + c.search);
      c.search++;
      this.account(r);
      if (c.search % cfg.archEvery === 0) {
        const a = cfg.mode === 'reinforce' ? await this.archStepReinforce(c.arch) : await this.archStepGradient(c.arch);
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
      const ev: ProgressEvent = {
        phase,
        step,
        total,
        lr,
        trainLoss: w.loss / Math.max(1, w.steps),
        trainAcc: w.correct / Math.max(1, w.steps),
        archObjective: w.archN ? w.archObj / w.archN : null,
        archCe: w.archN ? w.archCe / w.archN : null,
        expectedMs: this.latency ? expectedLatency(this.latency, rows).valueMs : null,
        argmaxMs: this.latency ? choicesLatencyMs(this.latency, choices) : null,
        entropy: this.probs.reduce((s, p) => s + entropy(p), 0) / this.alpha.length,
        choices,
        msPerStep: (performance.now() - w.t0) / Math.max(1, w.steps),
      };
      this.history.push(ev);
      onProgress?.(ev);
      this.resetWindow();
    }
    const done = this.counters.warmup + this.counters.search;
    if (cfg.checkpointDir && cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0 && !last) await this.save(cfg.checkpointDir);
  }

  result(): SearchResult {
    const choices = this.derive();
    const rows = this.alpha.map((a) => Array.from(a));
    return {
      choices,
      names: choices.map((ci, b) => this.net.candidateName(b, ci)),
      netConfig: this.cfg.space ? archJson(this.cfg.space, choices) : toNetConfig(this.cfg.layout, choices),
      latencyMs: this.latency ? choicesLatencyMs(this.latency, choices) : null,
      expectedMs: this.latency ? expectedLatency(this.latency, rows).valueMs : null,
      alpha: rows,
      probs: this.probs,
      history: this.history,
      weightSteps: this.counters.warmup + this.counters.search,
      archSteps: this.counters.arch,
      seconds: this.counters.seconds,
    };
  }

  /** Validation accuracy of fixed choices (default: the argmax architecture), batch-statistics BN. */
  async evaluate(choices = this.derive(), batches = 4): Promise<number> {
    const gates = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));
    let acc = 0;
    for (let k = 0; k < batches; k++) {
      const b = this.valStream.batchAt(1_000_000 + k);
      const t = new Tape(this.gpu, { noGrad: true });
      const x = this.gpu.upload(this.input(b.x, b.n), [b.n, 3, this.cfg.layout.inputSize, this.cfg.layout.inputSize]);
      try {
        const { logits } = this.net.forward(t, t.input(x), gates);
        acc += accuracy(await logits.value.read(), b.y);
      } finally {
        t.dispose();
        x.dispose();
      }
    }
    return acc / batches;
  }

  /** The settings a checkpoint records and a resume must match (see resume-state.ts). */
  settings(): RunSettings {
    return proxylessRunSettings(this.cfg, this.latency, this.data);
  }

  async save(dir: string): Promise<void> {
    const state = {
      kind: 'wgnas-proxyless',
      layout: this.cfg.layout,
      config: { ...this.cfg, checkpointDir: null, onStaleLock: undefined },
      settings: this.settings(),
      counters: this.counters,
      alpha: this.alpha.map((a) => Array.from(a)),
      adam: await this.adam.state(),
      history: this.history,
    };
    await saveCheckpoint(dir, this.net.params, this.sgd.buffers, state);
  }

  /**
   * Restores weights, momentum, α, Adam state and counters from `dir`. Refuses a checkpoint whose
   * settings differ from this run's (naming the flag; only --steps may grow) and a corrupt one.
   */
  resume(dir: string): void {
    if (!hasCheckpoint(dir)) throw new Error(`--resume: no checkpoint in ${dir}`);
    const ck = readCheckpoint(dir);
    const meta = ck.meta;
    const layout = meta.layout as ProxylessLayout;
    if (JSON.stringify(layout) !== JSON.stringify(this.cfg.layout)) {
      throw new Error(`checkpoint in ${dir} is for layout '${layout?.name}', this search uses '${this.cfg.layout.name}' with other settings`);
    }
    // Version 1 recorded the config only: compare what can be derived from it.
    const saved = (meta.settings as RunSettings | undefined) ?? savedConfigSettings(meta.config);
    checkResumeSettings(saved, this.settings());
    const st = validateSearchState(meta, this.net.choiceSizes, `${ck.path}/state.json`);
    applyCheckpoint(this.gpu, ck, this.net.params, this.sgd.buffers);
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

function savedConfigSettings(config: unknown): RunSettings {
  try {
    return proxylessRunSettings(config as ProxylessSearchConfig, null);
  } catch {
    return {};
  }
}

/** ∂/∂α of the pair expectation Σ_{j∈pair} q_j lat_j, q = softmax(α_pair); zero elsewhere. */
export function pairLatencyGrad(alpha: ArrayLike<number>, lat: readonly number[], pair: readonly number[]): number[] {
  const q = softmax(pair.map((i) => alpha[i]));
  const mean = pair.reduce((s, i, k) => s + q[k] * lat[i], 0);
  const out = new Array<number>(alpha.length).fill(0);
  pair.forEach((i, k) => (out[i] = q[k] * (lat[i] - mean)));
  return out;
}

/** Fraction of rows whose argmax matches the label. */
export function accuracy(logits: Float32Array, labels: Float32Array): number {
  const n = labels.length;
  const k = logits.length / n;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
    if (best === labels[i]) ok++;
  }
  return ok / n;
}
