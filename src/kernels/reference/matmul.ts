/** Reference of the matmul: batched C = alpha op(A) op(B), f64 accumulation. */
import { ShapeError } from '../../gpu/errors.js';
import { matmulOperandDims } from '../params.js';

/** CPU reference (f64 accumulation) with the same conventions as matmul(). */
export function matmulCpu(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; alpha?: number } = {},
): Float32Array {
  const [ba, ra, ca] = matmulOperandDims('matmul', 'A', aShape);
  const [bb, rb, cb] = matmulOperandDims('matmul', 'B', bShape);
  const M = opts.transA ? ca : ra;
  const K = opts.transA ? ra : ca;
  const N = opts.transB ? rb : cb;
  if (K !== (opts.transB ? cb : rb)) throw new ShapeError('matmulCpu: inner dimensions differ');
  const batch = Math.max(ba, bb);
  const out = new Float32Array(batch * M * N);
  const alpha = opts.alpha ?? 1;
  for (let n = 0; n < batch; n++) {
    const oa = ba === 1 ? 0 : n * M * K;
    const ob = bb === 1 ? 0 : n * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = opts.transA ? a[oa + k * M + i] : a[oa + i * K + k];
          const bv = opts.transB ? b[ob + j * K + k] : b[ob + k * N + j];
          s += av * bv;
        }
        out[n * M * N + i * N + j] = alpha * s;
      }
    }
  }
  return out;
}
