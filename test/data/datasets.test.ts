/**
 * The dataset loaders on tiny datasets the test writes: image folders (PNG exact, JPEG within a few
 * levels), centre crop, sampled normalisation, class balance, determinism by seed, the CIFAR-10/100
 * binaries (values, fine labels, the full set vs the bundled subset) and their bad-content errors,
 * the prefetcher, seeded augmentation, and the network's class count end to end on the CPU.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { augment } from '../../src/data/cifar10.js';
import { CIFAR_FORMATS } from '../../src/data/cifar-official.js';
import { clearCifarCache, openCifarFiles } from '../../src/data/cifar-dataset.js';
import { datasetClassCount, datasetSpecProblem, openDataset, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { materialize, Prefetcher, proxyMinibatch, sampleBalanced } from '../../src/data/image-dataset.js';
import { openImageFolder, scanImageFolder } from '../../src/data/image-folder.js';
import { Rng } from '../../src/util/rng.js';
import { cifarBytes, colourOf, writeImageFolder } from '../helpers/datasets.js';

const root = mkdtempSync(join(tmpdir(), 'wgnas-ds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ID = { mean: [0, 0, 0], std: [1, 1, 1] } as { mean: [number, number, number]; std: [number, number, number] };
const sub = (name: string) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
};

describe('image folder', () => {
  it('decodes PNG exactly and JPEG within 3 levels, interleaving classes', async () => {
    const dir = await writeImageFolder(sub('colours'), [3, 2, 3]);
    const ds = await openImageFolder(dir, 'train', { normalisation: ID });
    expect(ds.classes).toBe(3);
    expect(ds.classNames).toEqual(['class0', 'class1', 'class2']);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 0, 1, 2, 0, 2]);
    const x = await ds.images([...Array(ds.count).keys()], 8);
    for (let i = 0; i < ds.count; i++) {
      const file = ds.source(i);
      const k = Number(/img(\d+)/.exec(file)![1]);
      const want = colourOf(ds.labels[i], k);
      const tol = file.endsWith('.png') ? 1e-6 : 3 / 255 + 1e-6;
      for (let c = 0; c < 3; c++)
        for (const p of [0, 27, 63]) expect(Math.abs(x[i * 192 + c * 64 + p] - want[c] / 255)).toBeLessThanOrEqual(tol);
    }
  });

  it('resizes the shorter side and centre-crops', async () => {
    const dir = sub('crop/a');
    // 48x32: 8 red columns, 32 blue, 8 red; the 32x32 centre crop is all blue.
    const px = Buffer.alloc(48 * 32 * 3);
    for (let r = 0; r < 32; r++)
      for (let q = 0; q < 48; q++) px.set(q >= 8 && q < 40 ? [0, 0, 255] : [255, 0, 0], (r * 48 + q) * 3);
    await sharp(px, { raw: { width: 48, height: 32, channels: 3 } })
      .png()
      .toFile(join(dir, 'wide.png'));
    // A second class (a one-class folder is refused): image 0 is still class a's.
    await sharp(px, { raw: { width: 48, height: 32, channels: 3 } })
      .png()
      .toFile(join(sub('crop/b'), 'wide.png'));
    const ds = await openImageFolder(join(root, 'crop'), 'train', { normalisation: ID });
    const x = await ds.images([0], 32);
    expect(Math.max(...x.subarray(0, 1024))).toBe(0);
    expect(Math.min(...x.subarray(2048, 3072))).toBe(1);
    // At 16 the image is downscaled (the filter blends the crop's edge columns): the inside stays blue.
    const y = await ds.images([0], 16);
    for (const q of [3, 8, 12]) {
      expect(y[512 + 8 * 16 + q]).toBeCloseTo(1, 5);
      expect(y[8 * 16 + q]).toBeCloseTo(0, 5);
    }
  });

  it('normalises with the per-channel mean/std of a sample', async () => {
    const dir = await writeImageFolder(sub('stats'), [2, 2], { format: 'png' });
    const ds = await openImageFolder(dir, 'train', { size: 4 });
    const cols = [0, 1].flatMap((c) => [0, 1].map((k) => colourOf(c, k).map((v) => v / 255)));
    for (let ch = 0; ch < 3; ch++) {
      const m = cols.reduce((s, v) => s + v[ch], 0) / 4;
      const sd = Math.sqrt(cols.reduce((s, v) => s + (v[ch] - m) ** 2, 0) / 4);
      expect(ds.mean[ch]).toBeCloseTo(m, 6);
      expect(ds.std[ch]).toBeCloseTo(sd, 6);
    }
    const x = await ds.images([0], 4);
    expect(x[0]).toBeCloseTo((colourOf(0, 0)[0] / 255 - ds.mean[0]) / ds.std[0], 5);
  });

  it('train/ and test/ sub-folders give the test split; without them there is none', async () => {
    const dir = sub('split');
    await writeImageFolder(join(dir, 'train'), [2, 2], { format: 'png' });
    await writeImageFolder(join(dir, 'test'), [1, 1], { format: 'png' });
    const test = await openImageFolder(dir, 'test', { size: 8 });
    expect(test.count).toBe(2);
    await expect(openImageFolder(join(root, 'colours'), 'test')).rejects.toThrow(/no test split/);
  });

  it('a test split with other class names, or a class fewer, is refused naming the folder, with the stats cached or not', async () => {
    const dir = sub('names');
    await writeImageFolder(join(dir, 'train'), [2, 2, 2], { format: 'png' });
    await writeImageFolder(join(dir, 'test'), [1, 1, 1], { format: 'png' });
    renameSync(join(dir, 'test', 'class2'), join(dir, 'test', 'z'));
    const want = new RegExp(
      `^${join(dir, 'test', 'z')}: class folder 'z' is not a class of the training split ${join(dir, 'train')} \\(class0, class1, class2\\)`,
    );
    // Fresh (the statistics not computed yet), then after the training split was opened (cached).
    await expect(openImageFolder(dir, 'test', { size: 8 })).rejects.toThrow(want);
    await openImageFolder(dir, 'train', { size: 8 });
    await expect(openImageFolder(dir, 'test', { size: 8 })).rejects.toThrow(want);
    await expect(openImageFolder(dir, 'test', { size: 8, normalisation: ID })).rejects.toThrow(want);
    // The same count is not enough; a class fewer names the class missing.
    rmSync(join(dir, 'test', 'z'), { recursive: true });
    await expect(openImageFolder(dir, 'test', { size: 8 })).rejects.toThrow(
      new RegExp(`^${join(dir, 'test')}: has no class folder 'class2' \\(a class of the training split`),
    );
  });

  it('train/ without test/ or val/: the training split is train/; the test split is refused saying test/ is missing', async () => {
    const dir = sub('train-only');
    await writeImageFolder(join(dir, 'train'), [2, 3], { format: 'png' });
    const train = await openImageFolder(dir, 'train', { size: 8, normalisation: ID });
    expect(train.classNames).toEqual(['class0', 'class1']);
    expect(train.count).toBe(5);
    expect(datasetClassCount(parseDatasetSpec(`folder:${dir}`))).toBe(2);
    await expect(openImageFolder(dir, 'test', { size: 8, normalisation: ID })).rejects.toThrow(
      new RegExp(
        `^${dir}: has train/ but no test/ \\(or val/\\) beside it: this command needs the test split's images; put its class folders under ${join(dir, 'test')}$`,
      ),
    );
    // A class folder named 'train' (images, no sub-folders) is a class, not a split.
    const flat = sub('class-named-train');
    await writeImageFolder(flat, [2, 2], { format: 'png' });
    renameSync(join(flat, 'class0'), join(flat, 'train'));
    expect((await openImageFolder(flat, 'train', { size: 8, normalisation: ID })).classNames).toEqual(['class1', 'train']);
  });

  it('one class folder is refused: a classifier needs at least 2 classes (not 100 % accuracy)', async () => {
    const one = await writeImageFolder(sub('one'), [3], { format: 'png' });
    expect(() => scanImageFolder(one)).toThrow(
      new RegExp(`^${one}: one class folder \\(class0\\); a classifier needs at least 2 classes`),
    );
    await expect(openDataset(parseDatasetSpec(`folder:${one}`), 'train')).rejects.toThrow(/needs at least 2 classes/);
    const split = sub('one-split');
    await writeImageFolder(join(split, 'train'), [3], { format: 'png' });
    await writeImageFolder(join(split, 'test'), [1], { format: 'png' });
    expect(() => datasetClassCount(parseDatasetSpec(`folder:${split}`))).toThrow(
      new RegExp(`^${join(split, 'train')}: one class folder`),
    );
  });
});

describe('minibatches', () => {
  it('class-balanced, seeded, deterministic', async () => {
    const labels = Uint16Array.from({ length: 300 }, (_, i) => (i < 200 ? 0 : i < 290 ? 1 : 2));
    const idx = sampleBalanced(labels, 3, 9, 5);
    expect(new Set(idx).size).toBe(9);
    expect([0, 1, 2].map((c) => idx.filter((i) => labels[i] === c).length)).toEqual([3, 3, 3]);
    const odd = sampleBalanced(labels, 3, 11, 5);
    expect([0, 1, 2].map((c) => odd.filter((i) => labels[i] === c).length).sort()).toEqual([3, 4, 4]);
    // A class that runs short is topped up from the others.
    const short = sampleBalanced(labels, 3, 60, 1);
    expect(short.filter((i) => labels[i] === 2).length).toBe(10);
    expect(sampleBalanced(labels, 3, 9, 5)).toEqual(idx);
    expect(sampleBalanced(labels, 3, 9, 6)).not.toEqual(idx);
  });

  it('a folder proxy batch is balanced and the same for the same seed', async () => {
    const ds = await openImageFolder(join(root, 'colours'), 'train', { normalisation: ID });
    const a = await proxyMinibatch(ds, 6, 3, 8);
    const b = await proxyMinibatch(ds, 6, 3, 8);
    expect(a.indices).toEqual(b.indices);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect([0, 1, 2].map((c) => Array.from(a.y).filter((y) => y === c).length)).toEqual([2, 2, 2]);
  });

  it('the prefetcher starts the next item while the current one is used', async () => {
    const started: number[] = [];
    const pre = new Prefetcher(async (k) => (started.push(k), k * 10), 3);
    expect(await pre.get(0)).toBe(0);
    expect(started).toEqual([0, 1]);
    expect(await pre.get(1)).toBe(10);
    expect(started).toEqual([0, 1, 2]);
    expect(pre.inFlight).toEqual([1, 2]);
    expect(await pre.get(2)).toBe(20);
    expect(started).toEqual([0, 1, 2]);
  });

  it('materialize keeps order, labels and normalisation across chunks', async () => {
    const ds = await openImageFolder(join(root, 'colours'), 'train', { normalisation: ID });
    const m = await materialize(ds, 1, 8, 8, 3);
    expect(m.count).toBe(7);
    expect(Array.from(m.labels)).toEqual(Array.from(ds.labels.subarray(1, 8)));
    expect(Array.from(m.images.subarray(192 * 4, 192 * 5))).toEqual(Array.from(await ds.images([5], 8)));
  });

  it('augmentation is seeded and pads with black at any size', () => {
    const S = 8;
    const x = Float32Array.from({ length: 2 * 3 * S * S }, (_, i) => i % 97);
    const norm = { size: S, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const a = augment(x, 2, new Rng(4), norm);
    expect(Array.from(augment(x, 2, new Rng(4), norm))).toEqual(Array.from(a));
    // Every output value is an input value of the same image/channel or black (-mean/std).
    for (let i = 0; i < 2 * 3; i++) {
      const src = new Set(x.subarray(i * S * S, (i + 1) * S * S));
      for (const v of a.subarray(i * S * S, (i + 1) * S * S)) expect(src.has(v) || v === -2).toBe(true);
    }
  });
});

describe('CIFAR binaries', () => {
  const env = { ...process.env };
  beforeEach(() => clearCifarCache());
  afterEach(() => {
    process.env = { ...env };
    clearCifarCache();
  });

  function dataDir(name: string, files: Record<string, Buffer>): string {
    const d = sub(`roots/${name}`);
    for (const [f, b] of Object.entries(files)) {
      mkdirSync(join(d, f, '..'), { recursive: true });
      writeFileSync(join(d, f), b);
    }
    process.env.WGNAS_DATA_DIR = d;
    process.env.WGNAS_CACHE_DIR = sub(`cache/${name}`);
    return d;
  }

  it('reads the full CIFAR-10 release: every file in order, values (b/255 - mean)/std', async () => {
    const files = Object.fromEntries(
      CIFAR_FORMATS.cifar10.files.train.map((f, j) => [`cifar10/${f}`, cifarBytes([j, (j + 1) % 10])]),
    );
    dataDir('c10', { ...files, 'cifar10/test_batch.bin': cifarBytes([9]) });
    const { ds, note } = await openDataset(parseDatasetSpec('cifar10'), 'train');
    expect(note).toBeUndefined();
    expect(ds.count).toBe(10);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
    const x = await ds.images([3], 32);
    const { mean, std } = CIFAR_FORMATS.cifar10;
    // Record 3 is record 1 of data_batch_2.bin: pixel p of channel c is (31 + 7c + p) % 256.
    for (const [c, p] of [
      [0, 0],
      [1, 500],
      [2, 1023],
    ])
      expect(x[c * 1024 + p]).toBeCloseTo((((31 + 7 * c + p) % 256) / 255 - mean[c]) / std[c], 5);
    expect((await openDataset(parseDatasetSpec('cifar10'), 'test')).ds.count).toBe(1);
  });

  it('reads CIFAR-100 fine labels and gives the network 100 outputs', async () => {
    dataDir('c100', {
      'cifar100/train.bin': cifarBytes([
        [3, 77],
        [19, 99],
      ]),
      'cifar100/test.bin': cifarBytes([[0, 5]]),
    });
    const { ds } = await openDataset(parseDatasetSpec('cifar100'), 'train');
    expect(Array.from(ds.labels)).toEqual([77, 99]);
    expect(ds.classes).toBe(100);
    expect(datasetClassCount(parseDatasetSpec('cifar100'))).toBe(100);
    expect(datasetClassCount(parseDatasetSpec(`folder:${join(root, 'colours')}`))).toBe(3);
  });

  it('falls back to the bundled CIFAR-10 subset with a note; a missing CIFAR-100 names the fetch command', async () => {
    dataDir('empty', {});
    // The subset where a development checkout has it (../shared/data), here one the test writes.
    const shared = sub('roots/shared');
    mkdirSync(join(shared, 'cifar10'), { recursive: true });
    writeFileSync(join(shared, 'cifar10', 'train_5000.bin'), cifarBytes([0, 1, 2, 3, 4, 5, 6]));
    process.env.WGNAS_SHARED_DATA_DIR = shared;
    const { ds, note } = await openDataset(parseDatasetSpec('cifar10'), 'train');
    expect(ds.count).toBe(7);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(note).toMatch(
      /full CIFAR-10 not found .*wgnas data fetch cifar10.*bundled 7-image train subset \(.*train_5000\.bin\)$/,
    );
    expect((await openDataset(parseDatasetSpec('cifar10'), 'train')).subset).toBe('bundled subset');
    // A copy under $WGNAS_DATA_DIR is no bundled subset: said as where it came from.
    const env = sub('roots/env');
    mkdirSync(join(env, 'cifar10'), { recursive: true });
    writeFileSync(join(env, 'cifar10', 'train_5000.bin'), cifarBytes([0, 1, 2]));
    process.env.WGNAS_DATA_DIR = env;
    clearCifarCache();
    const copy = await openDataset(parseDatasetSpec('cifar10'), 'train');
    expect(copy.ds.count).toBe(3);
    expect(copy.subset).toBe('subset from $WGNAS_DATA_DIR');
    expect(copy.note).toContain(
      `using the 3-image train subset from $WGNAS_DATA_DIR (${join(env, 'cifar10', 'train_5000.bin')})`,
    );
    await expect(openDataset(parseDatasetSpec('cifar100'), 'train')).rejects.toThrow(
      /dataset cifar100 not found .*get it with: wgnas data fetch cifar100/,
    );
  });

  it('names the file of a truncated binary, a wrong label count, a label out of range and a missing member', async () => {
    const f = (name: string, b: Buffer) => {
      const p = join(sub('bad-bin'), name);
      writeFileSync(p, b);
      return p;
    };
    const good = cifarBytes([1, 2]);
    const trunc = f('trunc.bin', good.subarray(0, good.length - 100));
    expect(() => openCifarFiles(CIFAR_FORMATS.cifar10, 'train', [trunc])).toThrow(
      new RegExp(`${trunc}: size 6046 bytes is not a positive multiple of 3073 .*truncated`),
    );
    const c10 = f('c10.bin', cifarBytes([1, 2, 3]));
    expect(() => openCifarFiles(CIFAR_FORMATS.cifar100, 'train', [c10])).toThrow(
      new RegExp(`${c10}: .*multiple of 3074 \\(2 label`),
    );
    const high = f('high.bin', cifarBytes([4, 12]));
    expect(() => openCifarFiles(CIFAR_FORMATS.cifar10, 'train', [high])).toThrow(
      new RegExp(`${high}: record 1 has label 12, expected 0..9`),
    );
    const part = dataDir('partial', { 'cifar10/data_batch_1.bin': good });
    await expect(openDataset(parseDatasetSpec('cifar10'), 'train')).rejects.toThrow(
      new RegExp(`${join(part, 'cifar10')}: cifar10 train split is incomplete \\(missing data_batch_2.bin`),
    );
  });
});

describe('bad image folders', () => {
  it('names the folder or file', async () => {
    const none = sub('bad/none');
    writeFileSync(join(none, 'loose.png'), '');
    expect(() => scanImageFolder(none)).toThrow(new RegExp(`${none}: no class sub-folders`));
    const empty = sub('bad/empty');
    await writeImageFolder(empty, [1]);
    mkdirSync(join(empty, 'class9'));
    expect(() => scanImageFolder(empty)).toThrow(
      new RegExp(`${join(empty, 'class9')}: class folder class9 has no JPEG/PNG images`),
    );
    const txt = sub('bad/txt');
    await writeImageFolder(txt, [1]);
    writeFileSync(join(txt, 'class0', 'notes.txt'), 'x');
    expect(() => scanImageFolder(txt)).toThrow(new RegExp(`${join(txt, 'class0', 'notes.txt')}: not a JPEG or PNG image`));
    const fake = sub('bad/fake');
    await writeImageFolder(fake, [1]);
    writeFileSync(join(fake, 'class0', 'fake.jpg'), 'GIF89a not a jpeg');
    expect(() => scanImageFolder(fake)).toThrow(new RegExp(`${join(fake, 'class0', 'fake.jpg')}: not a JPEG or PNG file`));
    const corrupt = sub('bad/corrupt');
    await writeImageFolder(corrupt, [2, 2], { format: 'jpeg' });
    const jpg = join(corrupt, 'class0', 'img1.jpg');
    const bytes = readFileSync(jpg);
    writeFileSync(jpg, bytes.subarray(0, bytes.length - 40));
    await expect(openImageFolder(corrupt, 'train')).rejects.toThrow(new RegExp(`${jpg}: cannot decode the image`));
    expect(datasetSpecProblem('imagenet')).toMatch(/must be cifar10, cifar100 or folder:PATH/);
    expect(datasetSpecProblem('folder:')).toMatch(/needs a path/);
    expect(datasetSpecProblem(`folder:${join(root, 'nope')}`)).toMatch(/does not exist/);
  });
});

describe('score --dataset folder: end to end on the CPU', () => {
  const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
  const run = async (argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };
  const tiny = ['--arch', A, '--device', 'cpu', '--channels', '4', '--cells-per-stage', '1', '--batch', '6', '--quiet'];

  it('scores on the folder, with a classifier of its class count', async () => {
    const dir = join(root, 'colours');
    const f = await run(['score', ...tiny, '--dataset', `folder:${dir}`, '--proxies', 'params,wrcor']);
    expect(f.code, f.err).toBe(0);
    const row = JSON.parse(f.out.trim());
    expect(Number.isFinite(row.wrcor)).toBe(true);
    const c10 = await run(['score', ...tiny, '--proxies', 'params']);
    expect(c10.code, c10.err).toBe(0);
    // The head is 16 features -> classes (+ bias): 10 vs 3 classes differ by 7 x 17 weights.
    expect(Math.round((JSON.parse(c10.out.trim()).params - row.params) * 1e6)).toBe(7 * 17);
    const again = await run(['score', ...tiny, '--dataset', `folder:${dir}`, '--proxies', 'params,wrcor']);
    expect(JSON.parse(again.out.trim()).wrcor).toBe(row.wrcor);
  });
});
