/**
 * `wgnas train --val N`: N training images held out, class-balanced and seeded, so the best epoch is
 * chosen on images that neither train the weights nor are the test split the accuracy is reported on.
 */
import { balancedIndices } from '../data/balanced-sample.js';
import { pickImages, type ImageDataset } from '../data/image-dataset.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';

/**
 * The training split less `n` held-out images (floor(n/C) per class, the remainder from seeded
 * classes; pure in (seed)), both in the split's order.
 */
export function holdOut(ds: ImageDataset, n: number, seed: number): { train: ImageDataset; val: ImageDataset } {
  if (!Number.isInteger(n) || n < 1 || n >= ds.count) throw new RangeError(`${ds.name}: ${n} images held out of ${ds.count}`);
  const val = balancedIndices(ds.labels, ds.count, ds.classes, n, new Rng(mixSeed(seed, 13))).sort((a, b) => a - b);
  const held = new Set(val);
  const train = Array.from({ length: ds.count }, (_, i) => i).filter((i) => !held.has(i));
  return { train: pickImages(ds, train), val: pickImages(ds, val) };
}
