/** --dataset for the commands: opens the split, prints the fallback note, draws the proxy batch or search split. */
import type { Cifar10 } from '../data/cifar10.js';
import { datasetClassCount, openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { type ImageDataset, materialize, proxyMinibatch } from '../data/image-dataset.js';
import type { SearchData } from '../data/search-split.js';
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

/** Weights train on the first `trainN` images, α / fitness on the next `valN` (folders interleave classes, so both are balanced). */
export async function runSearchSplit(
  ds: ImageDataset,
  trainN: number,
  valN: number,
  flags = '--train + --val',
): Promise<SearchData> {
  if (trainN + valN > ds.count)
    throw new UsageError(`${flags}: ${trainN} + ${valN} images requested, ${ds.name} has ${ds.count} training images`);
  return {
    train: await materialize(ds, 0, trainN, RUN_RESOLUTION),
    val: await materialize(ds, trainN, trainN + valN, RUN_RESOLUTION),
  };
}

/** The first `n` test images (all when fewer), in memory. */
export async function runTestSet(ds: ImageDataset, n: number): Promise<Cifar10> {
  return materialize(ds, 0, Math.min(n, ds.count), RUN_RESOLUTION);
}
