/** Batched f32 matmul on the native device (oneDNN sgemm); signatures and errors of src/kernels/matmul.ts. */
import { assertMatmulOutUnaliased, matmulDims } from '../../kernels/params.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** C = alpha*AB + beta*C; beta != 0 requires `out`. */
  beta?: number;
  out?: NativeTensor;
}

/**
 * C = op(A) op(B), batched over a leading dimension (a 2-D operand, or a batch of 1, broadcasts).
 * Shapes are the stored ones: A is [b?, M, K] (or [b?, K, M] with transA). The WGSL-only options
 * (tile, precision, split-K) are not read: the CPU computes in f32 with oneDNN's own blocking.
 */
export function matmul(dev: NativeDevice, a: NativeTensor, b: NativeTensor, opts: MatmulOptions = {}): NativeTensor {
  const d = matmulDims(a.shape, b.shape, opts);
  assertMatmulOutUnaliased(opts.out, a, b, sameStorage);
  const out = opts.out ?? dev.empty(d.outShape);
  if (d.batch === 0) return out;
  dev.enqueue('matmul', [a, b, out], {
    batch: d.batch,
    M: d.M,
    N: d.N,
    K: d.K,
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    batchA: d.batchA,
    batchB: d.batchB,
    alpha: opts.alpha ?? 1,
    beta: d.beta,
  });
  return out;
}

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}
