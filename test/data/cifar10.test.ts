import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  augment,
  batchOf,
  CIFAR10_IMAGE_FLOATS,
  CIFAR10_MEAN,
  CIFAR10_STD,
  decodeCifar10,
  loadCifar10,
  loadCifar10File,
  sampleBatch,
} from '../../src/data/cifar10.js';
import { dataDir, dataFile } from '../../src/data/paths.js';
import { Rng } from '../../src/util/rng.js';
import { CIFAR10_MINI_ROOT } from '../setup/data-roots.js';

// The shared subset (5000 / 2000 images), or without ../shared the committed first 1000 / 200 of it.
const MINI =
  statSync(dataFile('cifar10', 'train_5000.bin')).size === statSync(join(CIFAR10_MINI_ROOT, 'cifar10', 'train_5000.bin')).size;
const [TRAIN_N, TEST_N] = MINI ? [1000, 200] : [5000, 2000];

const classCounts = (labels: ArrayLike<number>) => {
  const c = new Array(10).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
};

describe('CIFAR-10 loader', () => {
  it('loads both splits with balanced labels and the README normalisation', () => {
    const train = loadCifar10('train');
    expect(train.count).toBe(TRAIN_N);
    expect(train.images.length).toBe(TRAIN_N * 3072);
    expect(classCounts(train.labels)).toEqual(new Array(10).fill(TRAIN_N / 10));
    const test = loadCifar10('test');
    expect(test.count).toBe(TEST_N);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(TEST_N / 10));

    // Against the raw bytes: record i = label, then R, G, B planes of 1024 bytes.
    const raw = readFileSync(dataFile('cifar10', 'train_5000.bin'));
    for (const [i, c, p] of [
      [0, 0, 0],
      [1, 2, 1023],
      [TRAIN_N - 1, 1, 517],
      [123, 0, 31],
    ]) {
      const off = i * 3073;
      expect(test.labels.length).toBe(TEST_N);
      expect(train.labels[i]).toBe(raw[off]);
      const want = (raw[off + 1 + c * 1024 + p] / 255 - CIFAR10_MEAN[c]) / CIFAR10_STD[c];
      expect(train.images[i * 3072 + c * 1024 + p]).toBeCloseTo(want, 5);
    }
    // Normalised channels: roughly zero mean, unit variance (JPEG-decoded copy, so not exact).
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      let n = 0;
      for (let i = 0; i < TRAIN_N; i += 7) {
        for (let p = 0; p < 1024; p += 3) {
          const v = train.images[i * 3072 + c * 1024 + p];
          s += v;
          s2 += v * v;
          n++;
        }
      }
      const m = s / n;
      expect(Math.abs(m)).toBeLessThan(0.1);
      expect(Math.sqrt(s2 / n - m * m)).toBeGreaterThan(0.85);
      expect(Math.sqrt(s2 / n - m * m)).toBeLessThan(1.15);
    }
  });

  it('limit returns the first images and is validated', () => {
    const ds = loadCifar10('test', { limit: 30 });
    const full = loadCifar10('test');
    expect(ds.count).toBe(30);
    expect(ds.images.length).toBe(30 * 3072);
    expect(Array.from(ds.labels)).toEqual(Array.from(full.labels.subarray(0, 30)));
    expect(loadCifar10('test', { limit: 99999 }).count).toBe(TEST_N);
    expect(() => loadCifar10('test', { limit: 0 })).toThrow(/limit/);
    expect(() => loadCifar10('val' as never)).toThrow(/'train' or 'test'/);
  });

  it('rejects a truncated file naming it and the record size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-cifar-'));
    const bad = join(dir, 'cut.bin');
    writeFileSync(bad, new Uint8Array(3073 * 2 + 100));
    expect(() => loadCifar10File(bad)).toThrow(new RegExp(`${bad}: size 6246 bytes is not a positive multiple of 3073`));
    expect(() => decodeCifar10(new Uint8Array(0))).toThrow(/size 0 bytes/);
    const badLabel = new Uint8Array(3073);
    badLabel[0] = 10;
    expect(() => decodeCifar10(badLabel)).toThrow(/record 0 has label 10/);
  });
});

describe('shared data directory', () => {
  const saved = process.env.WGNAS_DATA_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.WGNAS_DATA_DIR;
    else process.env.WGNAS_DATA_DIR = saved;
  });
  it('honours WGNAS_DATA_DIR and names a missing path', () => {
    const real = dataDir();
    process.env.WGNAS_DATA_DIR = real;
    expect(dataDir()).toBe(real);
    process.env.WGNAS_DATA_DIR = '/nonexistent/wgnas-data';
    expect(() => dataDir()).toThrow(/\/nonexistent\/wgnas-data.*WGNAS_DATA_DIR/);
    process.env.WGNAS_DATA_DIR = real;
    expect(() => dataFile('cifar10', 'nope.bin')).toThrow(
      /cifar10\/nope\.bin not found \(looked in .*\); get it with: wgnas data fetch cifar10/,
    );
  });
});

describe('batches', () => {
  const ds = loadCifar10('train', { limit: 200 });

  it('batchOf copies images and labels as f32', () => {
    const b = batchOf(ds, [5, 0, 5]);
    expect(b.x.length).toBe(3 * 3072);
    expect(Array.from(b.y)).toEqual([ds.labels[5], ds.labels[0], ds.labels[5]]);
    expect(Array.from(b.x.subarray(3072, 6144))).toEqual(Array.from(ds.images.subarray(0, 3072)));
    expect(Array.from(b.x.subarray(6144))).toEqual(Array.from(ds.images.subarray(5 * 3072, 6 * 3072)));
    b.x[0] = 1e9;
    expect(ds.images[5 * 3072]).not.toBe(1e9);
    expect(() => batchOf(ds, [0, 200])).toThrow(/index 200 at position 1 is outside \[0, 200\)/);
  });

  it('sampleBatch is class-balanced, without replacement and seeded', () => {
    for (const n of [20, 13, 64]) {
      const b = sampleBatch(ds, n, new Rng(n));
      expect(new Set(b.indices).size).toBe(n);
      const counts = classCounts(b.y);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      expect(b.indices.map((i) => ds.labels[i])).toEqual(Array.from(b.y));
      expect(sampleBatch(ds, n, new Rng(n)).indices).toEqual(b.indices);
    }
    expect(() => sampleBatch(ds, 201, new Rng(0))).toThrow(/\[1, 200\]/);
  });
});

describe('augment', () => {
  // Reference: pad to 40x40 with black, crop at (oy, ox), then flip.
  function reference(x: Float32Array, n: number, draws: Array<[number, number, boolean]>): Float32Array {
    const out = new Float32Array(x.length);
    for (let i = 0; i < n; i++) {
      const [oy, ox, flip] = draws[i];
      for (let c = 0; c < 3; c++) {
        const padded = new Float32Array(40 * 40).fill(-CIFAR10_MEAN[c] / CIFAR10_STD[c]);
        for (let r = 0; r < 32; r++)
          for (let q = 0; q < 32; q++) padded[(r + 4) * 40 + q + 4] = x[i * 3072 + c * 1024 + r * 32 + q];
        for (let r = 0; r < 32; r++) {
          for (let q = 0; q < 32; q++) {
            const v = padded[(r + oy) * 40 + q + ox];
            out[i * 3072 + c * 1024 + r * 32 + (flip ? 31 - q : q)] = v;
          }
        }
      }
    }
    return out;
  }

  it('matches pad-crop-flip with the same random draws', () => {
    const n = 12;
    const x = loadCifar10('test', { limit: n }).images.slice();
    const seedRng = new Rng(11);
    const out = augment(x, n, seedRng);
    // Replay the draws in augment's order: dy, dx (int(9) each), then flip (next() < 0.5).
    const replay = new Rng(11);
    const draws: Array<[number, number, boolean]> = [];
    for (let i = 0; i < n; i++) {
      const oy = replay.int(9);
      const ox = replay.int(9);
      draws.push([oy, ox, replay.next() < 0.5]);
    }
    expect(Array.from(out)).toEqual(Array.from(reference(x, n, draws)));
    expect(draws.some((d) => d[2]) && draws.some((d) => !d[2])).toBe(true);
    expect(out.length).toBe(n * CIFAR10_IMAGE_FLOATS);
  });

  it('is the identity for a centred crop without flip, and checks the length', () => {
    const x = loadCifar10('test', { limit: 2 }).images.slice();
    const stub = { int: () => 4, next: () => 0.9 } as unknown as Rng;
    expect(Array.from(augment(x, 2, stub))).toEqual(Array.from(x));
    expect(() => augment(x, 3, new Rng(0))).toThrow(/expected 3 x 3 x 32 x 32/);
  });
});
