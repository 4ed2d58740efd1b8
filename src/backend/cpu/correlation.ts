/** Batched Pearson correlation matrices (B x N x D -> B x N x N) on the native device (signatures of src/kernels/correlation.ts). */
import {
  assertUnaliased,
  checkNormalizeRows,
  correlationDims,
  type GramOptions,
  gramDims,
  offDiagCorrelationDims,
} from '../../kernels/params.js';
import { ShapeError } from '../../gpu/errors.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';
import { gramRows } from './matmul.js';

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
  checkNormalizeRows(rows, D, x.size);
  if (rows * D === 0) return;
  dev.enqueue('normalizeRows', [x], { rows, D });
}

/**
 * out = Z Z^T for z [B, N, D] or [N, D] (a new [B, N, N] or [N, N] tensor when out is not given):
 * the addon's symmetric gramRows; opts.kernel (the GPU's choice of kernel) is not read.
 */
export function gram(dev: NativeDevice, z: NativeTensor, out?: NativeTensor, _opts: GramOptions = {}): NativeTensor {
  const [B, N, D] = gramDims(z.shape, out?.size);
  if (out) assertUnaliased('gram', [['out', out]], [['z', z]], sameStorage);
  const o = out ?? dev.empty(z.shape.length === 3 ? [B, N, N] : [N, N]);
  gramRows(dev, z, o, B, N, D);
  return o;
}

/**
 * The batched path's correlation without its diagonal: normalises x ([B, N, D], overwritten) in
 * place and writes Z Z^T into out ([B, N, N]). Off-diagonal entries equal correlation()'s; the
 * diagonal is ~1 for rows with variance and 0 for constant rows (callers count it as 1).
 */
export function correlationOffDiagInPlace(dev: NativeDevice, x: NativeTensor, out: NativeTensor): void {
  const [B, N, D] = offDiagCorrelationDims(x.shape, out.size);
  assertUnaliased('correlationOffDiagInPlace', [['out', out]], [['x', x]], sameStorage);
  normalizeRowsInPlace(dev, x, B * N, D);
  gramRows(dev, x, out, B, N, D);
}

/**
 * out[l] = correlationOffDiagInPlace's matrix for xs[l] (each n x d elements, left unchanged), bit
 * for bit, without copying the xs into one [L, n, d] arena first: the addon normalises each row
 * while its Gram kernel packs it (Backend.fused.correlationsOffDiag).
 */
export function correlationsOffDiag(
  dev: NativeDevice,
  xs: readonly NativeTensor[],
  n: number,
  d: number,
  out: NativeTensor,
): void {
  const L = xs.length;
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`correlationsOffDiag: n and d must be positive integers, got n=${n}, d=${d}`);
  }
  for (const [i, x] of xs.entries()) {
    if (x.size !== n * d) throw new ShapeError(`correlationsOffDiag: xs[${i}] has ${x.size} elements, expected ${n}x${d}`);
  }
  if (out.size !== L * n * n) throw new ShapeError(`correlationsOffDiag: out has ${out.size} elements, expected ${L}x${n}x${n}`);
  assertUnaliased(
    'correlationsOffDiag',
    [['out', out]],
    xs.map((x, i) => [`xs[${i}]`, x] as [string, NativeTensor]),
    sameStorage,
  );
  if (L === 0) return;
  dev.enqueue('correlationRows', [out, ...xs], { N: n, D: d });
}

/**
 * Pearson correlation between the N rows of each batch entry. x is [B, N, D] (or [N, D]).
 * Rows with zero variance correlate 0 with every other row; the diagonal is exactly 1.
 */
export function correlation(dev: NativeDevice, x: NativeTensor, opts: { allowSingleFeature?: boolean } = {}): NativeTensor {
  const [B, N, D] = correlationDims(x.shape, opts.allowSingleFeature);
  // An owning result in the caller's shape (a view's dispose() frees nothing: see the WGSL op).
  const c = dev.empty(x.shape.length === 2 ? [N, N] : [B, N, N]);
  const z = normalizeRows(dev, x, B * N, D);
  try {
    gramRows(dev, z, c, B, N, D);
    dev.enqueue('setDiag', [c], { B, N });
  } catch (e) {
    c.dispose();
    throw e;
  } finally {
    z.dispose(); // freed once the queued product has read it
  }
  return c;
}
