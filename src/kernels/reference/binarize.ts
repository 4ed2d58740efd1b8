/** Reference of binarize.wgsl's gate gradient dot product, f64. */
import { ShapeError } from '../../gpu/errors.js';

/** CPU reference of gateDot's value (f64). */
export function gateDotCpu(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  if (a.length !== b.length) throw new ShapeError(`gateDotCpu: ${a.length} vs ${b.length} elements`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return scale * s;
}

/** CPU reference of gateDotMany: out (outSize zeros) with gateDotCpu(a[j], b[j], scale) at indices[j], f64. */
export function gateDotManyCpu(
  a: ReadonlyArray<ArrayLike<number>>,
  b: ReadonlyArray<ArrayLike<number>>,
  outSize: number,
  indices: readonly number[],
  scale = 1,
): Float64Array {
  const out = new Float64Array(outSize);
  a.forEach((x, j) => (out[indices[j]] = gateDotCpu(x, b[j], scale)));
  return out;
}
