/**
 * The search split of a training set: weights train on the first images, the architecture (α,
 * fitness) learns on the next ones, so neither sees the other's data. Its default size follows the
 * images there are, so a small set (the test fixture, a user's folder) runs on defaults.
 */
import { type Cifar10, loadCifar10 } from './cifar10.js';
import { firstImages, type ImageDataset, pickImages } from './image-dataset.js';

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
 * Which images of a training set each part of a search takes (dataset indices, ascending), and the
 * classes a part lacks.
 */
export interface SearchSplitPlan {
  train: number[];
  val: number[];
  /** Classes without an image in the weights' part, and in the architecture's part. */
  noTrain: number[];
  noVal: number[];
}

/**
 * The search split, stratified: the first `train + val` images (a folder lists classes interleaved,
 * so that pool is as balanced as the classes allow) are cut per class, the architecture's part taking
 * the last images of each class in proportion to the class's share of the pool, at least one of a
 * class with two or more (while `val` allows), and never a class's only one when another class can
 * give one. Data whose pool is balanced class by class in interleaved order (the bundled CIFAR-10
 * file, a folder with as many images per class) is cut as before stratification: the first `train`
 * images, then the next `val`. A class of one image is on one side only (in `noTrain` or `noVal`).
 */
export function stratifiedSplit(labels: ArrayLike<number>, classes: number, sizes: SplitSizes): SearchSplitPlan {
  const { train: T, val: V } = sizes;
  const U = T + V;
  if (!(Number.isInteger(T) && Number.isInteger(V) && T >= 0 && V >= 0 && U <= labels.length))
    throw new RangeError(`search split: ${T} + ${V} images requested of ${labels.length}`);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < U; i++) byClass[labels[i]].push(i);
  const u = byClass.map((l) => l.length);
  const last = byClass.map((l) => (l.length ? l[l.length - 1] : -1));
  const target = u.map((n) => (U > 0 ? (V * n) / U : 0));
  // Each class of two or more images on both sides, as far as `val` and `train` have room.
  const several = u.filter((n) => n >= 2).length;
  const lo = u.map((n) => (n >= 2 && several <= V ? 1 : 0));
  const hi = u.map((n) => (n >= 2 && several <= T ? n - 1 : n));
  const v = target.map((t, c) => Math.min(hi[c], Math.max(lo[c], Math.floor(t))));
  let total = v.reduce((a, b) => a + b, 0);
  const all = [...Array(classes).keys()];
  // Largest remainder first; a tie goes to the class whose pool ends later (the tail of the pool,
  // as the unstratified split took it). A pass that gives nothing under `hi` then fills up to `u`.
  const adding = [...all].sort((a, b) => target[b] - v[b] - (target[a] - v[a]) || last[b] - last[a]);
  for (const cap of [hi, u])
    while (total < V) {
      const before = total;
      for (const c of adding)
        if (total < V && v[c] < cap[c]) {
          v[c]++;
          total++;
        }
      if (total === before) break;
    }
  // Minimums that overshoot `val`: taken back where the share is most exceeded (earliest pool end).
  const removing = [...all].sort((a, b) => target[a] - v[a] - (target[b] - v[b]) || last[a] - last[b]);
  for (const floor of [lo, u.map(() => 0)])
    while (total > V) {
      const before = total;
      for (const c of removing)
        if (total > V && v[c] > floor[c]) {
          v[c]--;
          total--;
        }
      if (total === before) break;
    }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  byClass.forEach((l, c) => {
    trainIdx.push(...l.slice(0, l.length - v[c]));
    valIdx.push(...l.slice(l.length - v[c]));
  });
  const asc = (a: number, b: number) => a - b;
  return {
    train: trainIdx.sort(asc),
    val: valIdx.sort(asc),
    noTrain: all.filter((c) => u[c] - v[c] === 0),
    noVal: all.filter((c) => v[c] === 0),
  };
}

/**
 * The search split's version, recorded beside a run's data fingerprint ('--dataset images') under
 * SPLIT_KEY: checkpoints from before 2026-12-06 record none and were cut unstratified.
 */
export const SPLIT_KEY = '--dataset split';
export const SEARCH_SPLIT_VERSION = 'stratified per class';

/**
 * Why a saved run's data fingerprint differs from this run's when the split it was cut by is not
 * this one (the images may be the same: unbalanced data is cut otherwise now), or null. Balanced
 * data is cut as before, so its fingerprint agrees and such a run still resumes.
 */
export function formerSplitReason(
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
): string | null {
  const hash = (v: unknown) => (typeof v === 'string' ? v.split(' ')[0] : v);
  const key = '--dataset images';
  if (!(SPLIT_KEY in now) || saved[SPLIT_KEY] === now[SPLIT_KEY]) return null;
  if (!(key in saved) || hash(saved[key]) === hash(now[key])) return null;
  const was =
    typeof saved[SPLIT_KEY] === 'string' ? `a search split '${saved[SPLIT_KEY]}'` : 'the former, unstratified search split';
  return `it was written on ${was}, and the search split became ${String(now[SPLIT_KEY])} on 2026-12-06 (other images on each side of unbalanced data): such a run cannot resume`;
}

/**
 * The images a search reads, as one dataset: its first `sizes.train` images are the weights' part,
 * the next `sizes.val` the architecture's (stratifiedSplit). Where the stratified split is the
 * unstratified one (balanced data), that is the first images of `ds` themselves.
 */
export function searchSplitImages(ds: ImageDataset, sizes: SplitSizes): { images: ImageDataset; plan: SearchSplitPlan } {
  const plan = stratifiedSplit(ds.labels, ds.classes, sizes);
  const order = [...plan.train, ...plan.val];
  const images = order.every((x, i) => x === i) ? firstImages(ds, order.length) : pickImages(ds, order);
  return { images, plan };
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
