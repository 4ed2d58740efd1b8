/** --dataset for the commands: opens the split, prints the fallback note, draws the proxy batch or search split. */
import { type SearchImages, type SplitImages, streamedImages } from '../data/batch-stream.js';
import { datasetClassCount, openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { type ImageDataset, materialize, proxyMinibatch } from '../data/image-dataset.js';
import { folderSummary } from '../data/image-folder.js';
import { defaultSplitSizes, searchSplitImages, type SearchSplitPlan, type SplitSizes } from '../data/search-split.js';
import type { ProxyBatch } from '../proxies/index.js';
import { UsageError } from './errors.js';
import type { Io, RunContext } from './run.js';

/** The image side of NB201 and the CIFAR layouts; the ImageNet layout asks for 224. */
export const RUN_RESOLUTION = 32;

/**
 * Whether a split is streamed from disk at `size` rather than held in memory: an image folder at a
 * size above 32 (the ImageNet layout). CIFAR stays in memory at 32 (the 224 layout upscales it).
 */
function streams(ds: ImageDataset, size: number): boolean {
  return ds.nativeSize === null && size > RUN_RESOLUTION;
}

/** What a folder's training split holds (folderSummary), said once its command starts decoding. */
const pendingSummary = new WeakMap<ImageDataset, () => void>();

/** Says the pending folder summary of `ds` (once): after the command's checks, before its long work. */
function sayDataset(ds: ImageDataset): void {
  pendingSummary.get(ds)?.();
  pendingSummary.delete(ds);
}

/**
 * One split of --dataset. The fallback to the CIFAR-10 subset is said in one line when --dataset
 * cifar10 was given; the default run stays as it always was (the subset, silently). A folder's
 * training split says what the folder holds (folderSummary, on stderr: stdout may be JSON) when the
 * command starts decoding it (runProxyBatch, runSearchSplit), so a refusal stays one line; not
 * with --quiet.
 */
export async function openRunDataset(
  value: string,
  split: 'train' | 'test',
  ctx: Pick<RunContext, 'io' | 'given'>,
  /** The run's resolution (a folder's normalisation is measured at it). */
  size = RUN_RESOLUTION,
): Promise<ImageDataset> {
  const spec = parseDatasetSpec(value);
  const { ds, note } = await openDataset(spec, split, { size });
  if (note && ctx.given.has('dataset')) ctx.io.err(`${note}\n`);
  if (spec.kind === 'folder' && split === 'train' && !ctx.given.has('quiet'))
    pendingSummary.set(ds, () => ctx.io.err(`${folderSummary(spec.path, ds)}\n`));
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
  sayDataset(ds);
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
 * The images a search reads, weights' part first (searchSplitImages: stratified by class): what
 * the run's data fingerprint covers.
 */
export function runSearchImages(ds: ImageDataset, sizes: SplitSizes): ImageDataset {
  return searchSplitImages(ds, sizes).images;
}

/** The note on classes a search split's part lacks (classes with one image), or null. */
export function splitNote(
  ds: Pick<ImageDataset, 'name' | 'classNames'>,
  sizes: SplitSizes,
  plan: SearchSplitPlan,
): string | null {
  const { noTrain, noVal } = plan;
  if (!noTrain.length && !noVal.length) return null;
  const names = (cs: number[]) =>
    `${cs
      .slice(0, 3)
      .map((c) => ds.classNames[c] ?? c)
      .join(', ')}${cs.length > 3 ? ', ...' : ''}`;
  const part = (cs: number[], flag: string) =>
    cs.length ? [`${cs.length} ${cs.length === 1 ? 'has' : 'have'} no ${flag} image (${names(cs)})`] : [];
  const classes = ds.classNames.length;
  return (
    `note: search split of ${ds.name} (--train ${sizes.train}, --val ${sizes.val}): of its ${classes} classes ` +
    `${[...part(noVal, '--val'), ...part(noTrain, '--train')].join(' and ')}; ` +
    `a class is on both sides only with 2 images or more among the first ${sizes.train + sizes.val}`
  );
}

/**
 * Weights train on `sizes.train` images, α / fitness on `sizes.val` others, each class split in
 * proportion (searchSplitImages; on balanced data the first `train` images, then the next `val`).
 * A class missing from one part is said in one note line on `io`. An image folder at a size above 32
 * is streamed (decoded a batch ahead of each step); everything else is decoded into memory at 32 here.
 */
export async function runSearchSplit(
  ds: ImageDataset,
  sizes: SplitSizes,
  size = RUN_RESOLUTION,
  io?: Pick<Io, 'err'>,
): Promise<SearchImages> {
  const { train, val } = sizes;
  if (train + val > ds.count)
    throw new RangeError(`search split ${train} + ${val} is more than the ${ds.count} images of ${ds.name}`);
  sayDataset(ds);
  const { images, plan } = searchSplitImages(ds, sizes);
  const note = splitNote(ds, sizes, plan);
  if (note) io?.err(`${note}\n`);
  if (streams(ds, size)) {
    // One image decoded now: a folder that cannot be read at this size fails before the device starts.
    await images.images([0], size);
    return { train: streamedImages(images, 0, train, size), val: streamedImages(images, train, train + val, size) };
  }
  return {
    train: await materialize(images, 0, train, RUN_RESOLUTION),
    val: await materialize(images, train, train + val, RUN_RESOLUTION),
  };
}

/** The first `n` test images (all when fewer): in memory, or streamed like runSearchSplit's. */
export async function runTestSet(ds: ImageDataset, n: number, size = RUN_RESOLUTION): Promise<SplitImages> {
  const count = Math.min(n, ds.count);
  if (streams(ds, size)) return streamedImages(ds, 0, count, size);
  return materialize(ds, 0, count, RUN_RESOLUTION);
}
