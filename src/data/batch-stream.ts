/**
 * Deterministic, resumable minibatches: batch k of a stream depends only on its seed and k. A split
 * is either in memory (a Cifar10 set: CIFAR at 32x32) or streamed from an ImageDataset (an image
 * folder at the layout's resolution, 224 for ImageNet): the streamed one decodes batch k+1 while
 * batch k is used and holds no more than those two, never the whole folder.
 */
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import { type Cifar10, batchOf } from './cifar10.js';
import { type ImageDataset, Prefetcher } from './image-dataset.js';
import { checkClassCount, checkLabels, ClassCountError } from './labels.js';

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

/** Images [from, from + count) of a dataset, decoded at `size` batch by batch (never all at once). */
export interface StreamedImages {
  readonly ds: ImageDataset;
  readonly from: number;
  readonly count: number;
  readonly size: number;
}

/** A search split: in memory (CIFAR, 32x32) or streamed from an image folder at the layout's size. */
export type SplitImages = Cifar10 | StreamedImages;

/** The two splits of a search: weights train on `train`, the architecture learns on `val`. */
export interface SearchImages {
  train: SplitImages;
  val: SplitImages;
}

export function isStreamed(s: SplitImages): s is StreamedImages {
  return 'ds' in s;
}

/** The class count of a split's dataset (an in-memory set that names none: CIFAR-10's 10). */
export function splitClasses(s: SplitImages): number {
  return isStreamed(s) ? s.ds.classes : (s.classes ?? 10);
}

/**
 * Refuses a split the network's `classes` outputs do not fit, before any work: a dataset of another
 * class count, or a label outside [0, classes). `where` names the caller, `what` the split.
 */
export function checkSplitClasses(s: SplitImages, classes: number, where: string, what: string): void {
  const k = splitClasses(s);
  checkClassCount(k, `${where}: the ${what} split's classes`);
  if (k !== classes)
    throw new ClassCountError(
      `${where}: the layout classifies ${classes} classes but the ${what} split's dataset has ${k}; give layout: { ...layout, classes: ${k} }`,
    );
  const labels = isStreamed(s) ? s.ds.labels.subarray(s.from, s.from + s.count) : s.labels.subarray(0, s.count);
  checkLabels(labels, k, `${where} (${what} split)`, `the dataset has ${k} classes`);
}

/** Image side and normalisation of a split (what augmentation pads with). */
export interface SplitGeometry {
  size: number;
  mean?: readonly number[];
  std?: readonly number[];
}

export interface LabelledImages {
  x: Float32Array;
  y: Float32Array;
  n: number;
}

/** Minibatches of a split: batch k is pure in (seed, k), whichever way the images are held. */
export interface BatchSource {
  readonly batch: number;
  readonly count: number;
  readonly geometry: SplitGeometry;
  indicesAt(k: number): number[];
  batchAt(k: number): Promise<LabelledImages>;
}

/** An in-memory split's batches (the same draws as BatchStream). */
class MemoryBatches implements BatchSource {
  private readonly stream: BatchStream;
  readonly geometry: SplitGeometry;
  constructor(ds: Cifar10, batch: number, seed: number) {
    this.stream = new BatchStream(ds, batch, seed);
    this.geometry = { size: ds.size ?? 32, mean: ds.mean, std: ds.std };
  }
  get batch(): number {
    return this.stream.batch;
  }
  get count(): number {
    return this.stream.ds.count;
  }
  indicesAt(k: number): number[] {
    return this.stream.indicesAt(k);
  }
  batchAt(k: number): Promise<LabelledImages> {
    return Promise.resolve(this.stream.batchAt(k));
  }
}

/**
 * A streamed split's batches: the same seeded permutations as BatchStream over [0, count), decoded
 * through a Prefetcher (asking for batch k starts k+1), so decoding runs beside the step using k.
 */
class StreamedBatches implements BatchSource {
  /** Only the count matters to the permutation: a stand-in set without pixels. */
  private readonly order: BatchStream;
  private readonly pre: Prefetcher<Float32Array>;
  readonly geometry: SplitGeometry;
  constructor(
    private readonly s: StreamedImages,
    batch: number,
    seed: number,
  ) {
    this.order = new BatchStream({ images: new Float32Array(0), labels: new Uint16Array(0), count: s.count }, batch, seed);
    this.pre = new Prefetcher((k) => s.ds.images(this.indicesAt(k), s.size));
    this.geometry = { size: s.size, mean: s.ds.mean, std: s.ds.std };
  }
  get batch(): number {
    return this.order.batch;
  }
  get count(): number {
    return this.s.count;
  }
  /** Dataset indices of batch k. */
  indicesAt(k: number): number[] {
    return this.order.indicesAt(k).map((i) => this.s.from + i);
  }
  async batchAt(k: number): Promise<LabelledImages> {
    const idx = this.indicesAt(k);
    const x = await this.pre.get(k);
    return { x, y: Float32Array.from(idx, (i) => this.s.ds.labels[i]), n: idx.length };
  }
  /** Batches decoded or decoding (for tests: at most two). */
  get held(): number {
    return this.pre.inFlight.length;
  }
}

/** Batches of `batch` images from a split, in the order (seed, k) gives. */
export function batchSource(split: SplitImages, batch: number, seed: number): BatchSource {
  return isStreamed(split) ? new StreamedBatches(split, batch, seed) : new MemoryBatches(split, batch, seed);
}

/**
 * A streamed split of `ds`: images [from, to) at `size`. Throws a RangeError when the range is not
 * within the dataset.
 */
export function streamedImages(ds: ImageDataset, from: number, to: number, size: number): StreamedImages {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= ds.count)) {
    throw new RangeError(`${ds.name} (${ds.split}): images [${from}, ${to}) requested, it has ${ds.count}`);
  }
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  return { ds, from, count: to - from, size };
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
