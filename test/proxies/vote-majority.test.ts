/**
 * vote_majority: the WRCor authors' pairwise strict majority (ZSNAS-WRCor search.py NAS.cmp) as a
 * population score, its Copeland count (wins plus half the ties, over the others). Hand-computed
 * populations (the header example where Borda and the majority disagree, ties, non-finite scores,
 * an intransitive cycle), a literal reference of their comparator, and the online form a search
 * steers by against the batch form's last element.
 */
import { describe, expect, it } from 'vitest';
import {
  addAggregates,
  AGGREGATORS,
  populationScorer,
  resolveProxies,
  Rng,
  type ScoredCell,
  voteMajorityScores,
  voteScores,
} from '../../src/index.js';
import { copeland, copelandLast } from '../../src/util/ranks.js';

const MEMBERS = ['wrcor', 'synflow', 'jacob_cov'] as const;
type Row = Record<(typeof MEMBERS)[number], number>;
const row = (wrcor: number, synflow: number, jacob_cov: number): Row => ({ wrcor, synflow, jacob_cov });

/** Their comparator, literally: per measure the difference's sign, a side wins with more than half. */
function cmp(x: Row, y: Row): number {
  const low = (v: number) => (Number.isFinite(v) ? v : -Infinity);
  const d = MEMBERS.map((m) => low(x[m]) - low(y[m]));
  // -Infinity - -Infinity is NaN: equal scores, neither side.
  const neg = d.filter((v) => v < 0).length;
  const pos = d.filter((v) => v > 0).length;
  return neg > MEMBERS.length / 2 ? -1 : pos > MEMBERS.length / 2 ? 1 : 0;
}

/** Copeland from cmp over all ordered pairs: (wins + ties / 2) / (P - 1). */
function reference(rows: readonly Row[]): number[] {
  return rows.map((x, i) => {
    let points = 0;
    rows.forEach((y, j) => {
      if (i !== j) points += (cmp(x, y) + 1) / 2;
    });
    return points / Math.max(1, rows.length - 1);
  });
}

const majority = AGGREGATORS.get('vote_majority')!;

describe('vote_majority: the Copeland count of the pairwise strict majority', () => {
  it('ranks A first where Borda ranks B above it (vote.ts header: A>B>X>Y twice, B>X>Y>A once)', () => {
    // wrcor and synflow rank A>B>X>Y, jacob_cov B>X>Y>A.
    const rows = [row(4, 4, 1), row(3, 3, 4), row(2, 2, 3), row(1, 1, 2)];
    const [a, b] = voteScores(rows);
    expect(b).toBeGreaterThan(a);
    expect(b - a).toBeCloseTo((7 / 3 - 2) / 3, 14);
    // A beats B, X and Y two to one; B beats X and Y three to none; X beats Y.
    expect(voteMajorityScores(rows)).toEqual([1, 2 / 3, 1 / 3, 0]);
    expect(majority.aggregate(rows)).toEqual([1, 2 / 3, 1 / 3, 0]);
  });

  it('a tie where no side has more than half the members: an equal score abstains', () => {
    // B above A on wrcor only, the others equal: 1 of 3 is no majority. C above both on all three.
    const rows = [row(1, 1, 1), row(2, 1, 1), row(3, 2, 2)];
    expect(voteMajorityScores(rows)).toEqual([0.25, 0.25, 1]);
    // One member each way and one equal: a tie too; equal rows tie.
    expect(voteMajorityScores([row(1, 2, 5), row(2, 1, 5)])).toEqual([0.5, 0.5]);
    expect(voteMajorityScores([row(1, 2, 3), row(1, 2, 3)])).toEqual([0.5, 0.5]);
  });

  it('a non-finite score ranks lowest, level with another non-finite one', () => {
    // wrcor: A's NaN below B's 0; synflow: B's +Infinity below A's 1; jacob_cov: A above. A wins two to one.
    expect(voteMajorityScores([row(NaN, 1, 1), row(0, Infinity, 0)])).toEqual([1, 0]);
    // NaN and -Infinity level, NaN and +Infinity level: only jacob_cov differs, no majority.
    expect(voteMajorityScores([row(NaN, NaN, 1), row(-Infinity, Infinity, 0)])).toEqual([0.5, 0.5]);
    // Below every finite score on two members: beaten.
    expect(voteMajorityScores([row(-1e30, -5, 7), row(NaN, -Infinity, 9)])).toEqual([1, 0]);
  });

  it('an intransitive cycle A>B>C>A scores its architectures alike', () => {
    const cycle = [row(3, 1, 2), row(2, 3, 1), row(1, 2, 3)];
    expect(cmp(cycle[0], cycle[1])).toBe(1);
    expect(cmp(cycle[1], cycle[2])).toBe(1);
    expect(cmp(cycle[2], cycle[0])).toBe(1);
    expect(voteMajorityScores(cycle)).toEqual([0.5, 0.5, 0.5]);
    // With one architecture all three beat: each of the cycle 2 of 3, it 0.
    expect(voteMajorityScores([...cycle, row(0, 0, 0)])).toEqual([2 / 3, 2 / 3, 2 / 3, 0]);
  });

  it('single, empty and malformed populations', () => {
    expect(voteMajorityScores([row(1, 2, 3)])).toEqual([0]);
    expect(voteMajorityScores([])).toEqual([]);
    expect(() => voteMajorityScores([{ wrcor: 1, synflow: 2 } as Row])).toThrow(
      /^vote_majority: every row needs a 'jacob_cov' score$/,
    );
    expect(copeland([])).toEqual([]);
    expect(() => copeland([[1, 2], [1]])).toThrow(/^copeland: score columns differ in length$/);
    // Any number of columns: with 2, a strict majority is both.
    expect(
      copeland([
        [1, 2, 3],
        [3, 2, 1],
      ]),
    ).toEqual([0.5, 0.5, 0.5]);
    expect(
      copeland([
        [1, 2, 3],
        [1, 2, 4],
      ]),
    ).toEqual([0, 0.5, 1]);
  });

  it("equals a literal reference of the authors' comparator on random populations with ties and non-finite scores", () => {
    const rng = new Rng(11);
    const value = () => {
      const u = rng.next();
      // Few distinct values (ties between architectures), some non-finite.
      return u < 0.05 ? NaN : u < 0.08 ? Infinity : u < 0.1 ? -Infinity : Math.floor(rng.next() * 6);
    };
    for (let trial = 0; trial < 20; trial++) {
      const rows = Array.from({ length: 2 + trial * 3 }, () => row(value(), value(), value()));
      expect(voteMajorityScores(rows)).toEqual(reference(rows));
    }
  });
});

describe('vote_majority: registered like the vote, and its online form', () => {
  it('has the vote members; a request for it scores them, addAggregates ranks the rows', () => {
    expect(majority.members).toEqual(AGGREGATORS.get('vote')!.members);
    expect(resolveProxies(['vote_majority']).map((p) => p.name)).toEqual([...MEMBERS]);
    const rows: ScoredCell[] = [row(4, 4, 1), row(3, 3, 4), row(2, 2, 3)].map((scores, i) => ({
      arch: `c${i}`,
      scores: { ...scores },
      timeMs: 0,
    }));
    addAggregates(rows, ['vote_majority']);
    expect(rows.map((r) => r.scores.vote_majority)).toEqual([1, 0.5, 0]);
    expect(rows.every((r) => r.scores.vote === undefined)).toBe(true);
  });

  it('steers a search by the newest architecture against those before it: the batch form of the rows so far, last element', () => {
    const rng = new Rng(5);
    const v = () => (rng.next() < 0.08 ? NaN : rng.next() < 0.05 ? Infinity : Math.floor(rng.next() * 5));
    const rows = Array.from({ length: 40 }, () => row(v(), v(), v()));
    const pop = populationScorer<number>('vote_majority');
    rows.forEach((r, i) => {
      const prefix = rows.slice(0, i + 1);
      const batch = majority.aggregate(prefix);
      expect(majority.online!(prefix)).toBe(batch[i]);
      expect(pop.value(r, i)).toBe(batch[i]);
      expect(copelandLast(MEMBERS.map((m) => prefix.map((p) => p[m])))).toBe(batch[i]);
    });
    // The first architecture has no other: 0, as the batch form of one row.
    expect(majority.online!([rows[0]])).toBe(0);
    // The answer: the best by the batch form over all of them (first of equals).
    const all = majority.aggregate(rows);
    expect(pop.best().score).toBe(Math.max(...all));
    expect(pop.best().arch).toBe(all.indexOf(Math.max(...all)));
  });
});
