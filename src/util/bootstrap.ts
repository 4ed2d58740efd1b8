/**
 * Percentile bootstrap confidence intervals for rank correlations, so that two proxies scored on
 * the same cells can be told apart honestly: resample the cells with replacement (seeded), take the
 * statistic of each resample, report the (1-level)/2 and (1+level)/2 quantiles. Deterministic for a
 * given seed. Pairs with a non-finite value are dropped first, as kendallTau/spearmanRho do.
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

export interface Interval {
  lo: number;
  hi: number;
}

/** Percentile interval of `stat` over resamples of the finite pairs of (a, b); NaN bounds below 3 pairs. */
export function bootstrapInterval(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  stat: (x: Float64Array, y: Float64Array) => number,
  opts: BootstrapOptions = {},
): Interval {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(resamples >= 1) || !Number.isInteger(resamples))
    throw new RangeError(`bootstrap: resamples ${resamples} must be a positive integer`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level ${level} must be in (0, 1)`);
  if (a.length !== b.length) throw new RangeError(`bootstrap: ${a.length} vs ${b.length} values`);
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) keep.push(i);
  const n = keep.length;
  if (n < 3) return { lo: NaN, hi: NaN };
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
    if (!Number.isNaN(s)) stats.push(s); // a resample of one repeated cell has no correlation
  }
  if (!stats.length) return { lo: NaN, hi: NaN };
  stats.sort((p, q) => p - q);
  return { lo: quantileSorted(stats, (1 - level) / 2), hi: quantileSorted(stats, (1 + level) / 2) };
}

export const kendallInterval = (a: ArrayLike<number>, b: ArrayLike<number>, opts?: BootstrapOptions): Interval =>
  bootstrapInterval(a, b, (x, y) => kendallTau(x, y).tau, opts);

export const spearmanInterval = (a: ArrayLike<number>, b: ArrayLike<number>, opts?: BootstrapOptions): Interval =>
  bootstrapInterval(a, b, (x, y) => spearmanRho(x, y).rho, opts);
