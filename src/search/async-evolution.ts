/**
 * Regularized evolution in its asynchronous form (Real et al. 2019, as run on many workers): a
 * proposal is made whenever a worker is free, from the population as it stands; each result joins
 * the population when it arrives and the oldest member leaves. Nothing waits for a generation.
 * The proposals are a function of the seed and the order results arrived in, so a run replayed
 * with its recorded completion order retraces its steps exactly.
 */
import type { SearchSpace } from '../spaces/space.js';
import type { Rng } from '../util/rng.js';
import { tournament } from './evolution.js';
import { isBetter, type HistoryEntry } from './types.js';

export interface AsyncEvolutionOptions {
  budget: number;
  rng: Rng;
  /** P: the population (and the number of random proposals that seed it). */
  populationSize: number;
  /** S: tournament size. */
  sampleSize: number;
  /** 'random': every proposal is drawn at random (asynchronous random search). */
  strategy?: 'evolution' | 'random';
}

export interface Proposal<A> {
  step: number;
  arch: A;
}

export class AsyncRegularizedEvolution<A> {
  private proposed = 0;
  private readonly population: Array<{ arch: A; score: number }> = [];
  readonly history: Array<HistoryEntry<A>> = [];
  best: A | undefined;
  bestScore = NaN;

  constructor(
    private readonly space: SearchSpace<A>,
    private readonly o: AsyncEvolutionOptions,
  ) {
    for (const [k, v] of [
      ['budget', o.budget],
      ['populationSize', o.populationSize],
      ['sampleSize', o.sampleSize],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`AsyncRegularizedEvolution: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Proposals left to make. */
  get remaining(): number {
    return this.o.budget - this.proposed;
  }

  /** True once every proposal's result has been reported. */
  get finished(): boolean {
    return this.history.length === this.o.budget;
  }

  /**
   * The next proposal, or null when the budget is spent. The first P are random; later ones mutate
   * the tournament winner of the results in so far (random while none is in).
   */
  propose(): Proposal<A> | null {
    if (this.proposed >= this.o.budget) return null;
    const rng = this.o.rng;
    const random = this.o.strategy === 'random' || this.proposed < this.o.populationSize || this.population.length === 0;
    const arch = random
      ? this.space.sample(rng)
      : this.space.mutate(tournament(this.population, this.o.sampleSize, rng).arch, rng);
    return { step: this.proposed++, arch };
  }

  /** A result arrived: it joins the population (the oldest leaves once there are P). */
  report(step: number, arch: A, score: number): void {
    if (step >= this.proposed) throw new RangeError(`AsyncRegularizedEvolution: step ${step} was never proposed`);
    if (typeof score !== 'number')
      throw new TypeError(
        `AsyncRegularizedEvolution: score of step ${step} must be a number (NaN for a failure), got ${String(score)}`,
      );
    this.population.push({ arch, score });
    if (this.population.length > this.o.populationSize) this.population.shift();
    this.history.push({ arch, score, step });
    if (this.best === undefined || isBetter(score, this.bestScore)) {
      this.best = arch;
      this.bestScore = score;
    }
  }
}
