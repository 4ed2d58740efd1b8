/**
 * Majority vote of several proxies over a population. A pairwise majority vote is not transitive,
 * so the population is ranked by Borda count: each member proxy ranks the population and an
 * architecture's vote is its mean normalised rank (0 = worst, 1 = best; a non-finite score ranks
 * lowest). With three members the order agrees with the pairwise majority whenever the pairwise
 * relation is transitive.
 */
import { borda } from '../util/ranks.js';
import { defineAggregator } from './define.js';

const MEMBERS = ['wrcor', 'synflow', 'jacob_cov'] as const;

export function voteScores(rows: ReadonlyArray<Record<string, number>>, members: readonly string[] = MEMBERS): number[] {
  for (const m of members) {
    if (rows.some((r) => r[m] === undefined)) throw new Error(`vote: every row needs a '${m}' score`);
  }
  return borda(members.map((m) => rows.map((r) => r[m])));
}

export const vote = defineAggregator({
  name: 'vote',
  description: 'majority vote of WRCor, SynFlow and jacob_cov: Borda count over the scored population',
  members: MEMBERS,
  aggregate: (rows) => voteScores(rows, MEMBERS),
});
