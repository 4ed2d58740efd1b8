/** Reference of the batched Pearson correlation (correlation.wgsl + the matmul), f64. */

/**
 * The mean of the row x[base..base+D) and the scale that takes it, centred, to unit norm: 0 for a
 * constant row (its centred sum of squares is 0 or below 1e-10 of its raw energy), in f64.
 */
export function rowMeanScale(x: ArrayLike<number>, base: number, D: number): { mean: number; scale: number } {
  let mean = 0;
  let raw = 0;
  for (let i = 0; i < D; i++) mean += x[base + i];
  mean /= D;
  let ss = 0;
  for (let i = 0; i < D; i++) {
    const d = x[base + i] - mean;
    ss += d * d;
    raw += x[base + i] * x[base + i];
  }
  return { mean, scale: ss > 1e-10 * raw && ss > 0 ? 1 / Math.sqrt(ss) : 0 };
}

/** z[zOff..zOff+D) = the row x[base..base+D) centred and scaled to unit norm (rowMeanScale; 0 for a constant row). */
export function centerAndNormalizeRow(
  x: ArrayLike<number>,
  base: number,
  D: number,
  z: Float32Array | Float64Array,
  zOff: number,
): void {
  const { mean, scale } = rowMeanScale(x, base, D);
  for (let i = 0; i < D; i++) z[zOff + i] = (x[base + i] - mean) * scale;
}

/** CPU reference in f64, same conventions (constant rows -> 0 off-diagonal, diagonal 1). */
export function correlationCpu(x: ArrayLike<number>, B: number, N: number, D: number): Float64Array {
  const out = new Float64Array(B * N * N);
  const z = new Float64Array(N * D);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) centerAndNormalizeRow(x, (b * N + n) * D, D, z, n * D);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += z[i * D + k] * z[j * D + k];
        out[b * N * N + i * N + j] = i === j ? 1 : s;
      }
    }
  }
  return out;
}

/** Z Z^T for z [B, N, D] (B products of N x N), f64. */
export function gramCpu(z: ArrayLike<number>, B: number, N: number, D: number): Float64Array {
  const out = new Float64Array(B * N * N);
  for (let b = 0; b < B; b++) {
    const base = b * N * D;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += z[base + i * D + k] * z[base + j * D + k];
        out[b * N * N + i * N + j] = s;
      }
    }
  }
  return out;
}
