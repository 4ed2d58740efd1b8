/** Shared plumbing of the search strategies: batched scoring with a cache, a budget and the history. */
import type { SearchSpace } from '../spaces/space.js';
import type { Rng } from '../util/rng.js';

/** Scores a batch of architectures (higher is better); one score per input, in order. */
export type Scorer<A> = (archs: A[]) => Promise<number[]>;

export interface HistoryEntry<A> {
  arch: A;
  score: number;
  /** 0-based position in the search (one step per proposed architecture). */
  step: number;
}

export interface SearchResult<A> {
  best: A;
  /** NaN only if every score was NaN. */
  bestScore: number;
  history: Array<HistoryEntry<A>>;
  /** Architectures actually sent to the scorer (<= history.length when the cache hits). */
  evaluations: number;
}

export interface SearchOptions<A> {
  /** Architectures to propose (history length). Cached repeats count too, so the search always ends. */
  budget: number;
  rng: Rng;
  /** Architectures proposed and scored together (the scorer gets up to this many at once). Default 1. */
  batchSize?: number;
  /** Reuse scores of architectures with an equal `space.key` instead of rescoring. Default true. */
  cache?: boolean;
  /** Called after each scored batch. */
  onBatch?: (state: { step: number; budget: number; best: A; bestScore: number; batch: Array<HistoryEntry<A>> }) => void;
}

/** NaN is worse than every number; ties keep the incumbent. */
export function isBetter(score: number, than: number): boolean {
  if (Number.isNaN(score)) return false;
  return Number.isNaN(than) || score > than;
}

export function checkSearchOptions<A>(what: string, o: SearchOptions<A>): { budget: number; batchSize: number } {
  if (!Number.isInteger(o.budget) || o.budget < 1)
    throw new RangeError(`${what}: budget must be a positive integer, got ${o.budget}`);
  const batchSize = o.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`${what}: batchSize must be a positive integer, got ${batchSize}`);
  if (!o.rng) throw new TypeError(`${what}: an Rng is required (options.rng)`);
  return { budget: o.budget, batchSize };
}

/** Scores proposals through the cache, keeps the history and the incumbent, enforces the budget. */
export class Evaluator<A> {
  readonly history: Array<HistoryEntry<A>> = [];
  best: A | undefined;
  bestScore = NaN;
  evaluations = 0;
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly space: SearchSpace<A>,
    private readonly scorer: Scorer<A>,
    private readonly opts: SearchOptions<A>,
  ) {}

  get remaining(): number {
    return this.opts.budget - this.history.length;
  }

  async evaluate(archs: A[]): Promise<number[]> {
    if (archs.length > this.remaining)
      throw new RangeError(`search: ${archs.length} proposals exceed the remaining budget ${this.remaining}`);
    const useCache = this.opts.cache ?? true;
    const keys = archs.map((a) => this.space.key(a));
    // Unique, uncached architectures go to the scorer in one call.
    const todo: number[] = [];
    const firstOf = new Map<string, number>();
    keys.forEach((k, i) => {
      if (useCache && (this.cache.has(k) || firstOf.has(k))) return;
      firstOf.set(k, i);
      todo.push(i);
    });
    const fresh = todo.length ? await this.scorer(todo.map((i) => archs[i])) : [];
    if (!Array.isArray(fresh) || fresh.length !== todo.length) {
      throw new Error(
        `search: scorer returned ${Array.isArray(fresh) ? fresh.length : typeof fresh} scores for ${todo.length} architectures`,
      );
    }
    // NaN is a score (worse than every number); undefined or a string would silently win or lose.
    const bad = fresh.findIndex((v) => typeof v !== 'number');
    if (bad >= 0)
      throw new TypeError(
        `search: scorer returned ${String(fresh[bad])} (${typeof fresh[bad]}) for architecture ${bad}: scores must be numbers (NaN for a failure)`,
      );
    this.evaluations += todo.length;
    const scoreOf = new Map<number, number>();
    todo.forEach((i, j) => {
      scoreOf.set(i, fresh[j]);
      if (useCache) this.cache.set(keys[i], fresh[j]);
    });
    const scores = archs.map((_, i) => scoreOf.get(i) ?? this.cache.get(keys[i])!);
    const batch: Array<HistoryEntry<A>> = [];
    archs.forEach((arch, i) => {
      const e = { arch, score: scores[i], step: this.history.length };
      this.history.push(e);
      batch.push(e);
      if (this.best === undefined || isBetter(e.score, this.bestScore)) {
        this.best = arch;
        this.bestScore = e.score;
      }
    });
    this.opts.onBatch?.({
      step: this.history.length,
      budget: this.opts.budget,
      best: this.best!,
      bestScore: this.bestScore,
      batch,
    });
    return scores;
  }

  result(): SearchResult<A> {
    if (this.best === undefined) throw new Error('search: nothing was evaluated');
    return { best: this.best, bestScore: this.bestScore, history: this.history, evaluations: this.evaluations };
  }
}
