/**
 * The official CIFAR-10 / CIFAR-100 binary releases as `wgnas data fetch` unpacks them:
 * cifar10/data_batch_{1..5}.bin + test_batch.bin (1 label byte + 3072 CHW pixel bytes per record),
 * cifar100/train.bin + test.bin (coarse label byte, fine label byte, 3072 pixel bytes; fine labels used).
 */
import { readFileSync } from 'node:fs';
import { dataFile } from './paths.js';

export type CifarName = 'cifar10' | 'cifar100';

export interface CifarFormat {
  name: CifarName;
  classes: number;
  /** Label bytes before the pixels, and which one is the label used. */
  labelBytes: number;
  labelIndex: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  files: { train: string[]; test: string[] };
  trainCount: number;
  testCount: number;
}

export const CIFAR_FORMATS: Readonly<Record<CifarName, CifarFormat>> = {
  cifar10: {
    name: 'cifar10',
    classes: 10,
    labelBytes: 1,
    labelIndex: 0,
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
    trainCount: 50000,
    testCount: 10000,
  },
  cifar100: {
    name: 'cifar100',
    classes: 100,
    labelBytes: 2,
    labelIndex: 1,
    mean: [0.5071, 0.4865, 0.4409],
    std: [0.2673, 0.2564, 0.2762],
    files: { train: ['train.bin'], test: ['test.bin'] },
    trainCount: 50000,
    testCount: 10000,
  },
};

export interface CifarSet {
  format: CifarFormat;
  /** count x 3 x 32 x 32, normalised with the dataset's mean/std, NCHW. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

const PIXELS = 3 * 32 * 32;

/** Decodes records of one file; `where` names it in errors. Appends into `into` at `at`. */
function decodeInto(bytes: Uint8Array, f: CifarFormat, where: string, into: CifarSet, at: number): number {
  const rec = f.labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new Error(
      `${where}: size ${bytes.length} bytes is not a positive multiple of ${rec} (${f.labelBytes} label + 3072 pixel bytes per image); the file is truncated or not ${f.name}`,
    );
  }
  const n = bytes.length / rec;
  const lut = f.mean.map((m, c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - m) / f.std[c]));
  for (let i = 0; i < n; i++) {
    const off = i * rec;
    const label = bytes[off + f.labelIndex];
    if (label >= f.classes) throw new Error(`${where}: record ${i} has label ${label}, expected 0..${f.classes - 1}`);
    into.labels[at + i] = label;
    for (let c = 0; c < 3; c++) {
      const t = lut[c];
      const src = off + f.labelBytes + c * 1024;
      const dst = (at + i) * PIXELS + c * 1024;
      for (let p = 0; p < 1024; p++) into.images[dst + p] = t[bytes[src + p]];
    }
  }
  return n;
}

/** Reads one split from explicit files (all of the split's files, in order). */
export function readCifarFiles(format: CifarFormat, paths: readonly string[]): CifarSet {
  const buffers = paths.map((p) => readFileSync(p));
  const rec = format.labelBytes + PIXELS;
  const total = buffers.reduce((s, b) => s + Math.floor(b.length / rec), 0);
  const set: CifarSet = { format, images: new Float32Array(total * PIXELS), labels: new Uint8Array(total), count: total };
  let at = 0;
  buffers.forEach((b, i) => (at += decodeInto(b, format, paths[i], set, at)));
  return set;
}

const cache = new Map<string, CifarSet>();

/** The full official split, from the data roots (fetched with `wgnas data fetch NAME`). Decoded once per process. */
export function loadCifar(name: CifarName, split: 'train' | 'test'): CifarSet {
  const key = `${name}/${split}`;
  let set = cache.get(key);
  if (!set) {
    const f = CIFAR_FORMATS[name];
    set = readCifarFiles(
      f,
      f.files[split].map((file) => dataFile(name, file)),
    );
    cache.set(key, set);
  }
  return set;
}
