/**
 * The searches' default split follows the training images there are: 4000 + 1000 of a set of 5000
 * or more (as always on the shared subset), 4/5 + 1/5 of a smaller one (the committed fixture, a
 * user's folder), and cifarSearchSplit cuts the file found by it. The searches' split is stratified
 * by class: as before on balanced data, in proportion on an imbalanced folder.
 */
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { splitNote } from '../../src/cli/dataset.js';
import type { ImageDataset } from '../../src/data/image-dataset.js';
import {
  cifarSearchSplit,
  defaultSplitSizes,
  SEARCH_SPLIT_DEFAULT,
  searchSplitImages,
  stratifiedSplit,
} from '../../src/data/search-split.js';

describe('defaultSplitSizes', () => {
  it('is 4000 + 1000 from 5000 images up', () => {
    expect(SEARCH_SPLIT_DEFAULT).toEqual({ train: 4000, val: 1000 });
    for (const n of [5000, 5001, 50_000]) expect(defaultSplitSizes(n)).toEqual({ train: 4000, val: 1000 });
  });

  it('is 4/5 + 1/5 of fewer images, every image used, both parts non-empty from 2 images', () => {
    expect(defaultSplitSizes(1000)).toEqual({ train: 800, val: 200 });
    expect(defaultSplitSizes(4999)).toEqual({ train: 3999, val: 1000 });
    expect(defaultSplitSizes(48)).toEqual({ train: 38, val: 10 });
    expect(defaultSplitSizes(2)).toEqual({ train: 1, val: 1 });
    expect(defaultSplitSizes(1)).toEqual({ train: 1, val: 0 });
    for (let n = 2; n < 5000; n += 7) {
      const { train, val } = defaultSplitSizes(n);
      expect(train + val).toBe(n);
      expect(train).toBeGreaterThanOrEqual(1);
      expect(val).toBeGreaterThanOrEqual(1);
      expect(Math.abs(train - 0.8 * n)).toBeLessThan(1);
    }
  });
});

describe('cifarSearchSplit', () => {
  it('takes the default split of the training file found, train first then val', () => {
    const all = loadCifar10('train');
    const { train, val } = cifarSearchSplit();
    const want = defaultSplitSizes(all.count);
    expect([train.count, val.count]).toEqual([want.train, want.val]);
    expect(Array.from(val.labels.subarray(0, 20))).toEqual(Array.from(all.labels.subarray(want.train, want.train + 20)));
    expect(val.images[0]).toBe(all.images[want.train * 3 * 32 * 32]);
  });

  it('refuses more than the file has', () => {
    const n = loadCifar10('train').count;
    expect(() => cifarSearchSplit(n, 1)).toThrow(new RegExp(`${n} \\+ 1 images requested, the training file has ${n}`));
  });
});

/** Labels listed class-interleaved (rank 0 of every class, then rank 1...), as a folder lists its files. */
const interleaved = (perClass: readonly number[]): number[] => {
  const out: number[] = [];
  for (let r = 0; r < Math.max(...perClass); r++) perClass.forEach((n, c) => r < n && out.push(c));
  return out;
};
const countBy = (labels: readonly number[], idx: readonly number[], classes: number) => {
  const h = new Array<number>(classes).fill(0);
  for (const i of idx) h[labels[i]]++;
  return h;
};

describe('stratifiedSplit', () => {
  it('balanced data is cut as before: the first --train images, then the next --val', () => {
    for (let classes = 2; classes <= 7; classes++)
      for (const per of [1, 2, 5]) {
        const labels = interleaved(new Array(classes).fill(per));
        for (let used = 2; used <= labels.length; used++)
          for (let val = 1; val < used; val++) {
            const p = stratifiedSplit(labels, classes, { train: used - val, val });
            expect(p.train).toEqual([...Array(used - val).keys()]);
            expect(p.val).toEqual(Array.from({ length: val }, (_, i) => used - val + i));
          }
      }
    // The bundled CIFAR-10 file (interleaved, 500 per class; without ../shared the committed
    // fixture's fewer images) on its default and the tests' splits that fit it.
    const cifar = loadCifar10('train');
    for (const [train, val] of [
      [4000, 1000],
      [200, 100],
      [64, 32],
    ]) {
      if (train + val > cifar.count) continue;
      const p = stratifiedSplit(cifar.labels, 10, { train, val });
      expect(p.val[0]).toBe(train);
      expect(p.val.at(-1)).toBe(train + val - 1);
    }
  });

  it('an imbalanced folder: every class in the --val part in proportion, at least one of a class with two', () => {
    const labels = interleaved([100, 10, 2]);
    const p = stratifiedSplit(labels, 3, defaultSplitSizes(labels.length));
    expect(countBy(labels, p.val, 3)).toEqual([20, 2, 1]);
    expect(countBy(labels, p.train, 3)).toEqual([80, 8, 1]);
    expect([p.noTrain, p.noVal]).toEqual([[], []]);
    // The parts are disjoint and cover the images used; within each, dataset order.
    expect([...p.train, ...p.val].sort((a, b) => a - b)).toEqual([...labels.keys()]);
    expect(p.val).toEqual([...p.val].sort((a, b) => a - b));
    // Before: the tail of the interleaved order, class 0 only.
    expect(new Set(labels.slice(89))).toEqual(new Set([0]));
  });

  it('classes of one image are on one side only, and named', () => {
    const labels = interleaved(new Array(1000).fill(1));
    const p = stratifiedSplit(labels, 1000, { train: 800, val: 200 });
    expect([p.noVal.length, p.noTrain.length]).toEqual([800, 200]);
    const names = Array.from({ length: 1000 }, (_, c) => `n${c}`);
    expect(splitNote({ name: 'folder:/x', classNames: names }, { train: 800, val: 200 }, p)).toBe(
      'note: search split of folder:/x (--train 800, --val 200): of its 1000 classes 800 have no --val image (n0, n1, n2, ...) ' +
        'and 200 have no --train image (n800, n801, n802, ...); a class is on both sides only with 2 images or more among the first 1000',
    );
    const balanced = stratifiedSplit(interleaved([5, 5]), 2, { train: 8, val: 2 });
    expect(splitNote({ name: 'x', classNames: ['a', 'b'] }, { train: 8, val: 2 }, balanced)).toBeNull();
  });

  it('searchSplitImages: the first images themselves where balanced, else the picked ones, weights part first', async () => {
    const ds = (labels: number[]): ImageDataset => ({
      name: 'synthetic',
      split: 'train',
      classes: Math.max(...labels) + 1,
      classNames: [],
      count: labels.length,
      labels: Uint16Array.from(labels),
      nativeSize: 32,
      balanced: true,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      images: (idx) => Promise.resolve(Float32Array.from(idx)),
      source: (i) => `image ${i}`,
    });
    const even = ds(interleaved([5, 5]));
    expect(searchSplitImages(even, { train: 8, val: 2 }).images.labels).toEqual(even.labels.subarray(0, 10));
    const labels = interleaved([6, 2]);
    const { images, plan } = searchSplitImages(ds(labels), { train: 6, val: 2 });
    expect(Array.from(images.labels)).toEqual([...plan.train, ...plan.val].map((i) => labels[i]));
    expect(plan.val).toEqual([3, 7]);
    expect(Array.from(images.labels.subarray(6))).toEqual([1, 0]);
    expect(Array.from(await images.images([6, 7], 32))).toEqual(plan.val);
    expect(images.source(7)).toBe(`image ${plan.val[1]}`);
  });
});
