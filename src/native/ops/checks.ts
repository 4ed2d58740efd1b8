/**
 * Argument checks shared by the native ops. They throw the same errors, with the same messages, as
 * the WGSL ops in src/kernels (a layer above, so not imported from here), so a caller sees one
 * behaviour whichever backend runs.
 */
import { ShapeError } from '../../gpu/errors.js';

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws a ShapeError unless a and b have identical shapes. */
export function assertSameShape(op: string, a: { shape: readonly number[] }, b: { shape: readonly number[] }): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
}

export function assertFiniteNumber(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
}
