/** Paired bootstrap of a difference of rank correlations: hand-checked cases and a replayed reference. */
import { describe, expect, it } from 'vitest';
import {
  kendallDifference,
  kendallInterval,
  MIN_BOOTSTRAP_PAIRS,
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
    const single = kendallInterval(score, truth, opts)!; // the same draws: tau(-x) = -tau(x)
    expect(tau.a).toBeCloseTo(kendallTau(score, truth).tau, 12);
    expect(tau.b).toBeCloseTo(-tau.a, 12);
    expect(tau.diff).toBeCloseTo(2 * tau.a, 12);
    expect(tau.lo).toBeCloseTo(2 * single.lo, 12);
    expect(tau.hi).toBeCloseTo(2 * single.hi, 12);
    expect(tau.aheadFraction).toBe(1); // a clearly positive correlation stays positive
    const rho = spearmanDifference(score, neg, truth, opts);
    const rhoSingle = spearmanInterval(score, truth, opts)!;
    expect(rho.lo).toBeCloseTo(2 * rhoSingle.lo, 12);
    expect(rho.hi).toBeCloseTo(2 * rhoSingle.hi, 12);
  });

  it('hand-checked: one swapped pair of four cells costs tau 1/3 and rho 0.2; no interval below 10 cells', () => {
    const truth = [1, 2, 3, 4];
    const a = [10, 20, 30, 40];
    const b = [20, 10, 30, 40];
    const tau = kendallDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(tau.a).toBe(1);
    expect(tau.b).toBeCloseTo(4 / 6, 12); // 5 concordant, 1 discordant pair of 6
    expect(tau.diff).toBeCloseTo(1 / 3, 12);
    const rho = spearmanDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(rho.diff).toBeCloseTo((6 * 2) / (4 * 15), 12); // 1 - rho_b = 6 sum d^2 / (n (n^2 - 1)), d = 1, 1, 0, 0
    for (const d of [tau, rho]) expect(d).toMatchObject({ n: 4, lo: NaN, hi: NaN, aheadFraction: NaN, resamples: 0 });
  });

  it('hand-checked on 12 cells: one swapped pair costs tau 2/66, and A is never behind', () => {
    const truth = Array.from({ length: 12 }, (_, i) => i + 1);
    const a = truth.map((t) => 10 * t);
    const b = [20, 10, ...a.slice(2)];
    const tau = kendallDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(tau.diff).toBeCloseTo(2 / 66, 12); // 1 discordant pair of 66
    const rho = spearmanDifference(a, b, truth, { resamples: 500, seed: 3 });
    expect(rho.diff).toBeCloseTo((6 * 2) / (12 * 143), 12);
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

  it('too few cells (below MIN_BOOTSTRAP_PAIRS) give NaN bounds; bad arguments throw', () => {
    const d = pairedDifference([1, 2, NaN], [2, 1, 3], [1, 2, 3], (x, y) => kendallTau(x, y).tau);
    expect(d.n).toBe(2);
    expect(d.lo).toBeNaN();
    expect(d.aheadFraction).toBeNaN();
    expect(() => kendallDifference([1, 2, 3], [1, 2], [1, 2, 3])).toThrow(RangeError);
    expect(() => kendallDifference([1, 2, 3], [1, 2, 3], [1, 2, 3], { resamples: 0 })).toThrow(/resamples/);
    expect(() => kendallDifference([1, 2, 3], [1, 2, 3], [1, 2, 3], { level: 1 })).toThrow(/level/);
  });
});

describe('kendallInterval: no interval below MIN_BOOTSTRAP_PAIRS finite pairs', () => {
  const x = Array.from({ length: 12 }, (_, i) => i);

  it('3 monotone cells (formerly [1, 1]) and 9 give null; 10 give an interval', () => {
    expect(MIN_BOOTSTRAP_PAIRS).toBe(10);
    expect(kendallInterval(x.slice(0, 3), x.slice(0, 3))).toBeNull();
    expect(kendallInterval(x.slice(0, 9), x.slice(0, 9))).toBeNull();
    // 11 finite pairs of 12: still an interval; a perfectly monotone sample resamples to [1, 1].
    const withNaN = [...x.slice(0, 11), NaN];
    expect(kendallInterval(withNaN, x, { resamples: 40 })).toEqual({ lo: 1, hi: 1, resamples: 40 });
    expect(kendallInterval([...x.slice(0, 9), NaN, NaN, NaN], x)).toBeNull();
  });

  it('counts the resamples with a defined tau: a replay with the same draws', () => {
    // Two score values on 10 cells: some resamples draw only one of them and have no tau.
    const score = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const truth = x.slice(0, 10);
    const got = kendallInterval(score, truth, { resamples: 300, seed: 4 })!;
    const rng = new Rng(4);
    const taus: number[] = [];
    for (let r = 0; r < 300; r++) {
      const idx = truth.map(() => rng.int(10));
      const t = kendallTauNaive(
        idx.map((k) => score[k]),
        idx.map((k) => truth[k]),
      );
      if (!Number.isNaN(t)) taus.push(t);
    }
    expect(taus.length).toBeLessThan(300);
    expect(got.resamples).toBe(taus.length);
    taus.sort((p, q) => p - q);
    expect(got.lo).toBeCloseTo(quantileSorted(taus, 0.025), 12);
    expect(got.hi).toBeCloseTo(quantileSorted(taus, 0.975), 12);
    expect(
      kendallInterval(
        score.map(() => 3),
        truth,
      ),
    ).toBeNull(); // constant: no resample has a tau
  });
});
