/**
 * Networks and searches over a cell space: one cell per layer plugged into the layout's skeleton
 * (stem, fixed first block, feature mix, classifier, all as in ProxylessNAS), scored by the
 * zero-shot proxies or trained briefly; and the budget-constrained categorical space the generic
 * search strategies (src/search) walk.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { ProxyBatch, NetFactory, ScorableNet } from '../proxies/index.js';
import { scoreNet } from '../proxies/index.js';
import { outSize } from '../latency/keys.js';
import type { SearchLatency } from '../proxyless/latency-loss.js';
import type { ProxylessLayout } from '../proxyless/layout.js';
import { layoutSpace } from '../proxyless/layout.js';
import { ProxylessSupernet } from '../proxyless/supernet.js';
import type { Tape, Var } from '../nn/tape.js';
import { type SearchSpace, checkChoices } from '../spaces/space.js';
import type { Rng } from '../util/rng.js';
import { cellMadds } from './cell.js';
import { type CellSpaceLatency, archLatencyMs } from './cell-latency.js';
import { type CellSpace, choicesMadds } from './space-file.js';

/** Multiply-adds of everything but the searchable layers: stem, first block (dw3 + 1×1), feature mix, classifier. */
export function fixedMadds(layout: ProxylessLayout): number {
  const space = layoutSpace(layout);
  const h0 = outSize(layout.inputSize, layout.stemStride);
  const stem = h0 * h0 * 3 * layout.stemC * 9;
  const first = h0 * h0 * layout.stemC * 9 + h0 * h0 * layout.stemC * layout.firstBlockC;
  const last = space.positions[space.positions.length - 1];
  const hl = outSize(last.inH, last.stride);
  const mix = hl * hl * last.outC * layout.featureMixC;
  return stem + first + mix + layout.featureMixC * layout.classes;
}

/** Whole-network multiply-adds of one architecture of the space. */
export function archMadds(space: CellSpace, choices: readonly number[]): number {
  return fixedMadds(space.layout) + choicesMadds(space, choices);
}

/**
 * MAdds (in millions) as the hardware cost of the ProxylessNAS objective, for spaces whose cells no
 * latency table prices: `fixedMs`/`perPosition` then hold M multiply-adds, `source` says so.
 */
export function maddsCost(space: CellSpace): SearchLatency {
  return {
    fixedMs: fixedMadds(space.layout) / 1e6,
    perPosition: space.cells.map((cells, b) => cells.map((c) => cellMadds(c, space.shapes[b]) / 1e6)),
    source: 'madds',
  };
}

/** One architecture of a cell space as a stand-alone network the proxies can score. */
export class CellArchNet implements ScorableNet {
  readonly net: ProxylessSupernet;
  private readonly gates;

  constructor(gpu: Gpu, space: CellSpace, readonly choices: readonly number[], rng: Rng, init: 'pytorch' | 'gaussian' = 'pytorch') {
    checkChoices({ name: `space ${space.file.source}`, choiceSizes: space.cells.map((c) => c.length) }, choices);
    this.net = new ProxylessSupernet(gpu, space.layout, rng, { only: choices, cells: space.cells, init });
    this.gates = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));
  }

  get params() {
    return this.net.params;
  }

  paramCount(): number {
    return this.net.params.reduce((s, p) => s + p.value.size, 0);
  }

  forward(t: Tape, x: Var): { logits: Var; features: Var } {
    const { logits, features } = this.net.forward(t, x, this.gates);
    return { logits, features };
  }

  zeroGrad(): void {
    this.net.zeroGrad();
  }

  dispose(): void {
    this.net.dispose();
  }
}

export function cellArchFactory(gpu: Gpu, space: CellSpace, choices: readonly number[]): NetFactory {
  if (space.layout.inputSize !== 32) throw new RangeError(`zero-shot scoring needs a 32×32 layout (CIFAR-10), ${space.layout.name} takes ${space.layout.inputSize}`);
  return {
    build: (init, rng) => new CellArchNet(gpu, space, choices, rng, init),
    flopsM: archMadds(space, choices) / 1e6,
  };
}

export async function scoreArch(gpu: Gpu, space: CellSpace, choices: readonly number[], proxies: readonly string[], batch: ProxyBatch, seed = 0) {
  return scoreNet(gpu, cellArchFactory(gpu, space, choices), proxies, batch, seed);
}

/** A latency ceiling for cellSearchSpace: the space's cells priced (cell-latency.ts) and the limit. */
export interface LatencyLimit {
  latency: Pick<CellSpaceLatency, 'fixedMs' | 'perPosition'>;
  maxLatencyMs: number;
}

/**
 * The space as a product of per-layer choices, restricted to architectures whose whole-network
 * MAdds lie in [minMadds, budgetMadds] (a band makes "equal MAdds" comparisons between spaces),
 * and optionally whose priced latency is at most a ceiling (equal latency as well): sampling and
 * mutation redraw until the constraints hold.
 */
export function cellSearchSpace(space: CellSpace, budgetMadds = Infinity, minMadds = 0, limit?: LatencyLimit): SearchSpace<number[]> {
  const sizes = space.cells.map((c) => c.length);
  const name = `${space.file.source}:${space.layout.name}`;
  const fast = (a: number[]) => !limit || archLatencyMs(limit.latency, a) <= limit.maxLatencyMs;
  const within = (a: number[]) => {
    const m = archMadds(space, a);
    return m <= budgetMadds && m >= minMadds && fast(a);
  };
  const madds = (b: number, j: number) => cellMadds(space.cells[b][j], space.shapes[b]);
  const cheapest = space.cells.map((cells, b) => cells.reduce((best, _c, j) => (madds(b, j) < madds(b, best) ? j : best), 0));
  const priciest = space.cells.map((cells, b) => cells.reduce((best, _c, j) => (madds(b, j) > madds(b, best) ? j : best), 0));
  const M = (x: number) => (x / 1e6).toFixed(2);
  if (archMadds(space, cheapest) > budgetMadds) {
    throw new RangeError(`${name}: budget ${M(budgetMadds)} M MAdds is below the cheapest architecture (${M(archMadds(space, cheapest))} M)`);
  }
  if (archMadds(space, priciest) < minMadds) {
    throw new RangeError(`${name}: minimum ${M(minMadds)} M MAdds is above the most expensive architecture (${M(archMadds(space, priciest))} M)`);
  }
  if (minMadds > budgetMadds) throw new RangeError(`${name}: minimum ${M(minMadds)} M MAdds exceeds the budget ${M(budgetMadds)} M`);
  if (limit) {
    if (limit.latency.perPosition.length !== sizes.length || limit.latency.perPosition.some((p, b) => p.length !== sizes[b])) {
      throw new RangeError(`${name}: the latency matrix does not match the space (${limit.latency.perPosition.map((p) => p.length).join('/')} priced cells per layer, space has ${sizes.join('/')})`);
    }
    const fastest = limit.latency.perPosition.map((p) => p.indexOf(Math.min(...p)));
    const lo = archLatencyMs(limit.latency, fastest);
    if (lo > limit.maxLatencyMs) throw new RangeError(`${name}: latency ceiling ${limit.maxLatencyMs.toFixed(3)} ms is below the fastest architecture (${lo.toFixed(3)} ms)`);
  }
  const band = `${M(minMadds)}..${M(budgetMadds)} M MAdds${limit ? ` and ${limit.maxLatencyMs.toFixed(3)} ms` : ''}`;
  const TRIES = 1000;
  const check = (a: number[]) => {
    checkChoices({ name, choiceSizes: sizes }, a);
    return [...a];
  };
  return {
    name,
    choiceSizes: sizes,
    sample(rng) {
      for (let i = 0; i < TRIES; i++) {
        const a = sizes.map((k) => rng.int(k));
        if (within(a)) return a;
      }
      // Narrow bands (and latency ceilings): from a random draw, random single-layer changes that never
      // move away from the constraints (relative distance to the MAdds band plus relative excess over
      // the ceiling) and never leave them once inside; a walk stuck outside restarts.
      const dist = (x: number[]) => {
        const m = archMadds(space, x);
        const over = limit ? Math.max(0, archLatencyMs(limit.latency, x) / limit.maxLatencyMs - 1) : 0;
        return Math.max(0, minMadds - m, m - budgetMadds) / (Number.isFinite(budgetMadds) ? budgetMadds : Math.max(1, minMadds)) + over;
      };
      for (let restart = 0; restart < 8; restart++) {
        const a = sizes.map((k) => rng.int(k));
        let d = dist(a);
        for (let i = 0; i < 200 * sizes.length; i++) {
          const b = rng.int(sizes.length);
          const old = a[b];
          a[b] = rng.int(sizes[b]);
          const after = dist(a);
          if (after > d || (d === 0 && after > 0)) a[b] = old;
          else d = after;
          if (d === 0 && i >= 4 * sizes.length) return a;
        }
        if (d === 0) return a;
      }
      throw new RangeError(`${name}: could not sample an architecture within ${band}`);
    },
    mutate(a, rng) {
      const mutable = sizes.map((k, i) => (k > 1 ? i : -1)).filter((i) => i >= 0);
      if (!mutable.length) throw new RangeError(`${name}: every layer has one cell, nothing to mutate`);
      for (let i = 0; i < TRIES; i++) {
        const b = rng.pick(mutable);
        const c = [...a];
        c[b] = (a[b] + 1 + rng.int(sizes[b] - 1)) % sizes[b];
        if (within(c)) return c;
      }
      throw new RangeError(`${name}: no neighbour of [${a.join(',')}] fits ${band}`);
    },
    key: (a) => a.join(','),
    encode: check,
    decode: check,
    format: (a) => a.join(','),
    parse: (s) => check(s.split(',').map((v) => Number(v))),
  };
}
