/** Reference of binarize.wgsl's gate gradient dot product, f64. */
import { ShapeError } from '../../gpu/errors.js';

/** CPU reference of gateDot's value (f64). */
export function gateDotCpu(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  if (a.length !== b.length) throw new ShapeError(`gateDotCpu: ${a.length} vs ${b.length} elements`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return scale * s;
}
