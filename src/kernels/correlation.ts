/** Batched Pearson correlation matrices (B x N x D -> B x N x N) and the CPU reference. */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { matmul } from './matmul.js';

const WG = 256;

/** Writes the centred, unit-norm rows of x ([rows, D] viewed) into a new tensor of the same shape. */
export function normalizeRows(gpu: Gpu, x: GpuTensor, rows: number, D: number): GpuTensor {
  const z = gpu.empty(x.shape);
  // One kernel serves both paths: copy, then normalise the copy in place (which checks rows x D).
  gpu.copy(x, z);
  try {
    normalizeRowsInPlace(gpu, z, rows, D);
  } catch (e) {
    z.dispose();
    throw e;
  }
  return z;
}

/** Centres and unit-normalises the rows of x ([rows, D] viewed) in place (x is overwritten). */
export function normalizeRowsInPlace(gpu: Gpu, x: GpuTensor, rows: number, D: number): void {
  if (rows * D > x.size) throw new ShapeError(`normalizeRowsInPlace: ${rows}x${D} exceeds the tensor's ${x.size} elements`);
  gpu.dispatch({
    kernel: { file: 'correlation.wgsl', entry: 'normalize_rows', constants: { WG } },
    buffers: [x],
    uniforms: packUniforms([rows, D, 0, 0]),
    workgroups: gpu.grid1d(rows, 1),
  });
}

/**
 * The batched path's correlation without its diagonal: normalises x ([B, N, D], overwritten) in
 * place and writes Z Z^T into out ([B, N, N]). Off-diagonal entries equal correlation()'s; the
 * diagonal is ~1 for rows with variance and 0 for constant rows (callers count it as 1).
 * D = 1 is allowed: every row is constant, so the correlation matrix is the identity.
 */
export function correlationOffDiagInPlace(gpu: Gpu, x: GpuTensor, out: GpuTensor): void {
  if (x.shape.length !== 3) throw new ShapeError(`correlationOffDiagInPlace: x must be [B, N, D], got [${x.shape.join(', ')}]`);
  const [B, N, D] = x.shape;
  if (out.size !== B * N * N) throw new ShapeError(`correlationOffDiagInPlace: out has ${out.size} elements, expected ${B}x${N}x${N}`);
  normalizeRowsInPlace(gpu, x, B * N, D);
  matmul(gpu, x, x, { transB: true, out });
}

/**
 * Pearson correlation between the N rows of each batch entry. x is [B, N, D] (or [N, D]).
 * Rows with zero variance correlate 0 with every other row; the diagonal is exactly 1.
 */
export function correlation(gpu: Gpu, x: GpuTensor, opts: { allowSingleFeature?: boolean } = {}): GpuTensor {
  const [B, N, D] = x.shape.length === 3 ? x.shape : x.shape.length === 2 ? [1, ...x.shape] : [];
  if (B === undefined || N === undefined || D === undefined) {
    throw new ShapeError(`correlation: input must be [B, N, D] or [N, D], got [${x.shape.join(', ')}]`);
  }
  // D = 1 gives the identity (every row constant); callers that mean it (WRCor over any ReLU) opt in.
  if (D < 2 && !(D === 1 && opts.allowSingleFeature)) {
    throw new ShapeError(`correlation: need at least 2 features per row to correlate, got D=${D}`);
  }
  const z = normalizeRows(gpu, x, B * N, D);
  const c = matmul(gpu, z.view([B, N, D]), z.view([B, N, D]), { transB: true });
  z.dispose();
  gpu.dispatch({
    kernel: { file: 'correlation.wgsl', entry: 'set_diag' },
    buffers: [c],
    uniforms: packUniforms([0, 0, N, B]),
    workgroups: [Math.ceil((B * N) / 64)],
  });
  return x.shape.length === 2 ? c.view([N, N]) : c;
}

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
