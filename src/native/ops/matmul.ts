/** Batched f32 matmul on the native device (oneDNN sgemm); signatures and errors of src/kernels/matmul.ts. */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** C = alpha*AB + beta*C; beta != 0 requires `out`. */
  beta?: number;
  out?: NativeTensor;
  /** The WGSL tile (src/kernels/matmul.ts); accepted for signature parity, unused on the CPU. */
  tile?: { WG_X: number; WG_Y: number; TK: number };
}

/** Reads (batch, rows, cols) from a 2-D or 3-D shape. */
function dims3(name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new ShapeError(`matmul: ${name} must be 2-D or 3-D, got [${shape.join(', ')}]`);
}

/**
 * C = op(A) op(B), batched over a leading dimension (a 2-D operand, or a batch of 1, broadcasts).
 * Shapes are the stored ones: A is [b?, M, K] (or [b?, K, M] with transA).
 */
export function matmul(dev: NativeDevice, a: NativeTensor, b: NativeTensor, opts: MatmulOptions = {}): NativeTensor {
  const [ba, ra, ca] = dims3('A', a.shape);
  const [bb, rb, cb] = dims3('B', b.shape);
  const M = opts.transA ? ca : ra;
  const K = opts.transA ? ra : ca;
  const Kb = opts.transB ? cb : rb;
  const N = opts.transB ? rb : cb;
  if (K !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: op(A) is ${M}x${K}, op(B) is ${Kb}x${N} (A [${a.shape}], B [${b.shape}])`,
    );
  }
  if (ba !== bb && ba !== 1 && bb !== 1) throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} differ`);
  const batch = Math.max(ba, bb);
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [batch, M, N] : [M, N];
  const beta = opts.beta ?? 0;
  if (beta !== 0 && !opts.out) throw new Error('matmul: beta != 0 needs an `out` tensor to accumulate into');
  if (opts.out && opts.out.size !== batch * M * N) {
    throw new ShapeError(`matmul: out has ${opts.out.size} elements, expected ${batch}x${M}x${N}`);
  }
  const out = opts.out ?? dev.empty(outShape);
  if (batch === 0) return out;
  dev.enqueue('matmul', [a, b, out], {
    batch,
    M,
    N,
    K,
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    batchA: ba !== 1,
    batchB: bb !== 1,
    alpha: opts.alpha ?? 1,
    beta,
  });
  return out;
}

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}
