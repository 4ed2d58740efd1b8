/** References of reduce.wgsl, f64 accumulation. */

export function sumCpu(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}
export function sumSquaresCpu(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
export function sumAbsProductCpu(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return s;
}
export function rowSumsCpu(x: ArrayLike<number>, cols: number, scale = 1): Float32Array {
  const rows = x.length / cols;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = scale * s;
  }
  return out;
}
export function colSumsCpu(x: ArrayLike<number>, cols: number, scale = 1): Float32Array {
  const rows = x.length / cols;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) acc[c] += x[r * cols + c];
  return Float32Array.from(acc, (v) => scale * v);
}

/** Partial sums of a * b over consecutive chunks of `chunk` elements (dotPartials' layout). */
export function dotPartialsCpu(a: ArrayLike<number>, b: ArrayLike<number>, chunk: number): Float64Array {
  const out = new Float64Array(Math.ceil(a.length / chunk));
  for (let i = 0; i < a.length; i++) out[Math.floor(i / chunk)] += a[i] * b[i];
  return out;
}

/** scale * element-wise sum of `slices` stacked blocks of x. */
export function sumSlicesCpu(x: ArrayLike<number>, slices: number, scale = 1): Float32Array {
  const n = x.length / slices;
  const acc = new Float64Array(n);
  for (let r = 0; r < slices; r++) for (let i = 0; i < n; i++) acc[i] += x[r * n + i];
  return Float32Array.from(acc, (v) => scale * v);
}
