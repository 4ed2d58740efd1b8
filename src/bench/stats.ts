/** Order statistics of timing samples (milliseconds). */
import { quantileSorted } from '../util/quantile.js';

export { quantileSorted };

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
