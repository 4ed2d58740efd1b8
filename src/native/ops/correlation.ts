/** Batched Pearson correlation matrices (B x N x D -> B x N x N) on the native device (signatures of src/kernels/correlation.ts). */
import { ShapeError } from '../../gpu/errors.js';
import type { NativeDevice, NativeTensor } from '../device.js';
import { matmul } from './matmul.js';

/** Writes the centred, unit-norm rows of x ([rows, D] viewed) into a new tensor of the same shape. */
export function normalizeRows(dev: NativeDevice, x: NativeTensor, rows: number, D: number): NativeTensor {
  const z = dev.empty(x.shape);
  dev.copy(x, z);
  try {
    normalizeRowsInPlace(dev, z, rows, D);
  } catch (e) {
    z.dispose();
    throw e;
  }
  return z;
}

/** Centres and unit-normalises the rows of x ([rows, D] viewed) in place (x is overwritten). */
export function normalizeRowsInPlace(dev: NativeDevice, x: NativeTensor, rows: number, D: number): void {
  if (rows * D > x.size) throw new ShapeError(`normalizeRowsInPlace: ${rows}x${D} exceeds the tensor's ${x.size} elements`);
  if (rows * D === 0) return;
  dev.enqueue('normalizeRows', [x], { rows, D });
}

/**
 * The batched path's correlation without its diagonal: normalises x ([B, N, D], overwritten) in
 * place and writes Z Z^T into out ([B, N, N]). Off-diagonal entries equal correlation()'s; the
 * diagonal is ~1 for rows with variance and 0 for constant rows (callers count it as 1).
 */
export function correlationOffDiagInPlace(dev: NativeDevice, x: NativeTensor, out: NativeTensor): void {
  if (x.shape.length !== 3) throw new ShapeError(`correlationOffDiagInPlace: x must be [B, N, D], got [${x.shape.join(', ')}]`);
  const [B, N, D] = x.shape;
  if (out.size !== B * N * N) throw new ShapeError(`correlationOffDiagInPlace: out has ${out.size} elements, expected ${B}x${N}x${N}`);
  normalizeRowsInPlace(dev, x, B * N, D);
  matmul(dev, x, x, { transB: true, out });
}

/**
 * Pearson correlation between the N rows of each batch entry. x is [B, N, D] (or [N, D]).
 * Rows with zero variance correlate 0 with every other row; the diagonal is exactly 1.
 */
export function correlation(dev: NativeDevice, x: NativeTensor, opts: { allowSingleFeature?: boolean } = {}): NativeTensor {
  const [B, N, D] = x.shape.length === 3 ? x.shape : x.shape.length === 2 ? [1, ...x.shape] : [];
  if (B === undefined || N === undefined || D === undefined) {
    throw new ShapeError(`correlation: input must be [B, N, D] or [N, D], got [${x.shape.join(', ')}]`);
  }
  if (D < 2 && !(D === 1 && opts.allowSingleFeature)) {
    throw new ShapeError(`correlation: need at least 2 features per row to correlate, got D=${D}`);
  }
  const z = normalizeRows(dev, x, B * N, D);
  const c = matmul(dev, z.view([B, N, D]), z.view([B, N, D]), { transB: true });
  z.dispose(); // freed once the queued product has read it
  dev.enqueue('setDiag', [c], { B, N });
  return x.shape.length === 2 ? c.view([N, N]) : c;
}
