/**
 * `wgnas search` on NAS-Bench-201: the strategy run over the proxy's raw scores. The search steers by
 * online values (PopulationScorer: a single proxy's raw score, or a vote / log-rank sum against the
 * architectures seen so far; REINFORCE learns from percentile rewards); the answer is the best
 * evaluated cell by the final ranking of all of them (finalBest).
 */
import { randomSearch, regularizedEvolution, reinforce, type Scorer, type SearchResult } from '../search/index.js';
import type { Nb201Cell } from '../spaces/nb201.js';
import { nb201Space } from '../spaces/nb201.js';
import { fractionBelow } from '../util/ranks.js';
import type { Rng } from '../util/rng.js';
import { finalBest, PopulationScorer, type ScoredArch } from './population-scorer.js';

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
  const evaluated: ScoredArch<Nb201Cell>[] = [];
  const r = await runOnline(async (c) => {
    const scores = await rawScores(c);
    evaluated.push({ arch: c, scores });
    return scores;
  }, o);
  const { arch, score } = finalBest(o.proxy, evaluated);
  return { ...r, best: arch, bestScore: score };
}

async function runOnline(
  rawScores: (c: Nb201Cell) => Promise<Record<string, number>>,
  o: Nb201StrategyOptions,
): Promise<SearchResult<Nb201Cell>> {
  const { strategy, proxy, budget, rng, onBatch } = o;
  const pop = new PopulationScorer(proxy);
  const score: Scorer<Nb201Cell> = async (cells) => {
    const out: number[] = [];
    for (const c of cells) out.push(pop.value(await rawScores(c)));
    return out;
  };
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
