/**
 * The search split of the shared CIFAR-10 training file: weights train on the first images, the
 * architecture (α, fitness) learns on the next ones, so neither sees the other's data.
 */
import { type Cifar10, loadCifar10 } from './cifar10.js';

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
  return { train: sliceImages(all, 0, trainCount), val: sliceImages(all, trainCount, trainCount + valCount) };
}

/** Images [from, to) as a dataset view (no copy). */
export function sliceImages(ds: Cifar10, from: number, to: number): Cifar10 {
  const f = ds.images.length / ds.count;
  return { images: ds.images.subarray(from * f, to * f), labels: ds.labels.subarray(from, to), count: to - from };
}
