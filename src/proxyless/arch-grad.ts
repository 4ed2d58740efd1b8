/**
 * The architecture gradients of the ProxylessNAS search as plain functions of the sampled gates
 * and the measured gate gradients (search-steps.ts runs the network; these are the estimators):
 * the gradient mode's dL/dα (binarized gates, cost loss) and REINFORCE's policy gradient with its
 * moving baseline.
 */
import { type GateSample, binarizeAlphaGrad } from '../kernels/binarize.js';
import { type CostModel, expectedCost, pairExpectedCost } from '../mobilenet/cost/model.js';
import { softmax } from '../util/softmax.js';
import { combineLoss } from './objective.js';
import type { ProxylessSearchConfig } from './search-config.js';

export interface ArchGradients {
  /** dL/dα per block (what Adam minimises); 0 in frozen blocks. */
  grads: number[][];
  /**
   * Blocks whose active candidate is 'zero': as in ProxylessNAS (set_arch_param_grad) their α takes
   * no step at all, neither from CE nor from the cost term, and gets no 2-path rescale.
   */
  frozen: boolean[];
  /** CE with the cost term. */
  objective: number;
}

/**
 * The CE part of dL/dα of one block from its gate gradients (the paper's
 * dL/dα_i = Σ_j dL/dg_j·p_j(δ_ij − p_i)):
 *  - every gate gradient known (1 path with 'all', the paper's full mode): the formula over all
 *    candidates;
 *  - 2 paths: the formula over the sampled pair, with the pair's softmax (the paper's two-path mode);
 *  - 1 path with only the active path's dL/dg_a (all others unknown, not 0): the one-sample
 *    estimate of the sum over j, dL/dg_a·p_a(δ_ia − p_i) / p_a = dL/dg_a·(δ_ia − p_i). Reading the
 *    unknown terms as 0 instead leaves an extra factor p_a, whose average over a ~ p weights each
 *    candidate by p_a² instead of p_a: not the gradient, and not even invariant to a constant offset
 *    of the loss.
 */
function ceAlphaGrad(
  cfg: Pick<ProxylessSearchConfig, 'paths' | 'gateGrads'>,
  alpha: ArrayLike<number>,
  gate: GateSample,
  gateGrads: number[],
): number[] {
  if (cfg.paths === 2 && cfg.gateGrads !== 'all') return binarizeAlphaGrad(alpha, gateGrads, gate.involved);
  if (cfg.gateGrads === 'all') return binarizeAlphaGrad(alpha, gateGrads, [...Array(alpha.length).keys()]);
  const p = softmax(alpha);
  const a = gate.active;
  return p.map((pi, i) => gateGrads[a] * ((i === a ? 1 : 0) - pi));
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
  const frozen = gateGrads.map((g) => g === null);
  const ceGrad = alpha.map((a, bIdx) => {
    const g = gateGrads[bIdx];
    return g ? ceAlphaGrad(cfg, a, gates[bIdx], g) : new Array<number>(a.length).fill(0);
  });
  if (!cfg.costLoss || !cost) return { grads: ceGrad, frozen, objective: ce };
  // 2-path mode, as in ProxylessNAS (mix_op.py binarize, super_proxyless.py expected_latency): the
  // loss takes the expected cost of the sampled pairs under their softmax, so its value and its
  // factors (mul: CE·(ln E/ln T)^β; hinge: whether E is over T) use that E, and its gradient
  // reaches only the pairs, which the rescale after the update keeps apart from the rest.
  const rows = alpha.map((a) => Array.from(a));
  const e =
    cfg.paths === 2
      ? pairExpectedCost(
          cost,
          rows,
          gates.map((g) => g.involved),
        )
      : expectedCost(cost, rows);
  const c = combineLoss(cfg.costLoss, ce, e.value, cost.unit);
  const costGrad = e.gradAlphas;
  return {
    grads: ceGrad.map((row, bIdx) => row.map((v, i) => (frozen[bIdx] ? 0 : c.dCe * v + c.dE * costGrad[bIdx][i]))),
    frozen,
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

/**
 * One REINFORCE update as ProxylessNAS' rl_update_step makes it (nas_manager.py): the baseline
 * moves first, b ← mean reward on the first step, else b ← b + decay·(mean − b), and the policy
 * gradient takes the advantages R_k − b against the moved baseline. The authors' 'baseline decay
 * weight' (0.99) is thus the weight of the new mean, not of the old baseline, so b is mostly this
 * step's own mean: the expected update is −(1 − decay/K)·∇E[R] (−(1 − 1/K)·∇E[R] on the first
 * step), the direction of the true gradient scaled down, a scale Adam's normalisation absorbs.
 */
export function reinforceUpdate(
  alpha: readonly ArrayLike<number>[],
  samples: readonly PolicySample[],
  baseline: number | null,
  decay: number,
): { grads: number[][]; baseline: number; meanReward: number } {
  if (!(decay >= 0 && decay <= 1)) throw new RangeError(`REINFORCE: the baseline decay must be in [0, 1], got ${decay}`);
  const meanReward = samples.reduce((s, x) => s + x.reward, 0) / samples.length;
  const next = baseline === null ? meanReward : baseline + decay * (meanReward - baseline);
  return { grads: policyGradient(alpha, samples, next), baseline: next, meanReward };
}
