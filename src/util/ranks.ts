/**
 * Every ranking in wgnas: average ranks with ties, normalised ranks, the Borda count (the vote
 * over a scored population) and the Copeland count of the pairwise strict majority (vote_majority),
 * the running "share of earlier scores below" (online searches), and the rank correlations Kendall
 * tau-b and Spearman rho.
 *
 * Non-finite handling: kendallTau and spearmanRho drop every pair in which either value is NaN or
 * +-Inf and report how many they dropped. `ranks` keeps positions: NaN gets rank NaN, +-Inf rank
 * like ordinary values. `normalisedRanks` (and so `borda`) and `copeland` rank every non-finite value
 * lowest: a proxy that failed or saw no signal on an architecture ranks it last.
 */
import { finitePairs, type PairStat, pearsonOf } from './stats.js';

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
  for (let s = 0; s < idx.length;) {
    let e = s + 1;
    while (e < idx.length && a[idx[e]] === a[idx[s]]) e++;
    const r = (s + 1 + e) / 2; // average of ranks s+1..e
    for (let k = s; k < e; k++) out[idx[k]] = r;
    s = e;
  }
  return out;
}

/** Spearman's rho: Pearson correlation of average ranks (so ties are handled). */
export function spearmanRho(a: ArrayLike<number>, b: ArrayLike<number>): PairStat & { rho: number } {
  const { x, y, dropped } = finitePairs(a, b, 'spearmanRho');
  return { rho: pearsonOf(ranks(x), ranks(y)), n: x.length, dropped };
}

/** A score as the rankings order it: a non-finite one (NaN, +-Infinity) at -Infinity, the lowest. */
export const finiteOrLowest = (v: number): number => (Number.isFinite(v) ? v : -Infinity);

/**
 * Ranks scaled to [0, 1] (0 = lowest, 1 = highest; ties share their average), non-finite values
 * ranked lowest. A single value gets 0.
 */
export function normalisedRanks(values: readonly number[]): number[] {
  const r = ranks(values.map(finiteOrLowest));
  const scale = Math.max(1, values.length - 1);
  return r.map((v) => (v - 1) / scale);
}

/** Borda count: the mean normalised rank of each item over several score columns (equal lengths). */
export function borda(columns: ReadonlyArray<readonly number[]>): number[] {
  if (!columns.length) return [];
  const len = columns[0].length;
  if (columns.some((c) => c.length !== len)) throw new RangeError('borda: score columns differ in length');
  const rs = columns.map(normalisedRanks);
  return Array.from({ length: len }, (_, i) => rs.reduce((s, r) => s + r[i], 0) / columns.length);
}

/** Each column with its non-finite values (NaN, +-Infinity) at -Infinity: they rank lowest, and level with each other. */
const lowered = (columns: ReadonlyArray<readonly number[]>, fn: string): Float64Array[] => {
  const len = columns[0]?.length ?? 0;
  if (columns.some((c) => c.length !== len)) throw new RangeError(`${fn}: score columns differ in length`);
  return columns.map((c) => Float64Array.from(c, finiteOrLowest));
};

/**
 * Whether item i beats item j by strict majority of the columns: 1 where more than half the
 * columns score i higher, -1 where more than half score j higher, else 0 (equal scores abstain).
 */
function majority(cols: readonly Float64Array[], i: number, j: number): number {
  let up = 0;
  let down = 0;
  for (const c of cols) {
    if (c[i] > c[j]) up++;
    else if (c[i] < c[j]) down++;
  }
  const half = cols.length / 2;
  return up > half ? 1 : down > half ? -1 : 0;
}

/**
 * Copeland count of the pairwise strict majority over several score columns (equal lengths): per
 * item, the items it beats by majority (more than half the columns score it higher) plus half the
 * items it neither beats nor loses to, over the other items: in [0, 1], 1 = beats every other one,
 * 0 = beaten by every other one (a single item: 0). Equivalently (1 + (wins - losses) / (P - 1)) / 2,
 * the same order as wins minus losses. Where the majority relation orders the items (transitive,
 * its ties too) the count orders them the same way; a cycle (A beats B beats C beats A) gives each
 * of its items one win inside it, so it does not order them. Non-finite scores rank lowest. O(P^2)
 * pairs: about 1.2e8 for all 15625 NAS-Bench-201 cells.
 */
export function copeland(columns: ReadonlyArray<readonly number[]>): number[] {
  if (!columns.length) return [];
  const cols = lowered(columns, 'copeland');
  const len = cols[0].length;
  const points = new Float64Array(len);
  for (let i = 0; i < len; i++)
    for (let j = i + 1; j < len; j++) {
      const m = majority(cols, i, j);
      if (m > 0) points[i] += 1;
      else if (m < 0) points[j] += 1;
      else {
        points[i] += 0.5;
        points[j] += 0.5;
      }
    }
  const scale = Math.max(1, len - 1);
  return Array.from(points, (p) => p / scale);
}

/** The last item's copeland value (the online form: the newest against all before it), in O(P). */
export function copelandLast(columns: ReadonlyArray<readonly number[]>): number {
  if (!columns.length) return NaN;
  const cols = lowered(columns, 'copelandLast');
  const last = cols[0].length - 1;
  if (last < 0) return NaN;
  let points = 0;
  for (let j = 0; j < last; j++) points += (majority(cols, last, j) + 1) / 2;
  return points / Math.max(1, last);
}

/**
 * The share of `pool` strictly below `x`, over pool.length - 1: the rank in [0, 1] of a new score
 * `x` that is already in `pool` among all scores so far (online Borda and REINFORCE rewards).
 */
export function fractionBelow(pool: readonly number[], x: number): number {
  let below = 0;
  for (const v of pool) if (v < x) below++;
  return below / Math.max(1, pool.length - 1);
}
