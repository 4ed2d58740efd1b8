/** Settings, progress events and results of the ProxylessNAS search (search.ts). */
import type { PathMode } from '../kernels/binarize.js';
import type { CostUnit } from '../mobilenet/cost/model.js';
import type { MobileNetLayout } from '../mobilenet/layout.js';
import type { CellSpace } from '../mobilenet/space.js';
import type { AdamConfig } from '../nn/optim.js';
import type { LockOwner } from '../util/durable.js';
import { AUTHORS_BN_EPS } from './net-config.js';
import type { CostLossConfig } from './objective.js';

export interface ProxylessSearchConfig {
  layout: MobileNetLayout;
  mode: 'gradient' | 'reinforce';
  /** Binarized paths per block in gradient mode. */
  paths: PathMode;
  /**
   * 'sampled': gate gradients of the sampled path(s) only (2 paths: the paper's two-path mode; 1 path:
   * a one-sample estimate from the active path, arch-grad.ts); 'all': every candidate, re-run one at a
   * time (full_v2).
   */
  gateGrads: 'sampled' | 'all';
  /** Hardware term of the objective, in the cost model's unit; null = accuracy only. */
  costLoss: CostLossConfig | null;
  /** REINFORCE: reward exponent w and architectures sampled per α update. */
  reinforceW: number;
  reinforceSamples: number;
  /**
   * REINFORCE's baseline moves b ← b + baselineDecay·(mean reward − b) before the advantages are
   * taken (arch-grad.ts reinforceUpdate): the authors' rl_baseline_decay_weight, the weight of the new mean.
   */
  baselineDecay: number;
  warmupSteps: number;
  searchSteps: number;
  /**
   * One architecture step after every `archEvery` weight steps of the search phase (the authors'
   * grad_update_arch_param_every, 5), counted from the end of `archWarmupSteps`.
   */
  archEvery: number;
  /**
   * Search steps at the start of the search phase that take no architecture step: weights train
   * on the search schedule first (the authors skip α in the first of their 120 search epochs).
   */
  archWarmupSteps: number;
  /** Label smoothing ε of the weight steps' CE (the authors' 0.1); the α steps use plain CE, as theirs. */
  labelSmoothing: number;
  /** α starts at N(0, alphaInitStd²) per entry (the authors' init_arch_params: normal, 1e-3); 0: all 0. */
  alphaInitStd: number;
  /**
   * Every BN's eps in the supernet, written into the derived net.config's bn.eps (the authors' 1e-3:
   * imagenet_arch_search.py --bn_eps; their BN momentum 0.1 is wgnas's too).
   */
  bnEps: number;
  /**
   * The BN momentum written into the derived network (bn.momentum; 0.1 when omitted): the supernet
   * normalises with batch statistics, so only the network trained afterwards uses it. The CLI passes
   * a --space-file's recorded one.
   */
  bnMomentum?: number;
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
  /**
   * The images searched on, recorded in the checkpoint (a resume on others is refused naming
   * --dataset): the --dataset value and a fingerprint of the images with where they came from
   * (the hash first: only it is compared by the CLI, see cli/resume-settings.ts).
   */
  dataset?: { flag: string; images: string } | null;
  /** Told when checkpointDir's lock was left by a dead run and is taken over. */
  onStaleLock?: (owner: LockOwner) => void;
}

export const DEFAULT_SEARCH: Omit<ProxylessSearchConfig, 'layout' | 'costLoss'> = {
  mode: 'gradient',
  paths: 2,
  gateGrads: 'sampled',
  reinforceW: 0.1,
  reinforceSamples: 4,
  baselineDecay: 0.99,
  warmupSteps: 20,
  searchSteps: 40,
  archEvery: 5,
  archWarmupSteps: 0,
  labelSmoothing: 0.1,
  alphaInitStd: 1e-3,
  bnEps: AUTHORS_BN_EPS,
  batchSize: 32,
  valBatchSize: 32,
  warmupLr: 0.05,
  weightLr: 0.05,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 4e-5,
  // The authors' arch optimizer (imagenet_arch_search.py): Adam lr 1e-3, betas (0, 0.999), eps 1e-8,
  // over some 10^5 α steps; the CLI raises lr to 0.1 for its short default runs.
  arch: { lr: 1e-3, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
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
  /** Architecture-step loss (CE with the cost term) or mean reward (REINFORCE), since the last event. */
  archObjective: number | null;
  archCe: number | null;
  /** E[cost] under softmax(α), in the cost model's unit. */
  expectedCost: number | null;
  /** Cost of the current argmax architecture. */
  argmaxCost: number | null;
  /** Mean entropy of softmax(α) over blocks (nats). */
  entropy: number;
  choices: number[];
  msPerStep: number;
  /**
   * softmax(α) per block at this event, to 1e-6 (far below a pixel of the plot's α panel). Kept in
   * the checkpoint's history, so a resumed run's --plot has the steps before the resume too; absent
   * in checkpoints written before events carried it.
   */
  probs?: number[][];
}

export interface SearchResult {
  choices: number[];
  names: string[];
  netConfig: Record<string, unknown>;
  /** Unit of `cost`, `expectedCost` and the events' costs; null without a cost model. */
  unit: CostUnit | null;
  /** Cost of the derived architecture. */
  cost: number | null;
  expectedCost: number | null;
  alpha: number[][];
  probs: number[][];
  history: ProgressEvent[];
  weightSteps: number;
  archSteps: number;
  seconds: number;
}
