/**
 * Data for the search: a train/validation split of the shared CIFAR-10 training file and
 * deterministic, resumable batch streams (batch k of a stream depends only on seed and k).
 */
import { type Cifar10, batchOf, loadCifar10 } from '../data/cifar10.js';
import { Rng } from '../util/rng.js';

export interface SearchData {
  train: Cifar10;
  val: Cifar10;
}

/** First `trainCount` images for weights, the next `valCount` for α (the file interleaves classes, so both are balanced). */
export function cifarSearchSplit(trainCount = 4000, valCount = 1000): SearchData {
  const all = loadCifar10('train');
  if (trainCount + valCount > all.count) {
    throw new RangeError(`search split: ${trainCount} + ${valCount} images requested, the training file has ${all.count}`);
  }
  return { train: slice(all, 0, trainCount), val: slice(all, trainCount, trainCount + valCount) };
}

export function slice(ds: Cifar10, from: number, to: number): Cifar10 {
  const f = ds.images.length / ds.count;
  return { images: ds.images.subarray(from * f, to * f), labels: ds.labels.subarray(from, to), count: to - from };
}

/** A 32-bit mix of integers, for per-step seeds (splitmix-style). */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0 || 1;
}

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
