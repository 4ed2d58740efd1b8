/**
 * Reductions on the native device (signatures and errors of src/kernels/reduce.ts): full sums to a
 * [1] tensor and per-row / per-column / per-slice sums, accumulated in double.
 */
import {
  assertDotPartialsUnaliased,
  assertSameShape,
  checkDotPartials,
  checkRowSumsOut,
  checkSumSlices,
  reduceRows,
} from '../../kernels/params.js';
import type { NativeOpName } from '../../native/compute.js';
import { type NativeDevice, type NativeTensor, sameStorage } from '../../native/device.js';

function reduceFull(dev: NativeDevice, op: NativeOpName, inputs: NativeTensor[], scale: number): NativeTensor {
  const out = dev.empty([1]);
  dev.enqueue(op, [...inputs, out], { n: inputs[0].size, scale });
  return out;
}

/** sum(x) as a [1] tensor. */
export function sum(dev: NativeDevice, x: NativeTensor, scale = 1): NativeTensor {
  return reduceFull(dev, 'sum', [x], scale);
}

/** sum(x^2) as a [1] tensor. */
export function sumSquares(dev: NativeDevice, x: NativeTensor): NativeTensor {
  return reduceFull(dev, 'sumSquares', [x], 1);
}

/** sum |a * b| as a [1] tensor (same shapes). */
export function sumAbsProduct(dev: NativeDevice, a: NativeTensor, b: NativeTensor): NativeTensor {
  assertSameShape('sumAbsProduct', a, b);
  return reduceFull(dev, 'sumAbsProduct', [a, b], 1);
}

/**
 * Dot-product partials: partials[g] = sum of a * b over chunk g of wg * items elements (the first
 * pass of the WGSL path's deterministic two-pass dot; the chunking is kept so both backends fill
 * the same entries).
 */
export function dotPartials(
  dev: NativeDevice,
  a: NativeTensor,
  b: NativeTensor,
  partials: NativeTensor,
  wg = 64,
  items = 32,
): void {
  const n = a.size;
  const chunk = wg * items;
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`dotPartials: wg * items must be a positive integer, got ${wg} * ${items}`);
  checkDotPartials(n, b.size, partials.size, Math.ceil(n / chunk));
  assertDotPartialsUnaliased(partials, a, b, sameStorage);
  if (n > 0) dev.enqueue('dotPartials', [a, b, partials], { n, chunk });
}

/** Treats x as [rows, cols] (row-major); returns scale * sum over each row, shaped outShape (default [rows]). */
export function rowSums(dev: NativeDevice, x: NativeTensor, cols: number, scale = 1, outShape?: readonly number[]): NativeTensor {
  const rows = reduceRows('rowSums', x, cols);
  const out = dev.empty(outShape ?? [rows]);
  if (out.size !== rows) {
    out.dispose();
    checkRowSumsOut(out.size, rows, outShape);
  }
  dev.enqueue('rowSums', [x, out], { rows, cols, scale });
  return out;
}

/** Treats x as [rows, cols]; returns [cols] with scale * sum over each column. */
export function colSums(dev: NativeDevice, x: NativeTensor, cols: number, scale = 1): NativeTensor {
  const rows = reduceRows('colSums', x, cols);
  const out = dev.empty([cols]);
  dev.enqueue('colSums', [x, out], { rows, cols, scale });
  return out;
}

/** x holds `slices` stacked blocks of shape outShape; returns their element-wise sum times scale. */
export function sumSlices(
  dev: NativeDevice,
  x: NativeTensor,
  slices: number,
  outShape: readonly number[],
  scale = 1,
): NativeTensor {
  const out = dev.empty(outShape);
  if (x.size !== slices * out.size) {
    out.dispose();
    checkSumSlices(x.size, slices, outShape, out.size);
  }
  dev.enqueue('sumSlices', [x, out], { n: out.size, slices, scale });
  return out;
}
