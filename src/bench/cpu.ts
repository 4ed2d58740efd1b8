/**
 * Plain-TypeScript CPU baselines, faster than the f64 references in src/kernels/ (which favour
 * clarity): cache-blocked f32 matmul and a correlation that only computes the upper triangle.
 * They run single-threaded on the main thread.
 */
import { ShapeError } from '../gpu/errors.js';
import { centerAndNormalizeRow } from '../kernels/reference/correlation.js';

const KB = 128; // k-block: a KB x NB panel of B stays in L2
const NB = 256; // j-block: one C row segment stays in L1

/**
 * C[b] = A[b] B[b] for row-major A [batch, M, K], B [batch, K, N] (a batch stride of 0 broadcasts).
 * i-k-j order so the innermost loop streams contiguous rows of B and C.
 */
export function matmulCpuBlocked(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  batch = 1,
  out?: Float32Array,
  strides: { a?: number; b?: number } = {},
): Float32Array {
  const sa = strides.a ?? M * K;
  const sb = strides.b ?? K * N;
  if (a.length < (batch - 1) * sa + M * K || b.length < (batch - 1) * sb + K * N) {
    throw new ShapeError(`matmulCpuBlocked: operands too small for batch=${batch} M=${M} N=${N} K=${K}`);
  }
  const c = out ?? new Float32Array(batch * M * N);
  if (c.length < batch * M * N) throw new ShapeError(`matmulCpuBlocked: out holds ${c.length} < ${batch * M * N} values`);
  c.fill(0, 0, batch * M * N);
  for (let n = 0; n < batch; n++) {
    const oa = n * sa;
    const ob = n * sb;
    const oc = n * M * N;
    for (let j0 = 0; j0 < N; j0 += NB) {
      const j1 = Math.min(N, j0 + NB);
      for (let k0 = 0; k0 < K; k0 += KB) {
        const k1 = Math.min(K, k0 + KB);
        for (let i = 0; i < M; i++) {
          const ci = oc + i * N;
          const ai = oa + i * K;
          for (let k = k0; k < k1; k++) {
            const av = a[ai + k];
            const bk = ob + k * N;
            let j = j0;
            for (; j + 3 < j1; j += 4) {
              c[ci + j] += av * b[bk + j];
              c[ci + j + 1] += av * b[bk + j + 1];
              c[ci + j + 2] += av * b[bk + j + 2];
              c[ci + j + 3] += av * b[bk + j + 3];
            }
            for (; j < j1; j++) c[ci + j] += av * b[bk + j];
          }
        }
      }
    }
  }
  return c;
}

/**
 * Pearson correlation of the N rows of each of B entries of x [B, N, D], same conventions as
 * correlationCpu (constant rows correlate 0, diagonal exactly 1). Rows are normalised once, then
 * only i <= j dot products are computed and mirrored.
 */
export function correlationCpuFast(x: Float32Array, B: number, N: number, D: number, out?: Float32Array): Float32Array {
  if (x.length < B * N * D) throw new ShapeError(`correlationCpuFast: x holds ${x.length} < ${B * N * D} values`);
  const c = out ?? new Float32Array(B * N * N);
  const z = new Float32Array(N * D);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) centerAndNormalizeRow(x, (b * N + n) * D, D, z, n * D);
    const oc = b * N * N;
    for (let i = 0; i < N; i++) {
      c[oc + i * N + i] = 1;
      const zi = i * D;
      for (let j = i + 1; j < N; j++) {
        const zj = j * D;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let k = 0;
        for (; k + 3 < D; k += 4) {
          s0 += z[zi + k] * z[zj + k];
          s1 += z[zi + k + 1] * z[zj + k + 1];
          s2 += z[zi + k + 2] * z[zj + k + 2];
          s3 += z[zi + k + 3] * z[zj + k + 3];
        }
        for (; k < D; k++) s0 += z[zi + k] * z[zj + k];
        const s = s0 + s1 + s2 + s3;
        c[oc + i * N + j] = s;
        c[oc + j * N + i] = s;
      }
    }
  }
  return c;
}
