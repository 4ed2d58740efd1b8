/**
 * Rank statistics for proxy-vs-accuracy correlation.
 *
 * Non-finite handling: the paired statistics (kendallTau, spearmanRho, pearson) drop every pair in
 * which either value is NaN or +-Inf and report how many they dropped; the one-array statistics
 * (mean, std, median, percentile, describe) drop non-finite values the same way. A statistic with
 * too few values (or zero variance) is NaN. `ranks` keeps positions: NaN gets rank NaN, +-Inf rank
 * like ordinary values.
 */
import { quantileSorted } from './quantile.js';

export interface PairStat {
  /** Pairs used. */
  n: number;
  /** Pairs dropped because a value was not finite. */
  dropped: number;
}

function finitePairs(a: ArrayLike<number>, b: ArrayLike<number>, what: string): { x: number[]; y: number[]; dropped: number } {
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

/** Sum over runs of equal values in a sorted array of t(t-1)/2. */
function tiedPairs(sorted: ArrayLike<number>): number {
  let total = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) run++;
    else {
      total += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return total;
}

/** Sorts `v` ascending in place (merge sort) and returns the number of strict inversions. */
function countInversions(v: Float64Array): number {
  const n = v.length;
  let src: Float64Array = v;
  let dst: Float64Array = new Float64Array(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          swaps += mid - i;
          dst[k++] = src[j++];
        } else dst[k++] = src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  if (src !== v) v.set(src);
  return swaps;
}

/** Kendall's tau-b (ties in either variable handled), Knight's O(n log n) algorithm. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): PairStat & { tau: number } {
  const { x, y, dropped } = finitePairs(a, b, 'kendallTau');
  const n = x.length;
  if (n < 2) return { tau: NaN, n, dropped };
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i] - x[j] || y[i] - y[j]);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  order.forEach((o, k) => {
    xs[k] = x[o];
    ys[k] = y[o];
  });
  const xTies = tiedPairs(xs);
  let jointTies = 0;
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else {
      jointTies += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  // Within x-ties y is ascending, so inversions only count pairs discordant in both.
  const swaps = countInversions(ys);
  const yTies = tiedPairs(ys);
  const total = (n * (n - 1)) / 2;
  const denom = Math.sqrt((total - xTies) * (total - yTies));
  const tau = denom === 0 ? NaN : (total - xTies - yTies + jointTies - 2 * swaps) / denom;
  return { tau, n, dropped };
}

/** O(n^2) tau-b straight from the definition; a reference for tests. */
export function kendallTauNaive(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { x, y } = finitePairs(a, b, 'kendallTauNaive');
  let conc = 0;
  let disc = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tx++;
      else if (dy === 0) ty++;
      else if (dx === dy) conc++;
      else disc++;
    }
  }
  return (conc - disc) / Math.sqrt((conc + disc + tx) * (conc + disc + ty));
}

/** 1-based ranks, ties get the average rank; NaN entries get NaN and do not count. */
export function ranks(a: ArrayLike<number>): number[] {
  const out = new Array<number>(a.length).fill(NaN);
  const idx: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i])) idx.push(i);
  idx.sort((i, j) => (a[i] < a[j] ? -1 : a[i] > a[j] ? 1 : 0));
  for (let s = 0; s < idx.length; ) {
    let e = s + 1;
    while (e < idx.length && a[idx[e]] === a[idx[s]]) e++;
    const r = (s + 1 + e) / 2; // average of ranks s+1..e
    for (let k = s; k < e; k++) out[idx[k]] = r;
    s = e;
  }
  return out;
}

function pearsonOf(x: ArrayLike<number>, y: ArrayLike<number>): number {
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

/** Spearman's rho: Pearson correlation of average ranks (so ties are handled). */
export function spearmanRho(a: ArrayLike<number>, b: ArrayLike<number>): PairStat & { rho: number } {
  const { x, y, dropped } = finitePairs(a, b, 'spearmanRho');
  return { rho: pearsonOf(ranks(x), ranks(y)), n: x.length, dropped };
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

export function describe(a: ArrayLike<number>): { n: number; dropped: number; mean: number; std: number; min: number; median: number; max: number } {
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
