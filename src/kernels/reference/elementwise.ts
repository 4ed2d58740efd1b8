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
