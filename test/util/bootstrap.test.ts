/** Paired bootstrap of a difference of rank correlations: hand-checked cases and a replayed reference. */
import { describe, expect, it } from 'vitest';
import {
  kendallDifference,
  kendallInterval,
  pairedDifference,
  spearmanDifference,
  spearmanInterval,
} from '../../src/util/bootstrap.js';
import { quantileSorted } from '../../src/util/quantile.js';
import { kendallTau, kendallTauNaive } from '../../src/util/ranks.js';
import { Rng } from '../../src/util/rng.js';

/** A noisy proxy of a random truth, with ties (rounded) so that tau-b's tie correction is exercised. */
function column(n: number, seed: number, noise: number): { truth: number[]; score: number[] } {
  const rng = new Rng(seed);
  const truth = Array.from({ length: n }, () => Math.round(rng.next() * 40) / 4);
  const score = truth.map((t) => Math.round((t + noise * rng.normal()) * 2) / 2);
  return { truth, score };
}

describe('pairedDifference', () => {
  it('identical columns differ by exactly 0 in every resample: 0 [0, 0], never ahead', () => {
    const { truth, score } = column(60, 1, 2);
    for (const d of [kendallDifference(score, score, truth), spearmanDifference(score, score, truth)]) {
      expect(d).toMatchObject({ n: 60, diff: 0, lo: 0, hi: 0, aheadFraction: 0, resamples: 1000 });
      expect(d.a).toBe(d.b);
    }
  });

  it('a column vs its negation: the difference is twice its correlation, resample by resample', () => {
    const { truth, score } = column(80, 2, 3);
    const neg = score.map((s) => -s);
    const opts = { resamples: 300, seed: 7 };
    const tau = kendallDifference(score, neg, truth, opts);
    const single = kendallInterval(score, truth, opts); // the same draws: tau(-x) = -tau(x)
    expect(tau.a).toBeCloseTo(kendallTau(score, truth).tau, 12);
    expect(tau.b).toBeCloseTo(-tau.a, 12);
    expect(tau.diff).toBeCloseTo(2 * tau.a, 12);
    expect(tau.lo).toBeCloseTo(2 * single.lo, 12);
    expect(tau.hi).toBeCloseTo(2 * single.hi, 12);
    expect(tau.aheadFraction).toBe(1); // a clearly positive correlation stays positive
    const rho = spearmanDifference(score, neg, truth, opts);
    const rhoSingle = spearmanInterval(score, truth, opts);
    expect(rho.lo).toBeCloseTo(2 * rhoSingle.lo, 12);
    expect(rho.hi).toBeCloseTo(2 * rhoSingle.hi, 12);
  });

  it('hand-checked: one swapped pair of four cells costs tau 1/3 and rho 0.2, and A is never behind', () => {
    const truth = [1, 2, 3, 4];
    const a = [10, 20, 30, 40];
    const b = [20, 10, 30, 40];
    const tau = kendallDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(tau.a).toBe(1);
    expect(tau.b).toBeCloseTo(4 / 6, 12); // 5 concordant, 1 discordant pair of 6
    expect(tau.diff).toBeCloseTo(1 / 3, 12);
    const rho = spearmanDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(rho.diff).toBeCloseTo((6 * 2) / (4 * 15), 12); // 1 - rho_b = 6 sum d^2 / (n (n^2 - 1)), d = 1, 1, 0, 0
    for (const d of [tau, rho]) {
      expect(d.lo).toBeGreaterThanOrEqual(0);
      expect(d.aheadFraction).toBeGreaterThan(0); // resamples holding both swapped cells
      expect(d.aheadFraction).toBeLessThan(1); // and some holding at most one of them
    }
  });

  it('matches a replay of its draws with the O(n^2) tau-b, cells with a non-finite value dropped first', () => {
    const { truth, score: a } = column(40, 4, 2);
    const { score: b } = column(40, 4, 4);
    a[3] = NaN;
    b[10] = Infinity;
    truth[17] = NaN;
    const got = kendallDifference(a, b, truth, { resamples: 200, seed: 11 });
    const keep = a.flatMap((_, i) => (Number.isFinite(a[i]) && Number.isFinite(b[i]) && Number.isFinite(truth[i]) ? [i] : []));
    expect(got.n).toBe(37);
    const rng = new Rng(11);
    const diffs: number[] = [];
    for (let r = 0; r < 200; r++) {
      const idx = keep.map(() => keep[rng.int(keep.length)]);
      const t = idx.map((k) => truth[k]);
      const d =
        kendallTauNaive(
          idx.map((k) => a[k]),
          t,
        ) -
        kendallTauNaive(
          idx.map((k) => b[k]),
          t,
        );
      diffs.push(d);
    }
    diffs.sort((p, q) => p - q);
    expect(got.resamples).toBe(200);
    expect(got.lo).toBeCloseTo(quantileSorted(diffs, 0.025), 12);
    expect(got.hi).toBeCloseTo(quantileSorted(diffs, 0.975), 12);
    expect(got.aheadFraction).toBe(diffs.filter((d) => d > 0).length / 200);
  });

  it('is deterministic for a seed and draws differently for another', () => {
    const { truth, score: a } = column(50, 5, 2);
    const { score: b } = column(50, 5, 3);
    const one = kendallDifference(a, b, truth, { resamples: 200, seed: 1 });
    expect(kendallDifference(a, b, truth, { resamples: 200, seed: 1 })).toEqual(one);
    const other = kendallDifference(a, b, truth, { resamples: 200, seed: 2 });
    expect(other.diff).toBe(one.diff); // the point estimate does not resample
    expect([other.lo, other.hi]).not.toEqual([one.lo, one.hi]);
  });

  it('too few cells give NaN bounds; bad arguments throw', () => {
    const d = pairedDifference([1, 2, NaN], [2, 1, 3], [1, 2, 3], (x, y) => kendallTau(x, y).tau);
    expect(d.n).toBe(2);
    expect(d.lo).toBeNaN();
    expect(d.aheadFraction).toBeNaN();
    expect(() => kendallDifference([1, 2, 3], [1, 2], [1, 2, 3])).toThrow(RangeError);
    expect(() => kendallDifference([1, 2, 3], [1, 2, 3], [1, 2, 3], { resamples: 0 })).toThrow(/resamples/);
    expect(() => kendallDifference([1, 2, 3], [1, 2, 3], [1, 2, 3], { level: 1 })).toThrow(/level/);
  });
});
