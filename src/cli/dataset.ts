/** --dataset for the commands: opens the split, prints the fallback note, draws the proxy batch or search split. */
import type { Cifar10 } from '../data/cifar10.js';
import { datasetClassCount, openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { type ImageDataset, materialize, proxyMinibatch } from '../data/image-dataset.js';
import { defaultSplitSizes, type SearchData, type SplitSizes } from '../data/search-split.js';
import type { ProxyBatch } from '../proxies/index.js';
import { UsageError } from './errors.js';
import type { RunContext } from './run.js';

/** The image side every current path reads (NB201 and the CIFAR layouts; the ImageNet layout upscales). */
export const RUN_RESOLUTION = 32;

/**
 * One split of --dataset. The fallback to the bundled subset is said in one line when --dataset
 * cifar10 was given; the default run stays as it always was (the subset, silently).
 */
export async function openRunDataset(
  value: string,
  split: 'train' | 'test',
  ctx: Pick<RunContext, 'io' | 'given'>,
): Promise<ImageDataset> {
  const { ds, note } = await openDataset(parseDatasetSpec(value), split, { size: RUN_RESOLUTION });
  if (note && ctx.given.has('dataset')) ctx.io.err(`${note}\n`);
  return ds;
}

/** The class count of --dataset (for the network's head), without decoding images. */
export function runDatasetClasses(value: string): number {
  return datasetClassCount(parseDatasetSpec(value));
}

/** The proxies' minibatch from the training split (decoded before any device work). */
export async function runProxyBatch(ds: ImageDataset, batchSize: number, seed: number): Promise<ProxyBatch> {
  if (batchSize > ds.count)
    throw new UsageError(`--batch ${batchSize} is more than the ${ds.count} training images of ${ds.name}`);
  const b = await proxyMinibatch(ds, batchSize, seed, RUN_RESOLUTION);
  return { x: b.x, y: b.y, n: b.n };
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

/** Weights train on the first `sizes.train` images, α / fitness on the next `sizes.val` (folders interleave classes, so both are balanced). */
export async function runSearchSplit(ds: ImageDataset, sizes: SplitSizes): Promise<SearchData> {
  const { train, val } = sizes;
  if (train + val > ds.count)
    throw new RangeError(`search split ${train} + ${val} is more than the ${ds.count} images of ${ds.name}`);
  return {
    train: await materialize(ds, 0, train, RUN_RESOLUTION),
    val: await materialize(ds, train, train + val, RUN_RESOLUTION),
  };
}

/** The first `n` test images (all when fewer), in memory. */
export async function runTestSet(ds: ImageDataset, n: number): Promise<Cifar10> {
  return materialize(ds, 0, Math.min(n, ds.count), RUN_RESOLUTION);
}
