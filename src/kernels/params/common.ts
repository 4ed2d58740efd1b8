/** Shape formatting and the argument checks every op shares. (Part of src/kernels/params.ts, which re-exports every file here.) */
import { ShapeError } from '../../gpu/errors.js';

// ---- shared argument checks ------------------------------------------------------------------------
//
// Every backend calls these (the WGSL wrappers in this folder and src/backend/cpu), so a caller
// sees one error, with one message, whichever backend runs.

export type Shaped = { readonly shape: readonly number[] };
export type Sized = { readonly size: number };

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a ShapeError unless a and b have identical shapes. */
export function assertSameShape(op: string, a: Shaped, b: Shaped): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
}

export function assertFiniteNumber(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
}

/** fill's value: any number but NaN (±Infinity fills are allowed). */
export function checkFillValue(value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`fill: value must be a number, got ${value}`);
}

/** addBiasRows: b must be [cols] for y's last dimension cols; returns cols. */
export function biasRowsCols(yShape: readonly number[], bShape: readonly number[]): number {
  const cols = yShape[yShape.length - 1];
  if (bShape.length !== 1 || bShape[0] !== cols) {
    throw new ShapeError(
      `addBiasRows: bias [${bShape.join(', ')}] does not match the last dimension ${cols} of [${yShape.join(', ')}]`,
    );
  }
  return cols;
}

/**
 * maskedAdd's sizes: x (and acc) [N, C, ...], mask C elements (one per channel). Returns C and
 * the elements per channel and image (the product of the dimensions after C).
 */
export function maskedAddDims(x: Shaped, mask: Sized, acc: Shaped | null): { channels: number; inner: number } {
  if (x.shape.length < 2) throw new ShapeError(`maskedAdd: x [${x.shape.join(', ')}] has no channel dimension`);
  if (acc) assertSameShape('maskedAdd', acc, x);
  const channels = x.shape[1];
  if (mask.size !== channels) throw new ShapeError(`maskedAdd: mask of ${mask.size} elements for ${channels} channels`);
  return { channels, inner: x.shape.slice(2).reduce((a, b) => a * b, 1) };
}

/** Whether two tensors share storage (a tensor and its windows): sameBuffer (GPU), sameStorage (CPU). */
export type SameStorage<T> = (a: T, b: T) => boolean;

/** One storage cannot be written and also read by the same op (WGSL cannot bind it twice); same rule everywhere. */
export function assertDistinct<T>(op: string, written: T, name: string, others: Array<[string, T]>, same: SameStorage<T>): void {
  for (const [n, t] of others) {
    if (same(t, written)) throw new Error(`${op}: ${name} must not share its buffer with ${n}`);
  }
}

/** assertDistinct for an op that writes several operands: each written one against every later one. */
export function assertUnaliased<T>(
  op: string,
  written: Array<[string, T]>,
  read: Array<[string, T]>,
  same: SameStorage<T>,
): void {
  written.forEach(([name, t], i) => assertDistinct(op, t, name, [...written.slice(i + 1), ...read], same));
}
