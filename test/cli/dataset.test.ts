/**
 * --train / --val against --dataset (runSplitSizes): a flag not given follows the images there are
 * (each default on its own: a given --train does not shrink the default --val),
 * a split asking for more is refused in one line naming the flags (defaults marked) and the count.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { runSplitSizes } from '../../src/cli/dataset.js';

const ds = (count: number) => ({ name: 'folder:/data/pets', count });

describe('runSplitSizes', () => {
  it('defaults follow the dataset; a given flag is kept as given', () => {
    expect(runSplitSizes(ds(5000))).toEqual({ train: 4000, val: 1000 });
    expect(runSplitSizes(ds(50_000))).toEqual({ train: 4000, val: 1000 });
    expect(runSplitSizes(ds(1000))).toEqual({ train: 800, val: 200 });
    expect(runSplitSizes(ds(1000), { train: 700 })).toEqual({ train: 700, val: 200 });
    expect(runSplitSizes(ds(1000), { val: 100 })).toEqual({ train: 800, val: 100 });
    expect(runSplitSizes(ds(50_000), { train: 40_000, val: 10_000 })).toEqual({ train: 40_000, val: 10_000 });
  });

  it('names the flags, marks the defaults and gives the count when the split asks for more', () => {
    const err = (n: number, given: { train?: number; val?: number }) => {
      try {
        runSplitSizes(ds(n), given);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(err(1000, { train: 900, val: 101 })).toBe(
      '--train 900 + --val 101 = 1001 images, more than the 1000 training images of folder:/data/pets',
    );
    expect(err(1000, { train: 801 })).toBe(
      '--train 801 + --val 200 (default) = 1001 images, more than the 1000 training images of folder:/data/pets',
    );
    expect(err(5000, { val: 1001 })).toBe(
      '--train 4000 (default) + --val 1001 = 5001 images, more than the 5000 training images of folder:/data/pets',
    );
    expect(err(1, {})).toBe('folder:/data/pets has 1 training image: a search needs at least 2 (one for --train, one for --val)');
    expect(err(0, {})).toMatch(/has 0 training images: a search needs at least 2/);
  });
});
