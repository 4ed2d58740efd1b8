/**
 * The searches' default split follows the training images there are: 4000 + 1000 of a set of 5000
 * or more (as always on the shared subset), 4/5 + 1/5 of a smaller one (the committed fixture, a
 * user's folder), and cifarSearchSplit cuts the file found by it.
 */
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { cifarSearchSplit, defaultSplitSizes, SEARCH_SPLIT_DEFAULT } from '../../src/data/search-split.js';

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
