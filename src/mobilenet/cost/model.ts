/**
 * The hardware cost of a MobileNet architecture as a searches sees it: a fixed part (stem, first
 * block, feature mix, classifier) plus one entry per candidate of every searchable layer, in one
 * unit that travels with the numbers: milliseconds (a latency table, or cells timed through the
 * native addon) or multiply-adds. Builders: table.ts, madds.ts, measured.ts.
 */
import { softmax } from '../../kernels/binarize.js';
import { IMAGENET_LAYOUT } from '../layout.js';

export type CostUnit = 'ms' | 'madds';

/**
 * Where the numbers come from: 'table' = a latency table's own keys for the layout; 'imagenet-proxy'
 * = each position priced as the same (stage, block) position of the ImageNet space in the table;
 * 'madds' = multiply-adds of the cells; 'measured' = the cells timed on this CPU.
 */
export type CostSource = 'table' | 'imagenet-proxy' | 'madds' | 'measured';

export interface CostModel {
  unit: CostUnit;
  source: CostSource;
  /** The skeleton's cost (everything but the searchable layers), in `unit`. */
  fixed: number;
  /** perPosition[b][j]: candidate j of searchable layer b, in `unit` (a zero cell costs 0). */
  perPosition: number[][];
  /** Provenance of a measured model: CPU, backend, library, threads, cache flushing, date. */
  meta?: Record<string, string>;
}

/** Cost of one architecture: the skeleton plus the chosen candidate of every layer. */
export function archCost(cost: Pick<CostModel, 'fixed' | 'perPosition'>, choices: readonly number[]): number {
  if (choices.length !== cost.perPosition.length)
    throw new RangeError(`archCost: ${choices.length} choices for ${cost.perPosition.length} positions`);
  return choices.reduce((s, j, b) => {
    const v = cost.perPosition[b][j];
    if (v === undefined)
      throw new RangeError(`archCost: position ${b} has ${cost.perPosition[b].length} candidates, choice ${j}`);
    return s + v;
  }, cost.fixed);
}

/** The cheapest and the most expensive architecture of the space. */
export function costRange(cost: Pick<CostModel, 'fixed' | 'perPosition'>): { min: number; max: number } {
  return {
    min: cost.perPosition.reduce((s, row) => s + Math.min(...row), cost.fixed),
    max: cost.perPosition.reduce((s, row) => s + Math.max(...row), cost.fixed),
  };
}

function checkRows(cost: Pick<CostModel, 'perPosition'>, x: ArrayLike<number>[], what: string): void {
  if (x.length !== cost.perPosition.length)
    throw new RangeError(`${what}: ${x.length} rows for ${cost.perPosition.length} block positions`);
  x.forEach((row, b) => {
    if (row.length !== cost.perPosition[b].length) {
      throw new RangeError(`${what}: position ${b} has ${row.length} entries for ${cost.perPosition[b].length} candidates`);
    }
  });
}

/** E[cost] = fixed + Σ_b Σ_j p[b][j]·cost[b][j] under candidate probabilities (linear in p). */
export function costUnderProbs(cost: Pick<CostModel, 'fixed' | 'perPosition'>, probs: ArrayLike<number>[]): number {
  checkRows(cost, probs, 'costUnderProbs');
  let value = cost.fixed;
  probs.forEach((row, b) => {
    for (let j = 0; j < row.length; j++) value += row[j] * cost.perPosition[b][j];
  });
  return value;
}

/**
 * E[cost] under p = softmax(α) per layer, and its gradient wrt α:
 * ∂E/∂α_j = p_j (cost_j − Σ_i p_i cost_i).
 */
export function expectedCost(
  cost: Pick<CostModel, 'fixed' | 'perPosition'>,
  alphas: ArrayLike<number>[],
): { value: number; probs: number[][]; gradAlphas: number[][] } {
  checkRows(cost, alphas, 'expectedCost');
  const probs = alphas.map((a) => softmax(a));
  const value = costUnderProbs(cost, probs);
  const gradAlphas = probs.map((p, b) => {
    const c = cost.perPosition[b];
    const mean = p.reduce((s, pi, i) => s + pi * c[i], 0);
    return p.map((pj, j) => pj * (c[j] - mean));
  });
  return { value, probs, gradAlphas };
}

/**
 * ∂/∂α of the pair expectation Σ_{j∈pair} q_j cost_j with q = softmax(α_pair), zero elsewhere: the
 * cost gradient of ProxylessNAS' 2-path mode, which reaches only the sampled pair.
 */
export function pairCostGrad(alpha: ArrayLike<number>, cost: readonly number[], pair: readonly number[]): number[] {
  const q = softmax(pair.map((i) => alpha[i]));
  const mean = pair.reduce((s, i, k) => s + q[k] * cost[i], 0);
  const out = new Array<number>(alpha.length).fill(0);
  pair.forEach((i, k) => (out[i] = q[k] * (cost[i] - mean)));
  return out;
}

/**
 * The expected cost of ProxylessNAS' 2-path mode: every layer priced by its sampled pair under the
 * pair's softmax, fixed + Σ_b Σ_{j∈pair_b} q_j cost_j (the authors' expected_latency over
 * current_prob_over_ops, zero off the pair), and its gradient wrt α (pairCostGrad per layer).
 */
export function pairExpectedCost(
  cost: Pick<CostModel, 'fixed' | 'perPosition'>,
  alphas: ArrayLike<number>[],
  pairs: ReadonlyArray<readonly number[]>,
): { value: number; gradAlphas: number[][] } {
  checkRows(cost, alphas, 'pairExpectedCost');
  if (pairs.length !== alphas.length) throw new RangeError(`pairExpectedCost: ${pairs.length} pairs for ${alphas.length} rows`);
  let value = cost.fixed;
  pairs.forEach((pair, b) => {
    const q = softmax(pair.map((i) => alphas[b][i]));
    pair.forEach((i, k) => (value += q[k] * cost.perPosition[b][i]));
  });
  const gradAlphas = alphas.map((a, b) => pairCostGrad(a, cost.perPosition[b], pairs[b]));
  return { value, gradAlphas };
}

/** A cost for people: '12.34 ms' or '2.50 M MAdds'. */
export function formatCost(value: number, unit: CostUnit, digits = 2): string {
  return unit === 'ms' ? `${value.toFixed(digits)} ms` : `${(value / 1e6).toFixed(digits)} M MAdds`;
}

/** A range for people: '1.57..5.84 M MAdds' or '10.20..30.50 ms'. */
export function formatCostRange(min: number, max: number, unit: CostUnit, digits = 2): string {
  const [lo] = formatCost(min, unit, digits).split(' ');
  return `${lo}..${formatCost(max, unit, digits)}`;
}

/**
 * Whose latency a model's ms are, for captions: '' where they are this network's (a table of the
 * layout's own keys, cells timed here); for 'imagenet-proxy' (the CIFAR layout under an ImageNet
 * table) the ImageNet-layout twin's: the same choices at the same (stage, block) positions of the
 * ImageNet network at its input size, with its stem and head, on the table's device.
 */
export function latencyScope(cost: Pick<CostModel, 'source'>): string {
  const s = IMAGENET_LAYOUT.inputSize;
  return cost.source === 'imagenet-proxy' ? `the ImageNet-layout twin at ${s}x${s} on the table's device` : '';
}

/** What a model's numbers are, for a log line. */
export function describeCost(cost: Pick<CostModel, 'source' | 'meta'>): string {
  switch (cost.source) {
    case 'table':
      return 'latency table keys of this layout';
    case 'imagenet-proxy':
      return 'latency priced as the ImageNet positions of the table';
    case 'madds':
      return 'multiply-adds of the cells';
    case 'measured':
      return `cells timed on this CPU${cost.meta?.backend ? `, ${cost.meta.backend}` : ''}`;
  }
}
