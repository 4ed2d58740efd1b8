/**
 * Search splits held in memory (CIFAR at 32) and streamed from an image folder (at the layout's
 * size): the same seeded draws, batches equal to the decoded images, and a stream that holds at
 * most two decoded batches whatever order they are asked in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStream, batchSource, isStreamed, resizeNearest, streamedImages } from '../../src/data/batch-stream.js';
import { loadCifar10 } from '../../src/data/cifar10.js';
import type { ImageDataset } from '../../src/data/image-dataset.js';
import { openImageFolder } from '../../src/data/image-folder.js';
import { Prefetcher } from '../../src/data/image-dataset.js';
import { sameFloats, writeNoiseImageFolder } from '../helpers/datasets.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-batch-stream-'));
let folder: string;
beforeAll(async () => {
  folder = await writeNoiseImageFolder(join(tmp, 'noise'), 3, 4);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The dataset with every decode recorded (indices and size) and the number in flight at most. */
function counting(ds: ImageDataset) {
  const calls: Array<{ indices: number[]; size: number }> = [];
  let open = 0;
  let most = 0;
  const wrapped: ImageDataset = {
    ...ds,
    images: async (indices, size) => {
      calls.push({ indices: [...indices], size });
      most = Math.max(most, ++open);
      try {
        return await ds.images(indices, size);
      } finally {
        open--;
      }
    },
  };
  return { ds: wrapped, calls, most: () => most };
}

describe('batch sources', () => {
  it('in memory: the same batches as BatchStream (CIFAR searches keep their numbers)', async () => {
    const ds = loadCifar10('train', { limit: 50 });
    const a = new BatchStream(ds, 7, 42);
    const b = batchSource(ds, 7, 42);
    expect(isStreamed(ds)).toBe(false);
    expect(b.geometry.size).toBe(32);
    for (const k of [0, 1, 6, 7, 20]) {
      const want = a.batchAt(k);
      const got = await b.batchAt(k);
      expect(b.indicesAt(k)).toEqual(a.indicesAt(k));
      expect(got.n).toBe(7);
      expect(Array.from(got.y)).toEqual(Array.from(want.y));
      expect(got.x).toEqual(want.x);
    }
  });

  it('streamed: batch k is the folder images of its indices decoded at the split size, offset by the split start', async () => {
    const full = await openImageFolder(folder, 'train', { size: 224 });
    const { ds, calls } = counting(full);
    const split = streamedImages(ds, 4, 12, 224);
    const src = batchSource(split, 3, 9);
    const order = new BatchStream({ images: new Float32Array(0), labels: new Uint16Array(0), count: 8 }, 3, 9);
    expect(src.geometry).toEqual({ size: 224, mean: full.mean, std: full.std });
    for (const k of [0, 1, 2, 3]) {
      const idx = src.indicesAt(k);
      // The permutation is BatchStream's over the split, shifted to the split's images.
      expect(idx).toEqual(order.indicesAt(k).map((i) => i + 4));
      idx.forEach((i) => expect(i >= 4 && i < 12).toBe(true));
      const b = await src.batchAt(k);
      expect(b.n).toBe(3);
      expect(b.x.length).toBe(3 * 3 * 224 * 224);
      expect(sameFloats(b.x, await full.images(idx, 224))).toBe(true);
      expect(Array.from(b.y)).toEqual(idx.map((i) => full.labels[i]));
    }
    // Every decode asked for 224 (no 32x32 decode upscaled afterwards).
    expect(calls.every((c) => c.size === 224)).toBe(true);
  });

  it('streamed: at most two batches held, in sequence or not; a failed prefetch surfaces when asked for', async () => {
    const full = await openImageFolder(folder, 'train', { size: 16 });
    const { ds, most } = counting(full);
    const src = batchSource(streamedImages(ds, 0, 12, 16), 2, 1);
    for (const k of [0, 1, 2, 3, 1_000_000, 1_000_001, 4, 5, 0]) {
      await src.batchAt(k);
      expect((src as unknown as { held: number }).held).toBeLessThanOrEqual(2);
    }
    // A prefetch forgotten by a jump still finishes (and is then dropped). How many of those overlap
    // depends on the machine's load, so the bound is the deterministic one: the two live batches
    // plus one forgotten prefetch per jump (3 jumps above), never the whole split.
    expect(most()).toBeLessThanOrEqual(2 + 3);
    const pre = new Prefetcher<number>(async (k) => {
      if (k === 1) throw new Error('bad image 1');
      return k;
    });
    expect(await pre.get(0)).toBe(0);
    await expect(pre.get(1)).rejects.toThrow(/bad image 1/);
    expect(pre.inFlight).toEqual([1, 2]);
    await pre.get(7);
    expect(pre.inFlight).toEqual([7, 8]);
  });

  it('refuses a range outside the dataset and a batch larger than the split', async () => {
    const full = await openImageFolder(folder, 'train', { size: 16 });
    expect(() => streamedImages(full, 10, 13, 16)).toThrow(/images \[10, 13\) requested, it has 12/);
    expect(() => streamedImages(full, 0, 4, 0)).toThrow(/image size must be a positive integer/);
    expect(() => batchSource(streamedImages(full, 0, 4, 16), 5, 1)).toThrow(/batch size must be an integer in \[1, 4\], got 5/);
  });

  it('nearest resize is the identity at the same size and repeats pixels when upscaling', () => {
    const x = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
    expect(resizeNearest(x, 2, 3, 2, 2)).toBe(x);
    const up = resizeNearest(x, 2, 3, 2, 4);
    // Channel 0 of image 0 is [[0, 1], [2, 3]]: each pixel becomes a 2x2 block.
    expect(Array.from(up.subarray(0, 16))).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
  });
});
