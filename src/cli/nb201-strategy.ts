/**
 * `wgnas search` on NAS-Bench-201: the strategy run over the proxy's raw scores. The search steers by
 * online values (populationScorer: a single proxy's raw score, or an aggregator's own online rule
 * against the architectures seen so far; REINFORCE learns from percentile rewards); the answer is
 * the best evaluated cell by the final ranking of all of them (finalBest).
 */
import { randomSearch, regularizedEvolution, reinforce, type Scorer, type SearchResult } from '../search/index.js';
import type { Nb201Cell } from '../spaces/nb201.js';
import { nb201Space } from '../spaces/nb201.js';
import { fractionBelow } from '../util/ranks.js';
import type { Rng } from '../util/rng.js';
import { populationScorer } from '../proxies/registry.js';

export interface Nb201StrategyOptions {
  strategy: 'random' | 'evolution' | 'reinforce';
  proxy: string;
  budget: number;
  rng: Rng;
  population: number;
  sampleSize: number;
  onBatch?: (s: { batch: unknown[] }) => void;
}

/**
 * Runs the strategy; `rawScores` gives a cell's raw proxy scores (the aggregate's members for an
 * aggregate). `best` and `bestScore` of the result are finalBest's; the history keeps the values
 * the search steered by.
 */
export async function runNb201Strategy(
  rawScores: (c: Nb201Cell) => Promise<Record<string, number>>,
  o: Nb201StrategyOptions,
): Promise<SearchResult<Nb201Cell>> {
  const pop = populationScorer<Nb201Cell>(o.proxy);
  const score: Scorer<Nb201Cell> = async (cells) => {
    const out: number[] = [];
    for (const c of cells) out.push(pop.value(await rawScores(c), c));
    return out;
  };
  const r = await runOnline(score, o);
  const { arch, score: bestScore } = pop.best();
  return { ...r, best: arch, bestScore };
}

async function runOnline(score: Scorer<Nb201Cell>, o: Nb201StrategyOptions): Promise<SearchResult<Nb201Cell>> {
  const { strategy, budget, rng, onBatch } = o;
  if (strategy === 'random') return randomSearch(nb201Space, score, { budget, rng, onBatch });
  if (strategy === 'evolution') {
    return regularizedEvolution(nb201Space, score, {
      budget,
      rng,
      onBatch,
      populationSize: o.population,
      sampleSize: o.sampleSize,
    });
  }
  // REINFORCE needs rewards on a stable scale: use the score's percentile among those seen so far.
  const seenScores: number[] = [];
  const pct: Scorer<Nb201Cell> = async (cells) => {
    const raw = await score(cells);
    return raw.map((r) => {
      seenScores.push(r);
      return fractionBelow(seenScores, r);
    });
  };
  return reinforce(nb201Space, pct, { budget, rng, onBatch, learningRate: 0.1 });
}
