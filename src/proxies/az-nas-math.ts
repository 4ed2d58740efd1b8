/**
 * AZ-NAS (Lee & Ham, CVPR 2024) on the host: the small matrices its components end in. The device
 * reduces each block's feature map to a C x C Gram (C <= 64 on NAS-Bench-201) and each block's
 * Jacobian probe to a (4)C x C matrix; their eigenvalues are taken here, in f64, because the
 * Backend has no eigen-solver and these matrices are tiny (linalg.ts's Jacobi).
 *
 * - Expressivity of a feature map F, viewed as M = N*H*W samples of C channels: the entropy
 *   -sum p log(p + 1e-8) of the normalised eigenvalues p of its channel covariance; the network's
 *   expressivity is the sum over blocks.
 * - Progressivity: the smallest increase of a block's expressivity over the previous block's.
 * - Trainability of a block with Jacobian J: sigma = the largest singular value of
 *   E[g_in g_out^T] with g_in = J^T g_out and g_out Rademacher (an estimate of J's spectral norm);
 *   score -sigma - 1/(sigma + 1e-6) + 2, which is 0 at sigma = 1 and negative elsewhere; the mean
 *   over blocks. A block that is the identity (g_in = g_out) scores -Infinity.
 * - The aggregate: sum over components of log(rank / m) (ranks ascending, ties averaged).
 */
import { ranks } from '../util/ranks.js';
import { symmetricEigenvalues } from './linalg.js';

/**
 * Channel-covariance entropy from the Gram sum G = sum over samples of f f^T (C x C, row-major),
 * the channel sums s, and the sample count m. NaN when the covariance is zero (a feature map that
 * is constant, e.g. a cell whose output receives nothing), as in the reference.
 */
export function covarianceEntropy(gram: ArrayLike<number>, sums: ArrayLike<number>, m: number): number {
  const c = sums.length;
  if (gram.length !== c * c) throw new RangeError(`covarianceEntropy: gram of ${gram.length} values is not ${c}x${c}`);
  const cov = new Float64Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) cov[i * c + j] = gram[i * c + j] / m - (sums[i] / m) * (sums[j] / m);
  // Round-off can leave eigenvalues of a rank-deficient covariance a hair below zero: clamp them.
  const ev = symmetricEigenvalues(cov, c).map((v) => Math.max(v, 0));
  const total = ev.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return NaN;
  let h = 0;
  for (const v of ev) {
    const p = v / total;
    h -= p * Math.log(p + 1e-8);
  }
  return h;
}

/** The network's expressivity and progressivity from the blocks' entropies (in block order). */
export function expressivityProgressivity(entropies: readonly number[]): { expressivity: number; progressivity: number } {
  let expressivity = 0;
  let progressivity = Infinity;
  entropies.forEach((e, i) => {
    expressivity += e;
    if (i > 0) progressivity = Math.min(progressivity, e - entropies[i - 1]);
  });
  // A NaN block (constant features) makes both NaN; the proxies report that as -Infinity.
  return { expressivity: orNegInf(expressivity), progressivity: orNegInf(entropies.length > 1 ? progressivity : NaN) };
}

/** Largest singular value of a rows x cols matrix (row-major), from the eigenvalues of the smaller Gram. */
export function largestSingularValue(mat: ArrayLike<number>, rows: number, cols: number): number {
  if (mat.length !== rows * cols) throw new RangeError(`largestSingularValue: ${mat.length} values is not ${rows}x${cols}`);
  const k = Math.min(rows, cols);
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      if (cols <= rows) for (let r = 0; r < rows; r++) s += mat[r * cols + i] * mat[r * cols + j];
      else for (let q = 0; q < cols; q++) s += mat[i * cols + q] * mat[j * cols + q];
      g[i * k + j] = s;
      g[j * k + i] = s;
    }
  }
  const ev = symmetricEigenvalues(g, k);
  return Math.sqrt(Math.max(0, ev[k - 1]));
}

/** One block's trainability from its Jacobian's estimated spectral norm sigma. */
export function blockTrainability(sigma: number): number {
  return -sigma - 1 / (sigma + 1e-6) + 2;
}

/** The network's trainability: the mean of its blocks' (an identity block's -Infinity wins). */
export function meanTrainability(blocks: readonly number[]): number {
  return orNegInf(blocks.reduce((a, b) => a + b, 0) / blocks.length);
}

/**
 * Non-linear rank aggregation (AZ-NAS, VKDNW_agg): each row's sum over columns of log(rank / m),
 * rank 1 = lowest score of m, ties averaged; a non-finite score ranks lowest. A network must rank
 * well on every column: one bad rank pulls the sum far down (log of a small rank).
 */
export function logRankSum(columns: ReadonlyArray<readonly number[]>): number[] {
  if (!columns.length) return [];
  const m = columns[0].length;
  if (columns.some((c) => c.length !== m)) throw new RangeError('logRankSum: score columns differ in length');
  const out = new Array<number>(m).fill(0);
  for (const col of columns) {
    const r = ranks(col.map((v) => (Number.isFinite(v) ? v : -Infinity)));
    for (let i = 0; i < m; i++) out[i] += Math.log(r[i] / m);
  }
  return out;
}

/**
 * logRankSum's online form: the sum over columns of log(rank / m) of the newest entry (the last of
 * each column) among the m so far, rank = 1 + the entries strictly below it (ties take the lowest
 * rank, where logRankSum averages them); a non-finite score ranks lowest.
 */
export function logRankSumLatest(columns: ReadonlyArray<readonly number[]>): number {
  const low = (x: number) => (Number.isFinite(x) ? x : -Infinity);
  let v = 0;
  for (const col of columns) {
    const x = low(col[col.length - 1]);
    let below = 0;
    for (const y of col) if (low(y) < x) below++;
    v += Math.log((below + 1) / col.length);
  }
  return v;
}

function orNegInf(v: number): number {
  return Number.isNaN(v) ? -Infinity : v;
}
