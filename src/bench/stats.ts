/** Order statistics of timing samples (milliseconds). */

export interface SampleStats {
  n: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  stdevMs: number;
}

/** Quantile of an ascending array with linear interpolation between order statistics (R type 7). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function summarize(samplesMs: readonly number[]): SampleStats {
  if (samplesMs.length === 0) throw new RangeError('cannot summarize zero timing samples');
  const s = [...samplesMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const variance = s.length > 1 ? s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1) : 0;
  return {
    n: s.length,
    medianMs: quantileSorted(s, 0.5),
    p10Ms: quantileSorted(s, 0.1),
    p90Ms: quantileSorted(s, 0.9),
    meanMs: mean,
    minMs: s[0],
    maxMs: s[s.length - 1],
    stdevMs: Math.sqrt(variance),
  };
}

/** Geometric mean (for combining times across shapes without letting the biggest dominate). */
export function geomean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('geometric mean of nothing');
  return Math.exp(values.reduce((a, v) => a + Math.log(v), 0) / values.length);
}
