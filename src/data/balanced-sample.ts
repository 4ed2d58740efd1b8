/** Class-balanced sampling, shared by the CIFAR batches (cifar10.ts) and the image datasets (image-dataset.ts). */
import type { Rng } from '../util/rng.js';

/**
 * n distinct indices of labels[0..count), class-balanced: floor(n/C) per class, the remainder from
 * randomly chosen distinct classes; a class that runs short is topped up from the others. Shuffled.
 * The caller checks n (1 <= n <= count) with its own message.
 */
export function balancedIndices(labels: ArrayLike<number>, count: number, classes: number, n: number, rng: Rng): number[] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < count; i++) byClass[labels[i]].push(i);
  for (const list of byClass) rng.shuffle(list);
  const extra = new Set(rng.shuffle([...Array(classes).keys()]).slice(0, n % classes));
  const chosen: number[] = [];
  const leftover: number[] = [];
  byClass.forEach((list, c) => {
    const want = Math.floor(n / classes) + (extra.has(c) ? 1 : 0);
    chosen.push(...list.slice(0, want));
    leftover.push(...list.slice(want));
  });
  if (chosen.length < n) chosen.push(...rng.shuffle(leftover).slice(0, n - chosen.length));
  return rng.shuffle(chosen);
}
