/**
 * Regularized (aging) evolution, Real et al. 2019: a FIFO population of P; each child mutates the
 * best of S members sampled without replacement; the child joins, the oldest leaves.
 */
import type { SearchSpace } from '../spaces/space.js';
import type { Rng } from '../util/rng.js';
import { checkSearchOptions, Evaluator, isBetter, type Scorer, type SearchOptions, type SearchResult } from './types.js';

export interface EvolutionOptions<A> extends SearchOptions<A> {
  /** P, default 20. */
  populationSize?: number;
  /** S, default 5 (clamped to the population size). */
  sampleSize?: number;
}

export async function regularizedEvolution<A>(
  space: SearchSpace<A>,
  scorer: Scorer<A>,
  opts: EvolutionOptions<A>,
): Promise<SearchResult<A>> {
  const { batchSize } = checkSearchOptions('regularizedEvolution', opts);
  const P = opts.populationSize ?? 20;
  const S = opts.sampleSize ?? 5;
  if (!Number.isInteger(P) || P < 1)
    throw new RangeError(`regularizedEvolution: populationSize must be a positive integer, got ${P}`);
  if (!Number.isInteger(S) || S < 1)
    throw new RangeError(`regularizedEvolution: sampleSize must be a positive integer, got ${S}`);
  const rng = opts.rng;
  const ev = new Evaluator(space, scorer, opts);
  const population: Array<{ arch: A; score: number }> = [];

  // Random initial population.
  while (population.length < P && ev.remaining > 0) {
    const archs = Array.from({ length: Math.min(batchSize, P - population.length, ev.remaining) }, () => space.sample(rng));
    const scores = await ev.evaluate(archs);
    archs.forEach((arch, i) => population.push({ arch, score: scores[i] }));
  }

  while (ev.remaining > 0) {
    const n = Math.min(batchSize, ev.remaining);
    const children = Array.from({ length: n }, () => space.mutate(tournament(population, S, rng).arch, rng));
    const scores = await ev.evaluate(children);
    children.forEach((arch, i) => {
      population.push({ arch, score: scores[i] });
      population.shift(); // aging: the oldest dies regardless of its score
    });
  }
  return ev.result();
}

/** The best of S members drawn without replacement (ties: the first drawn). */
export function tournament<T extends { score: number }>(population: T[], sampleSize: number, rng: Rng): T {
  const idx = population.map((_, i) => i);
  const k = Math.min(sampleSize, idx.length);
  let best: T | undefined;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(idx.length - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
    const cand = population[idx[i]];
    if (best === undefined || isBetter(cand.score, best.score)) best = cand;
  }
  return best!;
}
