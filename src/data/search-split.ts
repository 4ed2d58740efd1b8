/**
 * The search split of a training set: weights train on the first images, the architecture (α,
 * fitness) learns on the next ones, so neither sees the other's data. Its default size follows the
 * images there are, so a small set (the test fixture, a user's folder) runs on defaults.
 */
import { type Cifar10, loadCifar10 } from './cifar10.js';

export interface SearchData {
  train: Cifar10;
  val: Cifar10;
}

export interface SplitSizes {
  train: number;
  val: number;
}

/** The split of a set of 5000 images or more (the historical default, on the 5000-image subset). */
export const SEARCH_SPLIT_DEFAULT: Readonly<SplitSizes> = { train: 4000, val: 1000 };

/**
 * The default split of `count` training images: 4000 + 1000 when there are at least 5000, else
 * 4/5 and 1/5 of them (train at least 1; val is 0 only for a single image, which the caller refuses).
 */
export function defaultSplitSizes(count: number): SplitSizes {
  const { train, val } = SEARCH_SPLIT_DEFAULT;
  if (count >= train + val) return { train, val };
  const t = Math.max(1, Math.floor((count * train) / (train + val)));
  return { train: t, val: Math.max(0, count - t) };
}

/**
 * First `trainCount` images for weights, the next `valCount` for α (the file interleaves classes, so
 * both are balanced); sizes not given follow defaultSplitSizes.
 */
export function cifarSearchSplit(trainCount?: number, valCount?: number): SearchData {
  const all = loadCifar10('train');
  const d = defaultSplitSizes(all.count);
  trainCount ??= d.train;
  valCount ??= d.val;
  if (trainCount + valCount > all.count) {
    throw new RangeError(`search split: ${trainCount} + ${valCount} images requested, the training file has ${all.count}`);
  }
  return { train: sliceImages(all, 0, trainCount), val: sliceImages(all, trainCount, trainCount + valCount) };
}

/** Images [from, to) as a dataset view (no copy). */
export function sliceImages(ds: Cifar10, from: number, to: number): Cifar10 {
  const f = ds.images.length / ds.count;
  return { images: ds.images.subarray(from * f, to * f), labels: ds.labels.subarray(from, to), count: to - from };
}
