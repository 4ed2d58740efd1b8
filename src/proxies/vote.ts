/**
 * Majority vote of several proxies over a population. A pairwise majority vote is not transitive,
 * so the population is ranked by Borda count: each member proxy ranks the population and an
 * architecture's vote is its mean normalised rank (0 = worst, 1 = best). With three members the
 * order agrees with the pairwise majority whenever the pairwise relation is transitive.
 */
import { VOTE_MEMBERS } from './registry.js';

function normalisedRanks(values: readonly number[]): number[] {
  const idx = values.map((v, i) => [Number.isFinite(v) ? v : -Infinity, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    const r = (i + j) / 2 / Math.max(1, values.length - 1);
    for (let k = i; k <= j; k++) out[idx[k][1]] = r;
    i = j + 1;
  }
  return out;
}

export function voteScores(
  rows: ReadonlyArray<Record<string, number>>,
  members: readonly string[] = VOTE_MEMBERS,
): number[] {
  for (const m of members) {
    if (rows.some((r) => r[m] === undefined)) throw new Error(`vote: every row needs a '${m}' score`);
  }
  const ranks = members.map((m) => normalisedRanks(rows.map((r) => r[m])));
  return rows.map((_, i) => ranks.reduce((s, r) => s + r[i], 0) / members.length);
}
