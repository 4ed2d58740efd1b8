/**
 * The vote of several proxies over a population, as a Borda count: each member proxy ranks the
 * population and an architecture's vote is its mean normalised rank (0 = worst, 1 = best; a
 * non-finite score ranks lowest). The WRCor authors compare two architectures by strict majority
 * of the three proxies instead (github.com/kunjing96/ZSNAS-WRCor, search.py NAS.cmp: the sign of
 * each measure's difference, -1 or 1 where more than half agree, else 0); Borda is a deviation from
 * that, and can disagree with the pairwise
 * majority even where the majority relation is transitive: members ranking A>B>X>Y, A>B>X>Y and
 * B>X>Y>A put A above B two to one, yet B's ranks sum higher (7/3 against 2).
 */
import { borda, fractionBelow } from '../util/ranks.js';
import { defineAggregator, type ScoreRow } from './define.js';

const MEMBERS = ['wrcor', 'synflow', 'jacob_cov'] as const;

export function voteScores(rows: ReadonlyArray<Record<string, number>>, members: readonly string[] = MEMBERS): number[] {
  for (const m of members) {
    if (rows.some((r) => r[m] === undefined)) throw new Error(`vote: every row needs a '${m}' score`);
  }
  return borda(members.map((m) => rows.map((r) => r[m])));
}

/**
 * The vote's online form, the value a search steers by: per member the fraction of the
 * architectures seen so far that it ranks below the newest one (fractionBelow), averaged. A
 * non-finite score ranks lowest, as in the vote itself (borda): as raw values a +Infinity would
 * steer the search to the top and a NaN would count below nothing.
 */
function voteLatest(rows: readonly ScoreRow[]): number {
  const low = (x: number) => (Number.isFinite(x) ? x : -Infinity);
  const last = rows[rows.length - 1];
  let v = 0;
  for (const m of MEMBERS)
    v += fractionBelow(
      rows.map((r) => low(r[m])),
      low(last[m]),
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
