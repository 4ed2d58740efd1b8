/** Settings, defaults and results of the AutoSpace evolution (evolve.ts). */
import { MAX_NODES } from '../mobilenet/cell.js';
import type { MobileNetLayout } from '../mobilenet/layout.js';
import { fixedMadds } from '../mobilenet/madds.js';
import type { SpaceFile } from '../mobilenet/space.js';
import { DEFAULT_BN } from '../mobilenet/space-file.js';

export interface EvolveConfig {
  layout: MobileNetLayout;
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
   * MBConv candidates (MBCONV_KERNELS x PROXYLESS_EXPANDS, zero) that fit the layer's budget, then mutations. The second
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
  /** Every BN's eps in the evolved networks (skeleton and cells); written into the learned space's `bn`. */
  bnEps: number;
  /**
   * BN momentum recorded in the learned space's `bn` (what `wgnas train` runs networks of it at):
   * the evolution normalises with each batch's statistics and keeps no running averages.
   */
  bnMomentum: number;
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
  // PyTorch's BatchNorm2d defaults, which the evolution always ran at (ProxylessNAS's search: 1e-3).
  bnEps: DEFAULT_BN.eps,
  bnMomentum: DEFAULT_BN.momentum,
};

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

export function checkEvolveConfig(c: EvolveConfig): void {
  const pos = (n: number, what: string) => {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`evolve-space: ${what} must be a positive integer, got ${n}`);
  };
  pos(c.populationSize, 'population size');
  pos(c.k, 'k');
  pos(c.tournamentSize, 'tournament size');
  pos(c.iterations, 'iterations');
  pos(c.steps, 'steps');
  if (!(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0))
    throw new RangeError(`evolve-space: warm-up steps must be an integer >= 0, got ${c.warmupSteps}`);
  if (!(Number.isInteger(c.minEvaluations) && c.minEvaluations >= 1))
    throw new RangeError(`evolve-space: minEvaluations must be a positive integer, got ${c.minEvaluations}`);
  pos(c.replaceEvery, 'replaceEvery');
  if (!(Number.isInteger(c.maxNodes) && c.maxNodes >= 1 && c.maxNodes <= MAX_NODES)) {
    throw new RangeError(`evolve-space: maxNodes must be an integer from 1 to ${MAX_NODES}, got ${c.maxNodes}`);
  }
  if (c.init !== 'reference' && c.init !== 'hand-designed')
    throw new RangeError(`evolve-space: init must be 'reference' or 'hand-designed', got '${c.init}'`);
  pos(c.batchSize, 'batch size');
  if (!(Number.isFinite(c.bnEps) && c.bnEps > 0)) throw new RangeError(`evolve-space: BN eps must be > 0, got ${c.bnEps}`);
  if (!(c.bnMomentum > 0 && c.bnMomentum <= 1))
    throw new RangeError(`evolve-space: BN momentum must be in (0, 1], got ${c.bnMomentum}`);
  if (c.k > c.populationSize)
    throw new RangeError(`evolve-space: k (${c.k}) cannot exceed the population size (${c.populationSize})`);
  if (!(c.budgetMadds > 0)) throw new RangeError(`evolve-space: the MAdds budget must be > 0, got ${c.budgetMadds}`);
  const fixed = fixedMadds(c.layout);
  if (c.budgetMadds <= fixed) {
    throw new RangeError(
      `evolve-space: budget ${(c.budgetMadds / 1e6).toFixed(2)} M MAdds leaves nothing for the searchable layers (stem, first block and head alone take ${(fixed / 1e6).toFixed(2)} M)`,
    );
  }
}
