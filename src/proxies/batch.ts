/** The fixed minibatch every zero-shot score is computed on. */
import { batchOf, loadCifar10 } from '../data/cifar10.js';
import type { ProxyBatch } from './index.js';
import { Rng } from '../util/rng.js';

/** One minibatch of the shared CIFAR-10 training images, chosen by the seed. */
export function proxyBatch(batchSize: number, seed: number): ProxyBatch {
  const ds = loadCifar10('train');
  if (batchSize < 2 || batchSize > ds.count) throw new RangeError(`batch size must be in [2, ${ds.count}], got ${batchSize}`);
  const rng = new Rng(seed);
  const idx = rng.shuffle([...Array(ds.count).keys()]).slice(0, batchSize);
  const { x, y } = batchOf(ds, idx);
  return { x, y, n: batchSize };
}
