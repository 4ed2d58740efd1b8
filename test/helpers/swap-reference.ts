/**
 * SWAP in plain TypeScript, as the authors define it: every neuron's pattern is its N bits
 * [x_i > 0] over the samples, and the score the number of distinct patterns over all neurons of
 * all ReLUs. Also random records that stress it (zero columns, repeated columns, repeated records).
 */
import type { Backend, Tensor } from '../../src/backend/index.js';
import type { CorrRecord } from '../../src/proxies/correlation-proxies.js';
import { Rng } from '../../src/util/rng.js';

/** The distinct patterns of host matrices [n, d] (row-major: sample i, feature j at i*d + j). */
export function swapReference(mats: ReadonlyArray<{ x: ArrayLike<number>; d: number }>, n: number): number {
  const seen = new Set<string>();
  for (const { x, d } of mats) {
    for (let j = 0; j < d; j++) {
      let s = '';
      for (let i = 0; i < n; i++) s += x[i * d + j] > 0 ? '1' : '0';
      seen.add(s);
    }
  }
  return seen.size;
}

/**
 * Host matrices of feature counts `ds` for batch n: normals with about a third zeroed (ReLU-like
 * ties at 0), a few all-zero and all-positive columns, and columns copied from others (repeats
 * within and across records), so that the count is well below the neuron count.
 */
export function swapTestMatrices(n: number, ds: readonly number[], seed: number): Array<{ x: Float32Array; d: number }> {
  const rng = new Rng(seed);
  const mats = ds.map((d) => {
    const x = rng.normals(n * d);
    for (let e = 0; e < x.length; e++) if (rng.int(3) === 0) x[e] = 0;
    return { x, d };
  });
  for (const { x, d } of mats) {
    if (d < 3) continue;
    for (let i = 0; i < n; i++) {
      x[i * d] = 0; // an all-zero column
      x[i * d + 1] = Math.abs(x[i * d + 1]) + 1; // an all-positive one
    }
    // Columns of this record copied from the first record (sign patterns repeat across ReLUs).
    const src = mats[0];
    for (let c = 2; c < Math.min(d, 2 + src.d); c += 2) {
      for (let i = 0; i < n; i++) x[i * d + c] = src.x[i * src.d + (c % src.d)] * 0.5;
    }
  }
  return mats;
}

/** Each matrix uploaded as a record of its own ([n, d] as [n, d, 1, 1]); the caller disposes the tensors. */
export function swapRecords(be: Backend, mats: ReadonlyArray<{ x: Float32Array; d: number }>, n: number): CorrRecord[] {
  return mats.map(({ x, d }, k) => ({ name: `r${k}`, block: 0, module: k, input: be.upload(x, [n, d, 1, 1]) as Tensor }));
}
