/** Batched f32 matmul on matmul.wgsl, and its CPU reference. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { tunedMatmulTile } from './autotune.js';

export interface MatmulTile {
  WG_X: number;
  WG_Y: number;
  TK: number;
}

export const DEFAULT_MATMUL_TILE: MatmulTile = { WG_X: 16, WG_Y: 16, TK: 16 };
const R = 4; // outputs per thread per axis (RM = RN in the WGSL)

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** C = alpha*AB + beta*C; beta != 0 requires `out`. */
  beta?: number;
  out?: GpuTensor;
  /** Batch count; operands with batch stride 0 broadcast. Default: inferred from shapes. */
  tile?: MatmulTile;
}

/** Reads (batch, rows, cols) from a 2-D or 3-D shape. */
function dims3(name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new ShapeError(`matmul: ${name} must be 2-D or 3-D, got [${shape.join(', ')}]`);
}

/**
 * C = op(A) op(B), batched over a leading dimension (a 2-D operand broadcasts).
 * Shapes are the stored ones: A is [b?, M, K] (or [b?, K, M] with transA).
 */
export function matmul(gpu: Gpu, a: GpuTensor, b: GpuTensor, opts: MatmulOptions = {}): GpuTensor {
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
  const out = opts.out ?? gpu.empty(outShape);
  const tile = opts.tile ?? tunedMatmulTile(gpu);
  gpu.dispatch({
    kernel: { file: 'matmul.wgsl', constants: { ...tile } },
    buffers: [a, b, out],
    uniforms: packUniforms([
      M, N, K, batch,
      opts.transA ? 1 : 0, opts.transB ? 1 : 0, ba === 1 ? 0 : M * K, bb === 1 ? 0 : K * N,
      M * N, { f32: opts.alpha ?? 1 }, { f32: beta }, 0,
    ]),
    workgroups: [Math.ceil(N / (tile.WG_X * R)), Math.ceil(M / (tile.WG_Y * R)), batch],
  });
  return out;
}

/** CPU reference (f64 accumulation) with the same conventions as matmul(). */
export function matmulCpu(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; alpha?: number } = {},
): Float32Array {
  const [ba, ra, ca] = dims3('A', aShape);
  const [bb, rb, cb] = dims3('B', bShape);
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

export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * M * N * K * batch;
}
