/**
 * The CIFAR binary files as an ImageDataset: the raw records stay in memory (150 MB for the full
 * training set instead of 600 MB of floats) and images are normalised when asked for.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resizeNearest } from './batch-stream.js';
import { CIFAR10_CLASSES } from './cifar10.js';
import { CIFAR_FORMATS, type CifarFormat, type CifarName } from './cifar-official.js';
import { DataError } from './data-error.js';
import type { ImageDataset } from './image-dataset.js';
import { DataNotFoundError, findDataFile } from './paths.js';

const PIXELS = 3 * 32 * 32;

/**
 * The names of the classes, in label order: CIFAR-10's ten; CIFAR-100's fine labels from the
 * release's fine_label_names.txt beside its files (wgnas data fetch keeps it), else the indices.
 */
function cifarClassNames(format: CifarFormat, dir: string): string[] {
  if (format.name === 'cifar10') return [...CIFAR10_CLASSES];
  try {
    const names = readFileSync(join(dir, 'fine_label_names.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (names.length === format.classes) return names;
  } catch {
    // no names file: the indices
  }
  return Array.from({ length: format.classes }, (_, c) => String(c));
}

export const CIFAR10_SUBSET_FILES = { train: 'train_5000.bin', test: 'test_2000.bin' } as const;

export interface CifarDatasetOptions {
  /** Name shown in messages (default the format's). */
  name?: string;
  /** See ImageDataset.balanced (default true). */
  balanced?: boolean;
  classNames?: readonly string[];
}

/** Reads the split's files (all of them, in order), checking sizes and labels, naming the bad file. */
export function openCifarFiles(
  format: CifarFormat,
  split: 'train' | 'test',
  paths: readonly string[],
  o: CifarDatasetOptions = {},
): ImageDataset {
  const rec = format.labelBytes + PIXELS;
  const parts = paths.map((path) => {
    const bytes = readFileSync(path);
    if (bytes.length === 0 || bytes.length % rec !== 0) {
      throw new DataError(
        `${path}: size ${bytes.length} bytes is not a positive multiple of ${rec} (${format.labelBytes} label + 3072 pixel bytes per image); ` +
          `the file is truncated or not ${format.name} (CIFAR-10 records carry 1 label byte, CIFAR-100 records 2)`,
      );
    }
    return { path, bytes, count: bytes.length / rec };
  });
  const count = parts.reduce((s, p) => s + p.count, 0);
  const labels = new Uint16Array(count);
  const where: Array<{ part: (typeof parts)[number]; at: number }> = [];
  let i = 0;
  for (const part of parts) {
    for (let r = 0; r < part.count; r++, i++) {
      const label = part.bytes[r * rec + format.labelIndex];
      if (label >= format.classes)
        throw new DataError(`${part.path}: record ${r} has label ${label}, expected 0..${format.classes - 1} for ${format.name}`);
      labels[i] = label;
    }
    where.push({ part, at: i - part.count });
  }
  const locate = (idx: number) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= count)
      throw new RangeError(`${o.name ?? format.name}: image ${idx} is outside [0, ${count})`);
    let k = where.length - 1;
    while (where[k].at > idx) k--;
    return { part: where[k].part, r: idx - where[k].at };
  };
  const lut = format.mean.map((m, c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - m) / format.std[c]));
  return {
    name: o.name ?? format.name,
    split,
    classes: format.classes,
    classNames: o.classNames ?? cifarClassNames(format, dirname(paths[0])),
    count,
    labels,
    nativeSize: 32,
    balanced: o.balanced ?? true,
    mean: format.mean,
    std: format.std,
    async images(indices, size) {
      const x = new Float32Array(indices.length * PIXELS);
      indices.forEach((idx, n) => {
        const { part, r } = locate(idx);
        const src = r * rec + format.labelBytes;
        for (let c = 0; c < 3; c++) {
          const t = lut[c];
          const dst = n * PIXELS + c * 1024;
          for (let p = 0; p < 1024; p++) x[dst + p] = t[part.bytes[src + c * 1024 + p]];
        }
      });
      return size === 32 ? x : resizeNearest(x, indices.length, 3, 32, size);
    },
    source(idx) {
      const { part, r } = locate(idx);
      return `${part.path} record ${r}`;
    },
  };
}

const cache = new Map<string, ImageDataset>();

/** The full official split from the data roots, or null when its first file is in none of them. */
export function openOfficialCifar(name: CifarName, split: 'train' | 'test'): ImageDataset | null {
  const key = `${name}/${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const f = CIFAR_FORMATS[name];
  const found = f.files[split].map((file) => findDataFile(name, file));
  if (found.every((p) => p === null)) return null;
  const missing = f.files[split].filter((_, i) => found[i] === null);
  if (missing.length) {
    const dir = found.find((p) => p !== null)!.replace(/[\\/][^\\/]+$/, '');
    throw new DataNotFoundError(
      `${dir}: ${name} ${split} split is incomplete (missing ${missing.join(', ')}); get it again with: wgnas data fetch ${name} --force`,
    );
  }
  const ds = openCifarFiles(f, split, found as string[]);
  cache.set(key, ds);
  return ds;
}

/** The bundled CIFAR-10 subset (5000 train / 2000 test), or null when absent. Proxy batches keep the historical draw. */
export function openCifar10Subset(split: 'train' | 'test'): ImageDataset | null {
  const key = `subset/${split}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const path = findDataFile('cifar10', CIFAR10_SUBSET_FILES[split]);
  if (!path) return null;
  const ds = openCifarFiles(CIFAR_FORMATS.cifar10, split, [path], { name: 'cifar10', balanced: false });
  cache.set(key, ds);
  return ds;
}

/** Forgets the opened CIFAR files (tests point the data roots elsewhere between cases). */
export function clearCifarCache(): void {
  cache.clear();
}
