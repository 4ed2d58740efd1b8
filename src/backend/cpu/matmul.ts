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
  // X X^T (NASWOT's codes, the correlations' rows): the symmetric kernel, half the products.
  const alpha = opts.alpha ?? 1;
  if (sameStorage(a, b) && opts.transB && !opts.transA && d.M === d.N && d.batchA === d.batchB && alpha === 1 && d.beta === 0) {
    gramRows(dev, a, out, d.batch, d.M, d.K);
    return out;
  }
  dev.enqueue('matmul', [a, b, out], {
    batch: d.batch,
    M: d.M,
    N: d.N,
    K: d.K,
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    batchA: d.batchA,
    batchB: d.batchB,
    alpha,
    beta: d.beta,
  });
  return out;
}

/**
 * out[b] = x[b] x[b]^T for x [B, N, D] row-major: the addon's symmetric kernel (the upper triangle
 * in 4 x 4 blocks of dot products, mirrored, so out is exactly symmetric).
 */
export function gramRows(dev: NativeDevice, x: NativeTensor, out: NativeTensor, B: number, N: number, D: number): void {
  if (B * N === 0) return;
  dev.enqueue('gramRows', [x, out], { B, N, D });
}

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}
