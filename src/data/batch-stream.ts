/** Deterministic, resumable minibatches: batch k of a stream depends only on its seed and k. */
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import { type Cifar10, batchOf } from './cifar10.js';

/** Batches drawn epoch by epoch from a seeded permutation; batchAt(k) is pure in (seed, k). */
export class BatchStream {
  private permCache = new Map<number, number[]>();
  constructor(
    readonly ds: Cifar10,
    readonly batch: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(batch) || batch < 1 || batch > ds.count) {
      throw new RangeError(`batch size must be an integer in [1, ${ds.count}], got ${batch}`);
    }
  }

  private perm(epoch: number): number[] {
    let p = this.permCache.get(epoch);
    if (!p) {
      p = new Rng(mixSeed(this.seed, epoch)).shuffle([...Array(this.ds.count).keys()]);
      this.permCache.clear();
      this.permCache.set(epoch, p);
    }
    return p;
  }

  indicesAt(k: number): number[] {
    const out: number[] = [];
    let pos = k * this.batch;
    while (out.length < this.batch) {
      const epoch = Math.floor(pos / this.ds.count);
      out.push(this.perm(epoch)[pos % this.ds.count]);
      pos++;
    }
    return out;
  }

  batchAt(k: number): { x: Float32Array; y: Float32Array; n: number } {
    return { ...batchOf(this.ds, this.indicesAt(k)), n: this.batch };
  }
}

/** Nearest-neighbour resize of an NCHW batch (to feed 32×32 images to the 224 ImageNet layout in smoke runs). */
export function resizeNearest(x: Float32Array, n: number, c: number, from: number, to: number): Float32Array {
  if (from === to) return x;
  const out = new Float32Array(n * c * to * to);
  for (let i = 0; i < n * c; i++) {
    for (let r = 0; r < to; r++) {
      const sr = Math.floor((r * from) / to);
      for (let q = 0; q < to; q++) out[(i * to + r) * to + q] = x[(i * from + sr) * from + Math.floor((q * from) / to)];
    }
  }
  return out;
}
