/** References of proxy_ops.wgsl. */
import type { BatchedAccumulateOptions, UnstackGroupsOptions } from '../params.js';

/** CPU reference of accumulateAbsBatched (same layout). */
export function accumulateAbsBatchedCpu(
  dst: Float64Array | Float32Array,
  src: ArrayLike<number>,
  o: BatchedAccumulateOptions,
): void {
  const { n } = o;
  const outs = o.outs ?? 1;
  const nn = n * n;
  o.layerSlots.forEach((s, l) => {
    if (o.skipConstant && Array.from({ length: n }, (_, k) => src[l * nn + k * (n + 1)]).some((d) => d < 0.5)) return;
    for (let e = 0; e < nn; e++) {
      let v = src[l * nn + e];
      if (o.abs ?? true) v = Math.abs(v);
      if (o.unitDiagonal && e % (n + 1) === 0) v = 1;
      dst[s * outs * nn + e] += o.weights[l] * v;
      if (outs > 1) dst[(s * outs + 1) * nn + e] += v;
      if (outs > 2) dst[(s * outs + 2) * nn + e] += o.weights2![l] * v;
    }
  });
}

export function accumulateAbsCpu(dst: Float32Array, src: ArrayLike<number>, weight: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] += weight * Math.abs(src[i]);
}

export function signCodesCpu(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x, (v) => (v > 0 ? 1 : -1));
}

/** CPU reference of unstackGroups: dst[off_g + r F + f] = src[(r G + g) F + f] for each group with off_g >= 0. */
export function unstackGroupsCpu(dst: Float32Array | Float64Array, src: ArrayLike<number>, o: UnstackGroupsOptions): void {
  const { rows, groups, offsets } = o;
  const F = src.length / (rows * groups);
  offsets.forEach((off, g) => {
    if (off < 0) return;
    for (let r = 0; r < rows; r++) for (let f = 0; f < F; f++) dst[off + r * F + f] = src[(r * groups + g) * F + f];
  });
}
