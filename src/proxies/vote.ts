/**
 * The vote of WRCor, SynFlow and jacob_cov over a population, two ways.
 * - `vote`, a Borda count: each member proxy ranks the population and an architecture's vote is its
 *   mean normalised rank (0 = worst, 1 = best; a non-finite score ranks lowest).
 * - `vote_majority`, the WRCor authors' comparator (github.com/kunjing96/ZSNAS-WRCor, search.py
 *   NAS.cmp: per measure the sign of the difference; one architecture beats the other where more
 *   than half the measures agree, else a tie) made a population score: its Copeland count, the
 *   others an architecture beats plus half those it ties, over the others (util/ranks copeland: in
 *   [0, 1]; non-finite scores rank lowest, as in `vote`). Their search keeps the best by that
 *   comparator alone; where the majority relation orders the population (transitive, its ties
 *   too) the Copeland count ranks alike; a cycle (A beats B beats C beats A) gives each of its
 *   architectures one win inside it, and the rest of the population orders them.
 * Borda can disagree with the pairwise majority even where the majority relation is transitive:
 * members ranking A>B>X>Y, A>B>X>Y and B>X>Y>A put A above B two to one, yet B's ranks sum higher
 * (7/3 against 2); the majority (Copeland) ranks A first.
 */
import { borda, copeland, copelandLast, finiteOrLowest, fractionBelow } from '../util/ranks.js';
import { defineAggregator, type ScoreRow } from './define.js';

const MEMBERS = ['wrcor', 'synflow', 'jacob_cov'] as const;

/** The member columns of `rows`, refusing a row without one. */
function memberColumns(rows: ReadonlyArray<Record<string, number>>, members: readonly string[], name: string): number[][] {
  for (const m of members) {
    if (rows.some((r) => r[m] === undefined)) throw new Error(`${name}: every row needs a '${m}' score`);
  }
  return members.map((m) => rows.map((r) => r[m]));
}

export function voteScores(rows: ReadonlyArray<Record<string, number>>, members: readonly string[] = MEMBERS): number[] {
  return borda(memberColumns(rows, members, 'vote'));
}

/** The pairwise-majority vote: the Copeland count of each row over `rows` (see the header). */
export function voteMajorityScores(rows: ReadonlyArray<Record<string, number>>, members: readonly string[] = MEMBERS): number[] {
  return copeland(memberColumns(rows, members, 'vote_majority'));
}

/**
 * The vote's online form, the value a search steers by: per member the fraction of the
 * architectures seen so far that it ranks below the newest one (fractionBelow), averaged. A
 * non-finite score ranks lowest, as in the vote itself (borda): as raw values a +Infinity would
 * steer the search to the top and a NaN would count below nothing.
 */
function voteLatest(rows: readonly ScoreRow[]): number {
  const last = rows[rows.length - 1];
  let v = 0;
  for (const m of MEMBERS)
    v += fractionBelow(
      rows.map((r) => finiteOrLowest(r[m])),
      finiteOrLowest(last[m]),
    );
  return v / MEMBERS.length;
}

export const vote = defineAggregator({
  name: 'vote',
  description: `vote of ${MEMBERS.join(', ')}: Borda count over the scored population (not the pairwise majority)`,
  members: MEMBERS,
  aggregate: (rows) => voteScores(rows, MEMBERS),
  online: voteLatest,
});

export const voteMajority = defineAggregator({
  name: 'vote_majority',
  description: `vote of ${MEMBERS.join(', ')} by pairwise strict majority (the WRCor authors' comparator): the Copeland count over the scored population, the others an architecture beats plus half those it ties, over the others`,
  members: MEMBERS,
  aggregate: (rows) => voteMajorityScores(rows, MEMBERS),
  // The newest row's Copeland count against the rows before it: aggregate(rows).at(-1) in O(rows).
  online: (rows) => copelandLast(memberColumns(rows, MEMBERS, 'vote_majority')),
});
