import { AGGREGATORS, VOTE_MEMBERS } from '../proxies/registry.js';
import { fractionBelow } from '../util/ranks.js';

/**
 * Turns raw proxy scores into search scores: raw for one proxy; for 'vote' a Borda vote over all
 * seen so far; for a log-rank aggregate (az_nas, vkdnw_agg, ensemble) the sum over its members of
 * log(rank / m) among the m architectures seen so far (rank 1 = lowest), the online form of
 * logRankSum.
 */
export class PopulationScorer {
  readonly seen: Array<Record<string, number>> = [];
  private readonly members: readonly string[] | null;
  constructor(private readonly proxy: string) {
    this.members = AGGREGATORS.get(proxy)?.members ?? null;
  }

  value(scores: Record<string, number>): number {
    this.seen.push(scores);
    if (!this.members) return scores[this.proxy];
    if (this.proxy === 'vote') {
      // Fraction of the architectures seen so far that each member proxy ranks below this one.
      let v = 0;
      for (const m of VOTE_MEMBERS)
        v += fractionBelow(
          this.seen.map((s) => s[m]),
          scores[m],
        );
      return v / VOTE_MEMBERS.length;
    }
    const low = (x: number) => (Number.isFinite(x) ? x : -Infinity);
    let v = 0;
    for (const m of this.members) {
      const below = this.seen.filter((s) => low(s[m]) < low(scores[m])).length;
      v += Math.log((below + 1) / this.seen.length);
    }
    return v;
  }
}
