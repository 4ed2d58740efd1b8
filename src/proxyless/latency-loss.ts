/**
 * Latency terms of the ProxylessNAS objective, priced with a lookup table (src/latency).
 *
 * Pricing a layout: when the table holds the layout's own keys (e.g. one profiled for the CIFAR
 * layout with `wgnas profile`), those are used ('direct'). The published Pixel-1 table only covers
 * the 224×224 ImageNet space, so for the CIFAR layout each block position (stage s, block d) is
 * priced as ImageNet position (s, d) with the same candidate, plus the ImageNet stem/first
 * block/Conv_1/Logits ('imagenet-proxy'): the latency of the searched choices deployed at ImageNet
 * scale, on the table's device.
 */
import { MissingLatencyError, expectedLatencyFromLogits, supernetLatencies, type LatencyMatrix, type MissingPolicy } from '../latency/predictor.js';
import type { LatencyTable } from '../latency/lut.js';
import { IMAGENET_LAYOUT, type ProxylessLayout, layoutSpace, positionStages } from './layout.js';

export interface SearchLatency extends LatencyMatrix {
  /** perPosition[b][i] for the searchable positions only; fixedMs includes the first block. */
  /**
   * 'madds': a cell space priced by multiply-adds (millions in the *Ms fields), no table involved;
   * 'profiled': a cell space whose cells were timed on this CPU (src/autospace/cell-latency.ts).
   */
  source: 'direct' | 'imagenet-proxy' | 'madds' | 'profiled';
}

export interface LayoutLatencyOptions {
  missing?: MissingPolicy;
  /** Refuse the ImageNet-proxy fallback. */
  directOnly?: boolean;
}

function foldFirstBlock(m: LatencyMatrix): LatencyMatrix {
  return { fixedMs: m.fixedMs + m.perPosition[0][0], perPosition: m.perPosition.slice(1) };
}

export function layoutLatency(table: LatencyTable, layout: ProxylessLayout, o: LayoutLatencyOptions = {}): SearchLatency {
  const space = layoutSpace(layout);
  try {
    return { ...foldFirstBlock(supernetLatencies(table, space, { missing: o.missing ?? 'error' })), source: 'direct' };
  } catch (e) {
    if (!(e instanceof MissingLatencyError) || o.directOnly || layout.name === IMAGENET_LAYOUT.name) throw e;
  }
  return imagenetProxyLatency(table, layout, o.missing ?? 'error');
}

/** Prices `layout`'s positions as the same (stage, block) positions of the ImageNet space. */
export function imagenetProxyLatency(table: LatencyTable, layout: ProxylessLayout, missing: MissingPolicy = 'error'): SearchLatency {
  const ref = IMAGENET_LAYOUT;
  if (layout.widths.length !== ref.widths.length) {
    throw new Error(`layout ${layout.name}: ${layout.widths.length} stages cannot be priced as the ${ref.widths.length} ImageNet stages`);
  }
  if (layout.kernels.join() !== ref.kernels.join() || layout.expands.join() !== ref.expands.join()) {
    throw new Error(`layout ${layout.name}: candidate set differs from the ImageNet space's, cannot price it with its table`);
  }
  layout.depths.forEach((d, s) => {
    if (d > ref.depths[s]) throw new Error(`layout ${layout.name}: stage ${s} has ${d} blocks, more than ImageNet's ${ref.depths[s]}`);
  });
  const full = foldFirstBlock(supernetLatencies(table, layoutSpace(ref), { missing }));
  const refIndex = new Map(positionStages(ref).map((p, i) => [`${p.stage}/${p.depth}`, i]));
  const ours = layoutSpace(layout).positions.slice(1);
  const perPosition = positionStages(layout).map((p, b) => {
    const row = full.perPosition[refIndex.get(`${p.stage}/${p.depth}`)!];
    if (row.length !== ours[b].candidates.length) {
      throw new Error(`layout ${layout.name}: position ${b} has ${ours[b].candidates.length} candidates, its ImageNet counterpart ${row.length}`);
    }
    return row.slice();
  });
  return { fixedMs: full.fixedMs, perPosition, source: 'imagenet-proxy' };
}

/** Latency of one architecture (candidate index per searchable position). */
export function choicesLatencyMs(m: LatencyMatrix, choices: readonly number[]): number {
  if (choices.length !== m.perPosition.length) throw new RangeError(`${choices.length} choices for ${m.perPosition.length} positions`);
  return choices.reduce((s, c, b) => s + m.perPosition[b][c], m.fixedMs);
}

/** The fastest and slowest architectures of the space. */
export function latencyRange(m: LatencyMatrix): { minMs: number; maxMs: number } {
  return {
    minMs: m.perPosition.reduce((s, row) => s + Math.min(...row), m.fixedMs),
    maxMs: m.perPosition.reduce((s, row) => s + Math.max(...row), m.fixedMs),
  };
}

export type LatencyLossKind = 'add' | 'mul' | 'hinge';

export interface LatencyLossConfig {
  kind: LatencyLossKind;
  targetMs: number;
  /**
   * add: loss = CE + λ·(E[lat] − T)/T (ProxylessNAS 'add#linear'; the gradient is λ/T · ∂E).
   * hinge: loss = CE + λ·max(0, E[lat] − T)/T: no pressure once E[lat] is under the target. Not in
   * the paper: 'add' and 'mul' always reward lower latency (T only sets the strength), so short runs
   * either ignore the target or collapse to the fastest net; the hinge makes T a budget.
   */
  lambda?: number;
  /** mul: loss = a·CE·(ln E[lat] / ln T)^β (ProxylessNAS 'mul#log'; they use a = 0.2, β = 0.3). */
  beta?: number;
  mulScale?: number;
}

export interface CombinedLoss {
  loss: number;
  /** ∂loss/∂CE */
  dCe: number;
  /** ∂loss/∂E[lat] (per ms) */
  dE: number;
}

export function combineLoss(cfg: LatencyLossConfig, ce: number, expectedMs: number): CombinedLoss {
  const T = cfg.targetMs;
  if (!(T > 0)) throw new RangeError(`latency target must be > 0 ms, got ${T}`);
  if (cfg.kind === 'add') {
    const lambda = cfg.lambda ?? 0.1;
    return { loss: ce + (lambda * (expectedMs - T)) / T, dCe: 1, dE: lambda / T };
  }
  if (cfg.kind === 'hinge') {
    const lambda = cfg.lambda ?? 1;
    const over = expectedMs > T;
    return { loss: ce + (over ? (lambda * (expectedMs - T)) / T : 0), dCe: 1, dE: over ? lambda / T : 0 };
  }
  if (cfg.kind !== 'mul') throw new RangeError(`latency loss must be 'add', 'mul' or 'hinge', got '${cfg.kind as string}'`);
  if (!(T > 1) || !(expectedMs > 1)) {
    throw new RangeError(`the multiplicative loss needs latencies above 1 ms (ln must be positive): target ${T}, expected ${expectedMs}; use 'add'`);
  }
  const beta = cfg.beta ?? 0.3;
  const a = cfg.mulScale ?? 1;
  const r = Math.log(expectedMs) / Math.log(T);
  const reg = r ** beta;
  return { loss: a * ce * reg, dCe: a * reg, dE: (a * ce * beta * r ** (beta - 1)) / (expectedMs * Math.log(T)) };
}

/** E[lat] under softmax(α) per position and ∂E/∂α (re-exported for the search). */
export function expectedLatency(m: LatencyMatrix, alphas: number[][]): { valueMs: number; probs: number[][]; gradAlphas: number[][] } {
  return expectedLatencyFromLogits(m, alphas);
}

/** REINFORCE reward of ProxylessNAS / MnasNet: acc·(T / lat)^w. */
export function reinforceReward(acc: number, latencyMs: number, targetMs: number, w = 0.1): number {
  if (!(latencyMs > 0) || !(targetMs > 0)) throw new RangeError('reinforceReward: latencies must be > 0');
  return acc * (targetMs / latencyMs) ** w;
}
