/**
 * VKDNW (Tybl & Neumann, CVPR 2025) on the host. The Fisher information of the network's
 * predictive distribution w.r.t. a small parameter set theta (the first element of every parameter
 * tensor, so P = the number of tensors, <= ~300 on NAS-Bench-201) is P x P: its eigenvalues are
 * taken here in f64 (linalg's QL; the Backend has no eigen-solver and the matrix is small).
 *
 * - The softmax covariance Sigma = diag(p) - p p^T of each image, with p the label-smoothed softmax
 *   (1 - alpha) softmax(z) + alpha / C, alpha = 0.05, has the closed-form lower-triangular factor L
 *   (Tanabe & Sagae 1992) with L L^T = Sigma.
 * - The reference code builds F = mean over images of (L J)^T (L J), J = d logits / d theta; we
 *   follow it (its published figures come from it). (L^T L has the same eigenvalues as
 *   L L^T = Sigma, but J^T L^T L J is not J^T Sigma J in general.)
 * - Statistic: the deciles q_1..q_9 of F's eigenvalues, t = q / (sum q + 1e-10), entropy
 *   -sum t log(t + 1e-10); the ranking orders first by the number of parameter tensors, then by
 *   that entropy.
 */
import { quantileSorted } from '../util/quantile.js';

export const VKDNW_ALPHA = 0.05;

/** Per image, the C x C lower-triangular factor of its smoothed softmax covariance ([n, C, C] row-major). */
export function softmaxCovFactors(logits: ArrayLike<number>, n: number, c: number, alpha = VKDNW_ALPHA): Float64Array {
  const out = new Float64Array(n * c * c);
  const p = new Float64Array(c);
  const q = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, logits[s * c + k]);
    let z = 0;
    for (let k = 0; k < c; k++) z += p[k] = Math.exp(logits[s * c + k] - max);
    let cum = 0;
    for (let k = 0; k < c; k++) {
      p[k] = (p[k] / z) * (1 - alpha) + alpha / c;
      cum += p[k];
      q[k] = k === c - 1 ? 0 : 1 - cum;
    }
    const o = s * c * c;
    for (let j = 0; j < c; j++) {
      const qPrev = j === 0 ? 1 : q[j - 1];
      const d = Math.sqrt(Math.max(0, (p[j] * q[j]) / qPrev));
      out[o + j * c + j] = d;
      // Below the diagonal: -p_i / q_j (column C-1 has q = 0 and nothing below it).
      for (let i = j + 1; i < c; i++) out[o + i * c + j] = (-p[i] / q[j]) * d;
    }
  }
  return out;
}

/** F = G^T G / n for G of `rows` x p (row-major), in f64; rows are (seed row, image) pairs. */
export function fisherFromRows(g: Float64Array, rows: number, p: number, n: number): Float64Array {
  const f = new Float64Array(p * p);
  for (let r = 0; r < rows; r++) {
    const o = r * p;
    for (let i = 0; i < p; i++) {
      const gi = g[o + i];
      if (gi === 0) continue;
      for (let j = 0; j <= i; j++) f[i * p + j] += gi * g[o + j];
    }
  }
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      f[i * p + j] /= n;
      f[j * p + i] = f[i * p + j];
    }
  }
  return f;
}

/** Entropy of the normalised deciles (0.1 .. 0.9, linear interpolation as torch.quantile) of the eigenvalues. */
export function decileEntropy(eigenvalues: ArrayLike<number>): number {
  // F is positive semi-definite: round-off negatives are singular values |v| (the reference takes an SVD).
  const s = Float64Array.from(eigenvalues, Math.abs).sort();
  const q = Array.from({ length: 9 }, (_, k) => quantileSorted(s, (k + 1) / 10));
  const total = q.reduce((a, b) => a + b, 0) + 1e-10;
  return -q.reduce((h, v) => h + (v / total) * Math.log(v / total + 1e-10), 0);
}

/**
 * One number that orders like the reference's (dim, entropy) tuple: the entropy of 9 values is at
 * most ln 9 < 10, so dim + entropy / 10 sorts by dim first.
 */
export const vkdnwScore = (dim: number, entropy: number): number => dim + entropy / 10;
