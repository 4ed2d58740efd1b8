/** Gaussian images with random labels in CIFAR-10's in-memory form: step tests and benches without a dataset. */
import type { Cifar10 } from '../../src/data/cifar10.js';
import { Rng } from '../../src/util/rng.js';

/** `count` images of side `size` (N(0, 1) values), labels uniform over 10 classes; pure in `seed`. */
export function gaussianImages(count: number, seed: number, size = 32): Cifar10 {
  const rng = new Rng(seed);
  return {
    images: rng.normals(count * 3 * size * size),
    labels: Uint16Array.from({ length: count }, () => rng.int(10)),
    count,
    size,
  };
}
