/**
 * Percentile bootstrap confidence intervals for rank correlations, so that two proxies scored on
 * the same cells can be told apart honestly: resample the cells with replacement (seeded), take the
 * statistic of each resample, report the (1-level)/2 and (1+level)/2 quantiles. Deterministic for a
 * given seed. Pairs with a non-finite value are dropped first, as kendallTau/spearmanRho do.
 * Below MIN_BOOTSTRAP_PAIRS pairs there is no interval: so few cells resample to a handful of
 * distinct samples (3 cells: every defined resample's tau is ±1, and a monotone trio gives [1, 1]).
 */
import { quantileSorted } from './quantile.js';
import { kendallTau, spearmanRho } from './ranks.js';
import { Rng } from './rng.js';

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Coverage (default 0.95). */
  level?: number;
  seed?: number;
}

/** Fewest finite pairs that get an interval (and that `wgnas correlate` calls a meaningful correlation). */
export const MIN_BOOTSTRAP_PAIRS = 10;

export interface Interval {
  lo: number;
  hi: number;
  /** Resamples the bounds come from: those with a defined statistic (one of tied scores has none). */
  resamples: number;
}

/**
 * Percentile interval of `stat` over resamples of the finite pairs of (a, b); null below
 * MIN_BOOTSTRAP_PAIRS pairs, or when no resample has a defined statistic (constant scores).
 */
export function bootstrapInterval(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  stat: (x: Float64Array, y: Float64Array) => number,
  opts: BootstrapOptions = {},
): Interval | null {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(resamples >= 1) || !Number.isInteger(resamples))
    throw new RangeError(`bootstrap: resamples ${resamples} must be a positive integer`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level ${level} must be in (0, 1)`);
  if (a.length !== b.length) throw new RangeError(`bootstrap: ${a.length} vs ${b.length} values`);
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) keep.push(i);
  const n = keep.length;
  if (n < MIN_BOOTSTRAP_PAIRS) return null;
  const rng = new Rng(opts.seed ?? 0);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = keep[rng.int(n)];
      x[i] = a[k];
      y[i] = b[k];
    }
    const s = stat(x, y);
    if (!Number.isNaN(s)) stats.push(s); // all scores (or all accuracies) tied: no correlation; counted in `resamples`
  }
  if (!stats.length) return null;
  stats.sort((p, q) => p - q);
  return {
    lo: quantileSorted(stats, (1 - level) / 2),
    hi: quantileSorted(stats, (1 + level) / 2),
    resamples: stats.length,
  };
}

export const kendallInterval = (a: ArrayLike<number>, b: ArrayLike<number>, opts?: BootstrapOptions): Interval | null =>
  bootstrapInterval(a, b, (x, y) => kendallTau(x, y).tau, opts);

export const spearmanInterval = (a: ArrayLike<number>, b: ArrayLike<number>, opts?: BootstrapOptions): Interval | null =>
  bootstrapInterval(a, b, (x, y) => spearmanRho(x, y).rho, opts);

/** Paired comparison of two score columns against the same truth (see pairedDifference). */
export interface PairedDifference {
  /** Cells where A, B and the truth are all finite: both statistics are taken on these. */
  n: number;
  /** stat(A, truth) and stat(B, truth) on those cells, and diff = a - b. */
  a: number;
  b: number;
  diff: number;
  /** Percentile interval of the resampled difference (NaN bounds below MIN_BOOTSTRAP_PAIRS cells). */
  lo: number;
  hi: number;
  /** Fraction of the resamples with a defined difference in which A's statistic is strictly above B's. */
  aheadFraction: number;
  /** Resamples with a defined difference (a resample of one repeated cell has none). */
  resamples: number;
}

/**
 * Bootstrap of the DIFFERENCE stat(A, truth) - stat(B, truth): each resample draws one set of cells
 * and takes both statistics on it, so what A and B share (the cells' difficulty) cancels. Two
 * separate intervals that overlap prove nothing either way; this interval excluding 0 does.
 * Seeded and deterministic; with all three columns finite it draws exactly the indices that
 * bootstrapInterval(A, truth) draws with the same seed.
 */
export function pairedDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  truth: ArrayLike<number>,
  stat: (x: Float64Array, y: Float64Array) => number,
  opts: BootstrapOptions = {},
): PairedDifference {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(resamples >= 1) || !Number.isInteger(resamples))
    throw new RangeError(`bootstrap: resamples ${resamples} must be a positive integer`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level ${level} must be in (0, 1)`);
  if (a.length !== b.length || a.length !== truth.length)
    throw new RangeError(`bootstrap: ${a.length}, ${b.length} and ${truth.length} values`);
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++)
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && Number.isFinite(truth[i])) keep.push(i);
  const n = keep.length;
  const pick = (col: ArrayLike<number>, idx: readonly number[]) => Float64Array.from(idx, (k) => col[k]);
  const t = pick(truth, keep);
  const sa = n >= 2 ? stat(pick(a, keep), t) : NaN;
  const sb = n >= 2 ? stat(pick(b, keep), t) : NaN;
  const out = { n, a: sa, b: sb, diff: sa - sb, lo: NaN, hi: NaN, aheadFraction: NaN, resamples: 0 };
  if (n < MIN_BOOTSTRAP_PAIRS) return out;
  const rng = new Rng(opts.seed ?? 0);
  const xa = new Float64Array(n);
  const xb = new Float64Array(n);
  const y = new Float64Array(n);
  const diffs: number[] = [];
  let ahead = 0;
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = keep[rng.int(n)];
      xa[i] = a[k];
      xb[i] = b[k];
      y[i] = truth[k];
    }
    const d = stat(xa, y) - stat(xb, y);
    if (Number.isNaN(d)) continue;
    diffs.push(d);
    if (d > 0) ahead++;
  }
  if (!diffs.length) return out;
  diffs.sort((p, q) => p - q);
  return {
    ...out,
    lo: quantileSorted(diffs, (1 - level) / 2),
    hi: quantileSorted(diffs, (1 + level) / 2),
    aheadFraction: ahead / diffs.length,
    resamples: diffs.length,
  };
}

export const kendallDifference = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  truth: ArrayLike<number>,
  opts?: BootstrapOptions,
): PairedDifference => pairedDifference(a, b, truth, (x, y) => kendallTau(x, y).tau, opts);

export const spearmanDifference = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  truth: ArrayLike<number>,
  opts?: BootstrapOptions,
): PairedDifference => pairedDifference(a, b, truth, (x, y) => spearmanRho(x, y).rho, opts);
