/**
 * The hardware terms of the ProxylessNAS objective, in the cost model's unit (ms or MAdds): the
 * gradient-mode losses that combine cross-entropy with E[cost], and the REINFORCE reward.
 */
import type { CostUnit } from '../mobilenet/cost/model.js';

export type CostLossKind = 'add' | 'mul' | 'hinge';

export interface CostLossConfig {
  kind: CostLossKind;
  /** Target T, in the unit of the cost model the search uses. */
  target: number;
  /**
   * add: loss = CE + λ·(E[cost] − T)/T (the authors' code, 'add#linear'; the paper's Eq. 5 writes
   * CE + λ2·E[LAT], the same gradient up to the scale 1/T; the gradient is λ/T · ∂E).
   * hinge: loss = CE + λ·max(0, E[cost] − T)/T: no pressure once E[cost] is under the target. Not in
   * the paper: 'add' and 'mul' always reward lower cost (T only sets the strength), so short runs
   * either ignore the target or collapse to the cheapest net; the hinge makes T a budget.
   * Unused by 'mul' (the authors' mul#log has no λ either). Default: DEFAULT_LAMBDA.
   */
  lambda?: number;
  /** mul: loss = a·CE·(ln E[cost] / ln T)^β (ProxylessNAS 'mul#log'; they use a = 0.2, β = 0.3). */
  beta?: number;
  mulScale?: number;
}

/** λ where a config gives none: the authors' add#linear 0.1; the hinge's 2 (a budget that binds in short runs). */
export const DEFAULT_LAMBDA: Readonly<Record<'add' | 'hinge', number>> = { add: 0.1, hinge: 2 };

export interface CombinedLoss {
  loss: number;
  /** ∂loss/∂CE */
  dCe: number;
  /** ∂loss/∂E[cost], per unit of the cost model */
  dE: number;
}

/**
 * 'add' and 'hinge' depend on E/T only, so on no unit; 'mul' takes logarithms, which do: it reads
 * the costs in ms or in millions of MAdds (the paper's scale for latency; MAdds budgets are
 * quoted in millions), so ln T > 0 for any sensible target.
 */
const LOG_SCALE: Record<CostUnit, number> = { ms: 1, madds: 1e-6 };
const LOG_UNIT: Record<CostUnit, string> = { ms: 'ms', madds: 'M MAdds' };

export function combineLoss(cfg: CostLossConfig, ce: number, expected: number, unit: CostUnit = 'ms'): CombinedLoss {
  const T = cfg.target;
  if (!(T > 0)) throw new RangeError(`the cost target must be > 0, got ${T}`);
  if (cfg.kind === 'add') {
    const lambda = cfg.lambda ?? DEFAULT_LAMBDA.add;
    return { loss: ce + (lambda * (expected - T)) / T, dCe: 1, dE: lambda / T };
  }
  if (cfg.kind === 'hinge') {
    const lambda = cfg.lambda ?? DEFAULT_LAMBDA.hinge;
    const over = expected > T;
    return { loss: ce + (over ? (lambda * (expected - T)) / T : 0), dCe: 1, dE: over ? lambda / T : 0 };
  }
  if (cfg.kind !== 'mul') throw new RangeError(`the cost loss must be 'add', 'mul' or 'hinge', got '${cfg.kind as string}'`);
  const s = LOG_SCALE[unit];
  if (!(T * s > 1) || !(expected * s > 1)) {
    throw new RangeError(
      `the multiplicative loss needs costs above 1 ${LOG_UNIT[unit]} (ln must be positive): target ${T * s}, expected ${expected * s}; use 'add'`,
    );
  }
  const beta = cfg.beta ?? 0.3;
  const a = cfg.mulScale ?? 1;
  const lnT = Math.log(T * s);
  const r = Math.log(expected * s) / lnT;
  const reg = r ** beta;
  return { loss: a * ce * reg, dCe: a * reg, dE: (a * ce * beta * r ** (beta - 1)) / (expected * lnT) };
}

/** REINFORCE reward of ProxylessNAS / MnasNet: acc·(T / cost)^w (unit-free). */
export function reinforceReward(acc: number, cost: number, target: number, w = 0.1): number {
  if (!(cost > 0) || !(target > 0)) throw new RangeError('reinforceReward: costs must be > 0');
  return acc * (target / cost) ** w;
}
