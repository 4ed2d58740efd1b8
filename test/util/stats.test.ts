import { describe, expect, it } from 'vitest';
import { describe as describeStats, mean, median, pearson, percentile, std } from '../../src/util/stats.js';
import { borda, fractionBelow, kendallTau, kendallTauNaive, normalisedRanks, ranks, spearmanRho } from '../../src/util/ranks.js';
import { Rng } from '../../src/util/rng.js';

/** O(n^2) Spearman reference: Pearson on average ranks computed by counting. */
function spearmanNaive(x: number[], y: number[]): number {
  const rk = (a: number[]) => a.map((v) => a.filter((w) => w < v).length + (a.filter((w) => w === v).length + 1) / 2);
  const rx = rk(x);
  const ry = rk(y);
  const m = (a: number[]) => a.reduce((s, t) => s + t, 0) / a.length;
  const mx = m(rx);
  const my = m(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  rx.forEach((_, i) => {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('Kendall tau-b', () => {
  it('matches hand-computed values', () => {
    expect(kendallTau([1, 2, 3, 4], [1, 2, 3, 4]).tau).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1]).tau).toBe(-1);
    // 8 concordant, 1 discordant, 1 pair tied in y: (8-1)/sqrt(10*9)
    expect(kendallTau([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).tau).toBeCloseTo(7 / Math.sqrt(90), 14);
    // ties in both: x=[1,1,2,2], y=[1,2,1,2]: C=1 (1,4), D=1 (2,3), tx=2, ty=2 -> 0
    expect(kendallTau([1, 1, 2, 2], [1, 2, 1, 2]).tau).toBe(0);
    // x=[1,1,2,3], y=[1,1,2,2]: pair (1,2) tied in both (ignored), C=4, D=0, one pair tied in y only
    // -> (C-D)/sqrt((C+D+0)(C+D+1)) = 4/sqrt(20)
    expect(kendallTau([1, 1, 2, 3], [1, 1, 2, 2]).tau).toBeCloseTo(4 / Math.sqrt(20), 14);
  });

  it('is NaN for constant or too-short input', () => {
    expect(kendallTau([1, 1, 1], [1, 2, 3]).tau).toBeNaN();
    expect(kendallTau([1], [2]).tau).toBeNaN();
    expect(kendallTau([], []).tau).toBeNaN();
  });

  it('drops non-finite pairs and reports them', () => {
    const r = kendallTau([1, NaN, 2, 3, Infinity, 4], [1, 5, 2, -Infinity, 0, 4]);
    expect(r).toEqual({ tau: 1, n: 3, dropped: 3 });
    expect(() => kendallTau([1, 2], [1])).toThrow(/differ in length/);
  });

  it('agrees with the O(n^2) definition on random data with many ties', () => {
    const rng = new Rng(42);
    for (const [n, levels] of [
      [2, 2],
      [3, 2],
      [17, 3],
      [300, 5],
      [1001, 40],
      [2000, 1e9],
    ]) {
      const x = Array.from({ length: n }, () => rng.int(levels));
      const y = x.map((v) => (rng.next() < 0.7 ? v + rng.int(3) : rng.int(levels)));
      const fast = kendallTau(x, y).tau;
      const slow = kendallTauNaive(x, y);
      if (Number.isNaN(slow)) expect(fast).toBeNaN();
      else expect(fast, `n=${n}`).toBeCloseTo(slow, 12);
    }
  });

  it('handles 15625 values quickly', () => {
    const rng = new Rng(1);
    const x = Array.from({ length: 15625 }, () => rng.normal());
    const y = x.map((v) => v + rng.normal());
    const t0 = performance.now();
    const { tau } = kendallTau(x, y);
    expect(performance.now() - t0).toBeLessThan(2000);
    // For bivariate normal with rho = 1/sqrt(2): tau = (2/pi) asin(rho) = 0.5
    expect(tau).toBeGreaterThan(0.48);
    expect(tau).toBeLessThan(0.52);
  });
});

describe('Spearman rho, Pearson r, ranks', () => {
  it('matches hand-computed values with ties', () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(ranks([3, NaN, 1, Infinity])).toEqual([2, NaN, 1, 3]);
    // y ranks [1,2,3.5,5,3.5]: rho = 8/sqrt(10*9.5)
    expect(spearmanRho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).rho).toBeCloseTo(8 / Math.sqrt(95), 14);
    expect(spearmanRho([1, 2, 3], [1, 4, 9]).rho).toBeCloseTo(1, 14);
    // sxy = 4.5, sxx = 2, syy = 61/6
    expect(pearson([1, 2, 3], [2, 4, 6.5]).r).toBeCloseTo(4.5 / Math.sqrt((2 * 61) / 6), 14);
    expect(pearson([1, 1, 1], [1, 2, 3]).r).toBeNaN();
    expect(spearmanRho([1, NaN, 3, 2], [1, 1, 2, -Infinity])).toEqual({ rho: 1, n: 2, dropped: 2 });
  });

  it('agrees with a counting reference on random tied data', () => {
    const rng = new Rng(7);
    for (const n of [5, 50, 400]) {
      const x = Array.from({ length: n }, () => rng.int(7));
      const y = x.map((v) => v * rng.int(3) + rng.int(4));
      expect(spearmanRho(x, y).rho).toBeCloseTo(spearmanNaive(x, y), 12);
    }
  });
});

describe('normalised ranks, Borda count, share below', () => {
  it('normalised ranks share ties and put non-finite values last', () => {
    expect(normalisedRanks([10, 30, 20, 20])).toEqual([0, 1, 0.5, 0.5]);
    // NaN and -Infinity tie at the bottom (ranks 1 and 2 -> 1.5 -> 0.5/3), +Infinity counts as lowest too.
    expect(normalisedRanks([NaN, 5, -Infinity, 7])).toEqual([1 / 6, 2 / 3, 1 / 6, 1]);
    expect(normalisedRanks([Infinity, 1])).toEqual([0, 1]);
    expect(normalisedRanks([4])).toEqual([0]);
    expect(normalisedRanks([])).toEqual([]);
  });

  it('Borda = mean normalised rank over the columns, against a pairwise-counting reference', () => {
    expect(
      borda([
        [1, 3, 2],
        [10, 30, 20],
        [-5, -1, -9],
      ]),
    ).toEqual([(0 + 0 + 0.5) / 3, 1, (0.5 + 0.5 + 0) / 3]);
    expect(borda([])).toEqual([]);
    expect(() => borda([[1, 2], [1]])).toThrow(/differ in length/);
    const rng = new Rng(3);
    const cols = [0, 1, 2].map(() => Array.from({ length: 40 }, () => rng.int(6)));
    // Normalised rank = (#below + #tied others / 2) / (n - 1).
    const naive = (c: number[], i: number) =>
      (c.filter((v) => v < c[i]).length + (c.filter((v) => v === c[i]).length - 1) / 2) / (c.length - 1);
    borda(cols).forEach((b, i) => expect(b).toBeCloseTo(cols.reduce((s, c) => s + naive(c, i), 0) / 3, 14));
  });

  it('fractionBelow: the share of the pool strictly below x, over the others', () => {
    expect(fractionBelow([3, 1, 2, 2], 2)).toBe(1 / 3);
    expect(fractionBelow([5], 5)).toBe(0);
    expect(fractionBelow([1, NaN, 3], 3)).toBe(1 / 2);
  });
});

describe('summary statistics', () => {
  it('mean, std, median, percentile (numpy linear) skipping non-finite values', () => {
    expect(mean([1, 2, 3, NaN])).toBe(2);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(std([1, 2, 3, 4], 1)).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4, 5], 100)).toBe(5);
    expect(percentile([1, 2, 3, 4], 25)).toBe(1.75);
    expect(percentile([10, 20, Infinity], 90)).toBe(19);
    expect(mean([])).toBeNaN();
    expect(median([NaN])).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/\[0, 100\]/);
    expect(describeStats([3, 1, NaN, 2])).toEqual({
      n: 3,
      dropped: 1,
      mean: 2,
      std: Math.sqrt(2 / 3),
      min: 1,
      median: 2,
      max: 3,
    });
  });
});
