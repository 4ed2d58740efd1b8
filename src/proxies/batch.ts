/** The fixed minibatch every zero-shot score is computed on. */
import { batchOf, loadCifar10 } from '../data/cifar10.js';
import type { ProxyBatch } from './index.js';
import { Rng } from '../util/rng.js';

/**
 * What the proxies' networks see: 'data' the minibatch's images; 'gaussian' N(0, 1) images of the
 * same shape (the labels stay the minibatch's), the inputs AZ-NAS's published NAS-Bench-201 figure
 * was measured on.
 */
export const PROXY_INPUTS = ['data', 'gaussian'] as const;
export type ProxyInputs = (typeof PROXY_INPUTS)[number];

/** The batch with its images replaced as `inputs` says ('gaussian': drawn from `seed`, the same for every network). */
export function withInputs(batch: ProxyBatch, inputs: ProxyInputs, seed: number): ProxyBatch {
  if (inputs === 'data') return batch;
  // Its own stream: the images do not depend on how the minibatch was drawn.
  return { ...batch, x: new Rng(seed ^ 0x6a55_1e5).normals(batch.x.length) };
}

/** One minibatch of the shared CIFAR-10 training images, chosen by the seed. */
export function proxyBatch(batchSize: number, seed: number): ProxyBatch {
  const ds = loadCifar10('train');
  if (!Number.isInteger(batchSize) || batchSize < 2 || batchSize > ds.count)
    throw new RangeError(`batch size must be an integer in [2, ${ds.count}], got ${batchSize}`);
  const rng = new Rng(seed);
  const idx = rng.shuffle([...Array(ds.count).keys()]).slice(0, batchSize);
  const { x, y } = batchOf(ds, idx);
  return { x, y, n: batchSize, classes: ds.classes ?? 10 };
}
