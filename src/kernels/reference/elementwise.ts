/** References of elementwise.wgsl. */

export function addCpu(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v + b[i]);
}
export function mulCpu(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v * b[i]);
}
export function scaleCpu(x: ArrayLike<number>, s: number): Float32Array {
  return Float32Array.from(x, (v) => v * s);
}
export function absCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => Math.abs(v));
}
export function axpyCpu(y: Float32Array, x: ArrayLike<number>, alpha = 1): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}
export function fillCpu(t: Float32Array, value: number): void {
  t.fill(value);
}
/** y[r, c] += b[c] in place; y is [rows, b.length] row-major. */
export function addBiasRowsCpu(y: Float32Array, b: ArrayLike<number>): void {
  for (let i = 0; i < y.length; i++) y[i] += b[i % b.length];
}
/**
 * maskedAdd: (acc or 0) + mask[c] * x for x of `shape` [N, C, ...], rounded once to f32 (the
 * kernels' fused multiply-add).
 */
export function maskedAddCpu(
  x: ArrayLike<number>,
  mask: ArrayLike<number>,
  acc: ArrayLike<number> | null,
  shape: readonly number[],
): Float32Array {
  const channels = shape[1];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  return Float32Array.from(x, (v, i) => Math.fround((acc ? acc[i] : 0) + mask[Math.floor(i / inner) % channels] * v));
}
