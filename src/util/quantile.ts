/** The one quantile on the host: timing statistics, percentiles of scores, the autotuner's medians. */

/**
 * Quantile q in [0, 1] of an ascending array, interpolating linearly between order statistics
 * (Hyndman & Fan type 7: R's default and numpy's 'linear').
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Quantile q in [0, 1] of any sample (sorted first; the input is not modified). */
export function quantile(sample: ArrayLike<number>, q: number): number {
  return quantileSorted(Float64Array.from(sample).sort(), q);
}

export function median(sample: ArrayLike<number>): number {
  return quantile(sample, 0.5);
}
