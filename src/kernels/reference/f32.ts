/** The f32 references: an f64 reference's results rounded to f32 once, as the kernels store them. */

/** R with each Float64Array (the result itself, or a field of it) as a Float32Array. */
export type RoundedF32<R> = R extends Float64Array
  ? Float32Array
  : { [K in keyof R]: R[K] extends Float64Array ? Float32Array : R[K] };

function roundF32<R>(r: R): RoundedF32<R> {
  if (r instanceof Float64Array) return Float32Array.from(r) as RoundedF32<R>;
  const fields = Object.entries(r as object).map(([k, v]) => [k, v instanceof Float64Array ? Float32Array.from(v) : v]);
  return Object.fromEntries(fields) as RoundedF32<R>;
}

/** The f32 twin of an f64 reference: the same arguments, every Float64Array of its result rounded to f32 once. */
export function f32Twin<A extends unknown[], R>(f64: (...args: A) => R): (...args: A) => RoundedF32<R> {
  return (...args) => roundF32(f64(...args));
}
