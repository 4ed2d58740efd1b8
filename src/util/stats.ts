/**
 * Summary statistics and Pearson correlation (rank statistics live in util/ranks).
 *
 * Non-finite handling: the paired statistics (pearson, and util/ranks' kendallTau and spearmanRho)
 * drop every pair in which either value is NaN or +-Inf and report how many they dropped; the
 * one-array statistics (mean, std, median, percentile, describe) drop non-finite values the same
 * way. A statistic with too few values (or zero variance) is NaN.
 */
import { quantileSorted } from './quantile.js';

export interface PairStat {
  /** Pairs used. */
  n: number;
  /** Pairs dropped because a value was not finite. */
  dropped: number;
}

/** Paired values with every pair holding a non-finite value dropped (for util/ranks too). */
export function finitePairs(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  what: string,
): { x: number[]; y: number[]; dropped: number } {
  if (a.length !== b.length) throw new RangeError(`${what}: arrays differ in length (${a.length} vs ${b.length})`);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      x.push(a[i]);
      y.push(b[i]);
    }
  }
  return { x, y, dropped: a.length - x.length };
}

function finite(a: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) out.push(a[i]);
  return out;
}

/** Pearson r of two equal-length arrays, no filtering (for util/ranks too). */
export function pearsonOf(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const d = Math.sqrt(sxx * syy);
  return d === 0 ? NaN : Math.max(-1, Math.min(1, sxy / d));
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): PairStat & { r: number } {
  const { x, y, dropped } = finitePairs(a, b, 'pearson');
  return { r: pearsonOf(x, y), n: x.length, dropped };
}

export function mean(a: ArrayLike<number>): number {
  const v = finite(a);
  return v.length ? v.reduce((s, t) => s + t, 0) / v.length : NaN;
}

/** Standard deviation; ddof 0 = population (default), 1 = sample. */
export function std(a: ArrayLike<number>, ddof = 0): number {
  const v = finite(a);
  if (v.length - ddof <= 0) return NaN;
  const m = v.reduce((s, t) => s + t, 0) / v.length;
  return Math.sqrt(v.reduce((s, t) => s + (t - m) ** 2, 0) / (v.length - ddof));
}

/** q-th percentile, q in [0, 100], linear interpolation between order statistics (numpy's default). */
export function percentile(a: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must be in [0, 100], got ${q}`);
  const v = finite(a).sort((s, t) => s - t);
  return v.length ? quantileSorted(v, q / 100) : NaN;
}

export function median(a: ArrayLike<number>): number {
  return percentile(a, 50);
}

export function describe(a: ArrayLike<number>): {
  n: number;
  dropped: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
} {
  const v = finite(a);
  return {
    n: v.length,
    dropped: a.length - v.length,
    mean: mean(v),
    std: std(v),
    min: v.reduce((m, t) => Math.min(m, t), v.length ? Infinity : NaN),
    median: median(v),
    max: v.reduce((m, t) => Math.max(m, t), v.length ? -Infinity : NaN),
  };
}
