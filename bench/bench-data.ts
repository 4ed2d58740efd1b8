/**
 * The images of the bench scripts that score or train networks (cpu-vs-torch, zeroshot.bench,
 * autospace-evidence, proxyless-evidence): `--dataset` as wgnas's commands take it (default cifar10:
 * the official set `wgnas data fetch cifar10` gets, else the bundled 5000-image subset of a
 * development checkout), drawn the way `wgnas score` draws them. On the subset the proxy batch is the
 * same as proxyBatch's (the same seeded permutation). A dataset that is not there, or a bad
 * --dataset, ends the script in one line (exit 2) naming it and how to get it, before any work.
 */
import { datasetClassCount, datasetSpecProblem, openDataset, parseDatasetSpec } from '../src/data/dataset-spec.js';
import { type ImageDataset, materialize, proxyMinibatch } from '../src/data/image-dataset.js';
import type { Cifar10 } from '../src/data/cifar10.js';
import type { SearchData } from '../src/data/search-split.js';
import type { ProxyBatch } from '../src/proxies/index.js';
import { UserFacingError } from '../src/util/errors.js';

export const DEFAULT_BENCH_DATASET = 'cifar10';

export interface BenchData {
  /** The --dataset value, and what opened (e.g. 'cifar10 (50000 training images)'). */
  spec: string;
  train: ImageDataset;
  /** The fallback to the bundled subset, when it was taken. */
  note?: string;
}

/** Opens --dataset's training split; `script` prefixes the one-line refusal. */
export async function openBenchData(value: string | undefined, script: string): Promise<BenchData> {
  const spec = value ?? DEFAULT_BENCH_DATASET;
  return orExit(script, async () => {
    const problem = datasetSpecProblem(spec);
    if (problem) throw new UserFacingError(`--dataset ${problem}`);
    const parsed = parseDatasetSpec(spec);
    // The networks of these scripts have a 10-class head (CIFAR-10's).
    const classes = datasetClassCount(parsed);
    if (classes !== 10) throw new UserFacingError(`--dataset ${spec} has ${classes} classes; these networks classify 10`);
    const { ds, note } = await openDataset(parsed, 'train');
    return { spec, train: ds, ...(note ? { note } : {}) };
  });
}

/** The proxies' minibatch of `n` images (seeded), as `wgnas score --batch n --seed seed` draws it. */
export async function benchProxyBatch(d: BenchData, n: number, seed: number, script: string): Promise<ProxyBatch> {
  return orExit(script, async () => {
    if (n > d.train.count)
      throw new UserFacingError(`a batch of ${n} is more than the ${d.train.count} training images of ${d.spec}`);
    const b = await proxyMinibatch(d.train, n, seed);
    return { x: b.x, y: b.y, n: b.n };
  });
}

/** The search split (the first `train` training images for weights, the next `val` for α / fitness), in memory. */
export async function benchSearchSplit(d: BenchData, train: number, val: number, script: string): Promise<SearchData> {
  return orExit(script, async () => {
    if (train + val > d.train.count)
      throw new UserFacingError(
        `a search split of ${train} + ${val} images is more than the ${d.train.count} training images of ${d.spec}`,
      );
    return { train: await materialize(d.train, 0, train, 32), val: await materialize(d.train, train, train + val, 32) };
  });
}

/** The first `n` test images of --dataset (all when fewer), in memory. */
export async function benchTestSet(d: BenchData, n: number, script: string): Promise<Cifar10> {
  return orExit(script, async () => {
    const { ds } = await openDataset(parseDatasetSpec(d.spec), 'test');
    return materialize(ds, 0, Math.min(n, ds.count), 32);
  });
}

/** Runs `f`; a user-facing failure (missing data, bad value) is one line on stderr and exit 2. */
async function orExit<T>(script: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof UserFacingError || e instanceof RangeError)) throw e;
    process.stderr.write(`${script}: ${e.message.split('\n')[0]}\n`);
    process.exit(2);
  }
}
