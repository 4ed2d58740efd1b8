/** Reference of the batched Pearson correlation (correlation.wgsl + the matmul), f64. */

/** CPU reference in f64, same conventions (constant rows -> 0 off-diagonal, diagonal 1). */
export function correlationCpu(x: ArrayLike<number>, B: number, N: number, D: number): Float64Array {
  const out = new Float64Array(B * N * N);
  const z = new Float64Array(N * D);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = (b * N + n) * D;
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
      const scale = ss > 1e-10 * raw && ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let i = 0; i < D; i++) z[n * D + i] = (x[base + i] - mean) * scale;
    }
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
