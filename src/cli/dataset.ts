/** --dataset for the commands: opens the split, prints the fallback note, draws the proxy batch or search split. */
import { type SearchImages, type SplitImages, streamedImages } from '../data/batch-stream.js';
import { datasetClassCount, openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { type ImageDataset, materialize, proxyMinibatch } from '../data/image-dataset.js';
import { defaultSplitSizes, type SplitSizes } from '../data/search-split.js';
import type { ProxyBatch } from '../proxies/index.js';
import { UsageError } from './errors.js';
import type { RunContext } from './run.js';

/** The image side of NB201 and the CIFAR layouts; the ImageNet layout asks for 224. */
export const RUN_RESOLUTION = 32;

/**
 * Whether a split is streamed from disk at `size` rather than held in memory: an image folder at a
 * size above 32 (the ImageNet layout). CIFAR stays in memory at 32 (the 224 layout upscales it).
 */
function streams(ds: ImageDataset, size: number): boolean {
  return ds.nativeSize === null && size > RUN_RESOLUTION;
}

/**
 * One split of --dataset. The fallback to the bundled subset is said in one line when --dataset
 * cifar10 was given; the default run stays as it always was (the subset, silently).
 */
export async function openRunDataset(
  value: string,
  split: 'train' | 'test',
  ctx: Pick<RunContext, 'io' | 'given'>,
  /** The run's resolution (a folder's normalisation is measured at it). */
  size = RUN_RESOLUTION,
): Promise<ImageDataset> {
  const { ds, note } = await openDataset(parseDatasetSpec(value), split, { size });
  if (note && ctx.given.has('dataset')) ctx.io.err(`${note}\n`);
  return ds;
}

/** The class count of --dataset (for the network's head), without decoding images. */
export function runDatasetClasses(value: string): number {
  return datasetClassCount(parseDatasetSpec(value));
}

/** The proxies' minibatch from the training split at `size` (decoded before any device work). */
export async function runProxyBatch(
  ds: ImageDataset,
  batchSize: number,
  seed: number,
  size = RUN_RESOLUTION,
): Promise<ProxyBatch> {
  if (batchSize > ds.count)
    throw new UsageError(`--batch ${batchSize} is more than the ${ds.count} training images of ${ds.name}`);
  const b = await proxyMinibatch(ds, batchSize, seed, size);
  const { x, y, n, classes } = b;
  return size === RUN_RESOLUTION ? { x, y, n, classes } : { x, y, n, size, classes };
}

/**
 * --train / --val against the training images of --dataset: a flag not given follows the dataset
 * (defaultSplitSizes: 4000 + 1000, or 4/5 + 1/5 of a smaller set); a split that asks for more
 * images than there are is refused in one line naming the flags, their values and the count.
 */
export function runSplitSizes(ds: Pick<ImageDataset, 'name' | 'count'>, given: Partial<SplitSizes> = {}): SplitSizes {
  const d = defaultSplitSizes(ds.count);
  const train = given.train ?? d.train;
  const val = given.val ?? d.val;
  if (ds.count < 2)
    throw new UsageError(
      `${ds.name} has ${ds.count} training image${ds.count === 1 ? '' : 's'}: a search needs at least 2 (one for --train, one for --val)`,
    );
  if (train + val > ds.count) {
    const part = (flag: 'train' | 'val', n: number) => `--${flag} ${n}${given[flag] === undefined ? ' (default)' : ''}`;
    throw new UsageError(
      `${part('train', train)} + ${part('val', val)} = ${train + val} images, more than the ${ds.count} training images of ${ds.name}`,
    );
  }
  return { train, val };
}

/**
 * Weights train on the first `sizes.train` images, α / fitness on the next `sizes.val` (folders
 * interleave classes, so both are balanced). An image folder at a size above 32 is streamed (decoded
 * a batch ahead of each step); everything else is decoded into memory at 32 here.
 */
export async function runSearchSplit(ds: ImageDataset, sizes: SplitSizes, size = RUN_RESOLUTION): Promise<SearchImages> {
  const { train, val } = sizes;
  if (train + val > ds.count)
    throw new RangeError(`search split ${train} + ${val} is more than the ${ds.count} images of ${ds.name}`);
  if (streams(ds, size)) {
    // One image decoded now: a folder that cannot be read at this size fails before the device starts.
    await ds.images([0], size);
    return { train: streamedImages(ds, 0, train, size), val: streamedImages(ds, train, train + val, size) };
  }
  return {
    train: await materialize(ds, 0, train, RUN_RESOLUTION),
    val: await materialize(ds, train, train + val, RUN_RESOLUTION),
  };
}

/** The first `n` test images (all when fewer): in memory, or streamed like runSearchSplit's. */
export async function runTestSet(ds: ImageDataset, n: number, size = RUN_RESOLUTION): Promise<SplitImages> {
  const count = Math.min(n, ds.count);
  if (streams(ds, size)) return streamedImages(ds, 0, count, size);
  return materialize(ds, 0, count, RUN_RESOLUTION);
}
