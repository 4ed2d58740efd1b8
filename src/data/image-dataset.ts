/**
 * What every image source (the CIFAR binaries, the bundled subset, an image folder) offers the
 * commands: labels known up front (for class-balanced batches) and images decoded on demand at the
 * run's resolution, normalised with the dataset's per-channel mean/std.
 */
import { Rng } from '../util/rng.js';
import { balancedIndices } from './balanced-sample.js';
import type { Cifar10 } from './cifar10.js';

export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export interface ImageDataset extends Normalisation {
  /** For messages: 'cifar10', 'cifar100', 'folder:/data/pets'. */
  readonly name: string;
  readonly split: 'train' | 'test';
  readonly classes: number;
  readonly classNames: readonly string[];
  readonly count: number;
  /** Class index of every image. */
  readonly labels: Uint16Array;
  /** The size the images come in (32 for CIFAR); folders are decoded to any size asked. */
  readonly nativeSize: number | null;
  /**
   * Balanced proxy minibatches (sampleBalanced). False only for the bundled subset, whose proxy batch
   * stays the historical seeded draw so scores match earlier runs.
   */
  readonly balanced: boolean;
  /** Images `indices`, normalised NCHW f32 at size x size. Rejects naming the file of a bad image. */
  images(indices: readonly number[], size: number): Promise<Float32Array>;
  /** Where image i comes from, for messages. */
  source(i: number): string;
}

export interface LabelledBatch {
  x: Float32Array;
  y: Float32Array;
  n: number;
  indices: number[];
  /** The dataset's class count (what a network's classifier scoring the batch needs). */
  classes: number;
}

/** Indices of each class, in dataset order. */
export function indicesByClass(labels: ArrayLike<number>, classes: number): number[][] {
  const by: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) by[labels[i]].push(i);
  return by;
}

/**
 * n distinct indices, class-balanced: floor(n/C) per class, the remainder from randomly chosen
 * distinct classes; a class that runs short is topped up from the others. Shuffled; pure in (seed).
 */
export function sampleBalanced(labels: ArrayLike<number>, classes: number, n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > labels.length)
    throw new RangeError(`batch size must be an integer in [1, ${labels.length}], got ${n}`);
  return balancedIndices(labels, labels.length, classes, n, new Rng(seed));
}

/** The historical proxy draw: the first n of a seeded permutation (kept for the bundled subset). */
export function sampleShuffled(count: number, n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > count)
    throw new RangeError(`batch size must be an integer in [1, ${count}], got ${n}`);
  return new Rng(seed).shuffle([...Array(count).keys()]).slice(0, n);
}

/** One seeded minibatch for the proxies, decoded at `size` (class-balanced unless the dataset says otherwise). */
export async function proxyMinibatch(ds: ImageDataset, n: number, seed: number, size = 32): Promise<LabelledBatch> {
  const indices = ds.balanced ? sampleBalanced(ds.labels, ds.classes, n, seed) : sampleShuffled(ds.count, n, seed);
  const x = await ds.images(indices, size);
  return { x, y: Float32Array.from(indices, (i) => ds.labels[i]), n, indices, classes: ds.classes };
}

/**
 * Decodes images [from, to) into an in-memory set (what the training loops index synchronously).
 * Chunks are decoded one ahead of the copy (Prefetcher), so a folder's decoding overlaps the copying.
 */
export async function materialize(ds: ImageDataset, from: number, to: number, size: number, chunk = 256): Promise<Cifar10> {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= ds.count)) {
    throw new RangeError(`${ds.name} (${ds.split}): images [${from}, ${to}) requested, it has ${ds.count}`);
  }
  const count = to - from;
  const per = 3 * size * size;
  const images = new Float32Array(count * per);
  const chunks = Math.ceil(count / chunk);
  const range = (k: number) => Array.from({ length: Math.min(chunk, count - k * chunk) }, (_, i) => from + k * chunk + i);
  const pre = new Prefetcher((k) => ds.images(range(k), size), chunks);
  for (let k = 0; k < chunks; k++) images.set(await pre.get(k), k * chunk * per);
  const labels = ds.labels.slice(from, to);
  return { images, labels, count, size, mean: ds.mean, std: ds.std, classes: ds.classes };
}

/**
 * Sequential access to an expensive, asynchronous sequence (decoded minibatches): asking for item k
 * starts item k+1 too, so the next one decodes (sharp works on its own threads) while k is used.
 */
export class Prefetcher<T> {
  private pending = new Map<number, Promise<T>>();
  constructor(
    private readonly load: (k: number) => Promise<T>,
    readonly length = Infinity,
  ) {}

  private start(k: number): Promise<T> {
    let p = this.pending.get(k);
    if (!p) {
      p = this.load(k);
      // A prefetched item that fails is reported when asked for, not as an unhandled rejection.
      p.catch(() => undefined);
      this.pending.set(k, p);
    }
    return p;
  }

  /** Item k; item k+1 starts loading now. Every other item is forgotten: at most two are held. */
  get(k: number): Promise<T> {
    const p = this.start(k);
    if (k + 1 < this.length) this.start(k + 1);
    for (const key of this.pending.keys()) if (key !== k && key !== k + 1) this.pending.delete(key);
    return p;
  }

  /** The items asked for or started and not yet forgotten (for tests). */
  get inFlight(): number[] {
    return [...this.pending.keys()];
  }
}

/**
 * `labels.length` images of `ds` as a dataset: its image i is image at(i) of `ds` (a prefix, or
 * picked images). `what` names them in the message for an index outside.
 */
function viewOf(ds: ImageDataset, labels: Uint16Array, at: (i: number) => number, what: string): ImageDataset {
  const n = labels.length;
  return Object.freeze({
    name: ds.name,
    split: ds.split,
    classes: ds.classes,
    classNames: ds.classNames,
    count: n,
    labels,
    nativeSize: ds.nativeSize,
    balanced: ds.balanced,
    mean: ds.mean,
    std: ds.std,
    images: (indices: readonly number[], size: number) => {
      const bad = indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < n));
      if (bad !== undefined) return Promise.reject(new RangeError(`${ds.name} (${ds.split}): image ${bad} outside ${what}`));
      return ds.images(indices.map(at), size);
    },
    source: (i: number) => ds.source(at(i)),
  });
}

/**
 * Images `indices` of `ds`, in that order, as a dataset (a stratified search split's two parts, one
 * after the other). Image i of the view is image indices[i] of `ds`.
 */
export function pickImages(ds: ImageDataset, indices: readonly number[]): ImageDataset {
  const bad = indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < ds.count));
  if (bad !== undefined) throw new RangeError(`${ds.name} (${ds.split}): image ${bad} is outside [0, ${ds.count})`);
  const picked = [...indices];
  return viewOf(
    ds,
    Uint16Array.from(picked, (i) => ds.labels[i]),
    (i) => picked[i],
    `the ${picked.length} picked`,
  );
}

/** The first `n` images of `ds` as a dataset (folders interleave classes, so a prefix stays balanced). */
export function firstImages(ds: ImageDataset, n: number): ImageDataset {
  if (!Number.isInteger(n) || n < 1 || n > ds.count)
    throw new RangeError(`${ds.name} (${ds.split}): ${n} images requested, it has ${ds.count}`);
  if (n === ds.count) return ds;
  return viewOf(ds, ds.labels.subarray(0, n), (i) => i, `the first ${n}`);
}
