import { AGGREGATORS, VOTE_MEMBERS } from '../proxies/registry.js';
import { isBetter } from '../search/types.js';
import { fractionBelow } from '../util/ranks.js';

/**
 * Turns raw proxy scores into search scores: raw for one proxy; for 'vote' a Borda vote over all
 * seen so far; for a log-rank aggregate (az_nas, vkdnw_agg, ensemble) the sum over its members of
 * log(rank / m) among the m architectures seen so far (rank 1 = lowest), the online form of
 * logRankSum. It keeps every architecture it valued, for the search's answer (best()).
 */
export class PopulationScorer<A> {
  private readonly evaluated: ScoredArch<A>[] = [];
  private readonly members: readonly string[] | null;
  constructor(private readonly proxy: string) {
    this.members = AGGREGATORS.get(proxy)?.members ?? null;
  }

  value(scores: Record<string, number>, arch: A): number {
    this.evaluated.push({ arch, scores });
    if (!this.members) return scores[this.proxy];
    if (this.proxy === 'vote') {
      // Fraction of the architectures seen so far that each member proxy ranks below this one.
      let v = 0;
      for (const m of VOTE_MEMBERS)
        v += fractionBelow(
          this.evaluated.map((e) => e.scores[m]),
          scores[m],
        );
      return v / VOTE_MEMBERS.length;
    }
    const low = (x: number) => (Number.isFinite(x) ? x : -Infinity);
    let v = 0;
    for (const m of this.members) {
      const below = this.evaluated.filter((e) => low(e.scores[m]) < low(scores[m])).length;
      v += Math.log((below + 1) / this.evaluated.length);
    }
    return v;
  }

  /** The search's answer: finalBest over every architecture valued so far. */
  best(): { arch: A; score: number } {
    return finalBest(this.proxy, this.evaluated);
  }
}

/** An evaluated architecture and its raw proxy scores (an aggregate's members for an aggregate). */
export interface ScoredArch<A> {
  arch: A;
  scores: Record<string, number>;
}

/**
 * The search's answer: the best of the evaluated architectures by the proxy's own ranking of all
 * of them: the raw score of a single proxy, an aggregate's value over the whole evaluated
 * population. The values a search steers by cannot decide it: an online vote or log-rank sum (and
 * REINFORCE's percentile reward) gives the best-so-far the top value when it arrives, so a later,
 * better architecture only ties it and never replaces it (a log-rank sum gives the very first
 * architecture its maximum, 0). NaN ranks last; ties keep the one evaluated first.
 */
export function finalBest<A>(proxy: string, evaluated: readonly ScoredArch<A>[]): { arch: A; score: number } {
  if (!evaluated.length) throw new Error('search: nothing was evaluated');
  const agg = AGGREGATORS.get(proxy);
  const values = agg ? agg.aggregate(evaluated.map((e) => e.scores)) : evaluated.map((e) => e.scores[proxy]);
  let best = 0;
  values.forEach((v, i) => {
    if (isBetter(v, values[best])) best = i;
  });
  return { arch: evaluated[best].arch, score: values[best] };
}
