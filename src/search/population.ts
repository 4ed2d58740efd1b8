/**
 * Search over a population-level score: the values a search steers by as each architecture's raw
 * scores arrive, and its answer. A single proxy steers by its raw score; an aggregate (the vote, a
 * log-rank sum, a library user's) by its own rule over every architecture evaluated so far. The
 * rule comes from the caller (the proxy registry's aggregators have this shape: proxies/define.ts),
 * so this layer needs no registry.
 */
import { isBetter } from './types.js';

/** Raw proxy scores of one evaluated architecture, by proxy name. */
export type ScoreRow = Readonly<Record<string, number>>;

/** How a population-level score ranks a population (an AggregatorDef is one). */
export interface PopulationRule {
  /** Per-architecture scores every row carries. */
  readonly members: readonly string[];
  /** One value per row over the whole population (the final ranking). */
  aggregate(rows: readonly ScoreRow[]): number[];
  /**
   * The value a search steers by when rows.at(-1) arrives after the others (rows: everything
   * evaluated so far, the newest last). Without it, aggregate(rows).at(-1).
   */
  online?(rows: readonly ScoreRow[]): number;
}

/** An evaluated architecture and its raw proxy scores (an aggregate's members for an aggregate). */
export interface ScoredArch<A> {
  arch: A;
  scores: Record<string, number>;
}

/**
 * Turns raw proxy scores into search scores (`value`): the raw `proxy` score, or with a `rule` the
 * rule's online value against every architecture seen so far. It keeps every architecture it
 * valued, for the search's answer (best()).
 */
export class PopulationScorer<A> {
  private readonly evaluated: ScoredArch<A>[] = [];
  private readonly rows: ScoreRow[] = [];
  constructor(
    readonly proxy: string,
    private readonly rule?: PopulationRule,
  ) {}

  value(scores: Record<string, number>, arch: A): number {
    this.evaluated.push({ arch, scores });
    this.rows.push(scores);
    if (!this.rule) return scores[this.proxy];
    return this.rule.online ? this.rule.online(this.rows) : this.rule.aggregate(this.rows)[this.rows.length - 1];
  }

  /** The search's answer: finalBest over every architecture valued so far. */
  best(): { arch: A; score: number } {
    return finalBest(this.evaluated, this.proxy, this.rule);
  }
}

/**
 * The search's answer: the best of the evaluated architectures by the proxy's own ranking of all
 * of them: the raw score of a single proxy, an aggregate's value over the whole evaluated
 * population. The values a search steers by cannot decide it: an online vote or log-rank sum (and
 * REINFORCE's percentile reward) gives the best-so-far the top value when it arrives, so a later,
 * better architecture only ties it and never replaces it (a log-rank sum gives the very first
 * architecture its maximum, 0). NaN ranks last; ties keep the one evaluated first.
 */
export function finalBest<A>(
  evaluated: readonly ScoredArch<A>[],
  proxy: string,
  rule?: PopulationRule,
): { arch: A; score: number } {
  if (!evaluated.length) throw new Error('search: nothing was evaluated');
  const values = rule ? rule.aggregate(evaluated.map((e) => e.scores)) : evaluated.map((e) => e.scores[proxy]);
  let best = 0;
  values.forEach((v, i) => {
    if (isBetter(v, values[best])) best = i;
  });
  return { arch: evaluated[best].arch, score: values[best] };
}
