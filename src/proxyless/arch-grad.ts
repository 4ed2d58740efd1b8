/**
 * The architecture gradients of the ProxylessNAS search as plain functions of the sampled gates
 * and the measured gate gradients (search-steps.ts runs the network; these are the estimators):
 * the gradient mode's dL/dα (binarized gates, cost loss) and REINFORCE's policy gradient.
 */
import { type GateSample, binarizeAlphaGrad } from '../kernels/binarize.js';
import { type CostModel, expectedCost, pairCostGrad } from '../mobilenet/cost/model.js';
import { softmax } from '../util/softmax.js';
import { combineLoss } from './objective.js';
import type { ProxylessSearchConfig } from './search-config.js';

export interface ArchGradients {
  /** dL/dα per block (what Adam minimises). */
  grads: number[][];
  /** CE with the cost term. */
  objective: number;
}

/**
 * dL/dα of one gradient architecture step. `gateGrads[b]` is dL/dg of block b (entries not
 * evaluated are 0), null where the active candidate is 'zero'.
 */
export function archGradients(
  cfg: Pick<ProxylessSearchConfig, 'paths' | 'gateGrads' | 'costLoss'>,
  cost: CostModel | null,
  alpha: readonly ArrayLike<number>[],
  gates: readonly GateSample[],
  gateGrads: ReadonlyArray<number[] | null>,
  ce: number,
): ArchGradients {
  const involvedOf = (bIdx: number): number[] =>
    cfg.gateGrads === 'all' || cfg.paths === 1 ? [...Array(alpha[bIdx].length).keys()] : gates[bIdx].involved;
  const ceGrad = alpha.map((a, bIdx) => {
    const g = gateGrads[bIdx];
    return g ? binarizeAlphaGrad(a, g, involvedOf(bIdx)) : new Array<number>(a.length).fill(0);
  });
  if (!cfg.costLoss || !cost) return { grads: ceGrad, objective: ce };
  const e = expectedCost(
    cost,
    alpha.map((a) => Array.from(a)),
  );
  const c = combineLoss(cfg.costLoss, ce, e.value, cost.unit);
  // 2-path mode: as in ProxylessNAS the cost gradient reaches only the sampled pair, through
  // the pair's softmax, so the rescale after the update keeps every other candidate's probability.
  const costGrad =
    cfg.paths === 2 ? alpha.map((a, bIdx) => pairCostGrad(a, cost.perPosition[bIdx], gates[bIdx].involved)) : e.gradAlphas;
  return {
    grads: ceGrad.map((row, bIdx) => row.map((v, i) => c.dCe * v + c.dE * costGrad[bIdx][i])),
    objective: c.loss,
  };
}

/** One sampled architecture of a REINFORCE step: its choice per block and its reward. */
export interface PolicySample {
  choices: readonly number[];
  reward: number;
}

/**
 * REINFORCE's dL/dα for L = −Σ_k (R_k − b) log π(a_k) / K (Adam minimises it, so α ascends the
 * expected reward): ∂ log p_a / ∂α_i = δ_ia − p_i per block.
 */
export function policyGradient(
  alpha: readonly ArrayLike<number>[],
  samples: readonly PolicySample[],
  baseline: number,
): number[][] {
  const probs = alpha.map((a) => softmax(a));
  const grads = alpha.map((a) => new Array<number>(a.length).fill(0));
  const K = samples.length;
  for (const s of samples) {
    const adv = s.reward - baseline;
    s.choices.forEach((a, bIdx) => probs[bIdx].forEach((pi, i) => (grads[bIdx][i] -= (adv * ((i === a ? 1 : 0) - pi)) / K)));
  }
  return grads;
}
