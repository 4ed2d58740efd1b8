/**
 * An image folder as a dataset: one sub-folder per class holding JPEG/PNG files (or train/ and
 * test|val/ folders, each laid out so; train/ alone serves the commands that read training images only). Images are decoded by sharp (libvips, on its own threads,
 * so decoding runs beside the JavaScript that uses the previous batch), resized so the shorter side
 * is the run's resolution and centre-cropped, and normalised with a per-channel mean/std computed
 * from a sample of the training images (or given).
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { DataError } from './data-error.js';
import type { ImageDataset, Normalisation } from './image-dataset.js';

const IMAGE_EXT = /\.(jpe?g|png)$/i;
/** Files whose first bytes are checked when the folder is opened (beyond that, at decode time). */
const HEADER_CHECK_LIMIT = 50_000;

export interface FolderScan {
  root: string;
  classNames: string[];
  /** Files in class-interleaved order (rank 0 of every class, then rank 1...), so any prefix is balanced. */
  files: string[];
  labels: Uint16Array;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether PATH is laid out in splits: a train/ folder beside test/ or val/, or alone holding
 * sub-folders (its class folders; a class named 'train' holds images).
 */
function hasSplits(r: string): boolean {
  const train = join(r, 'train');
  if (!isDir(train)) return false;
  if (isDir(join(r, 'test')) || isDir(join(r, 'val'))) return true;
  return readdirSync(train, { withFileTypes: true }).some((e) => !e.name.startsWith('.') && e.isDirectory());
}

/**
 * The folder holding the class folders of a split: PATH itself, or PATH/train and PATH/test (or
 * val); null for the test split where there is none (PATH alone, or train/ without test/ or val/).
 */
export function splitFolder(root: string, split: 'train' | 'test'): string | null {
  const r = resolve(root);
  if (!hasSplits(r)) return split === 'train' ? r : null;
  if (split === 'train') return join(r, 'train');
  return isDir(join(r, 'test')) ? join(r, 'test') : isDir(join(r, 'val')) ? join(r, 'val') : null;
}

function formatOf(path: string): 'jpeg' | 'png' | null {
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  return null;
}

/** The class folder names of a split folder, sorted (the class index order). */
function classFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * The test split's classes must be the training split's, by name: label i is class folder i of the
 * sorted names on both sides, so another name (a, b, z against a, b, c) would score one class
 * against another. Names the folder that does not match.
 */
function checkSameClasses(testDir: string, test: readonly string[], trainDir: string): void {
  const train = classFolders(trainDir);
  const extra = test.find((c) => !train.includes(c));
  const list = train.length > 12 ? `${train.slice(0, 12).join(', ')}, ...` : train.join(', ');
  if (extra !== undefined)
    throw new DataError(
      `${join(testDir, extra)}: class folder '${extra}' is not a class of the training split ${trainDir} (${list}); the test split needs the same class folders`,
    );
  const missing = train.find((c) => !test.includes(c));
  if (missing !== undefined)
    throw new DataError(
      `${testDir}: has no class folder '${missing}' (a class of the training split ${trainDir}); the test split needs the same class folders`,
    );
}

/** Lists the class folders and their images, refusing (naming the path) what cannot be a class dataset. */
export function scanImageFolder(dir: string): FolderScan {
  if (!existsSync(dir)) throw new DataError(`${dir}: no such folder`);
  if (!isDir(dir)) throw new DataError(`${dir}: not a folder (an image dataset is a folder with one sub-folder per class)`);
  const classNames = classFolders(dir);
  if (classNames.length === 0)
    throw new DataError(
      `${dir}: no class sub-folders (an image dataset is a folder with one sub-folder of JPEG/PNG images per class)`,
    );
  if (classNames.length > 65535) throw new DataError(`${dir}: ${classNames.length} class folders, at most 65535`);
  let checked = 0;
  const perClass = classNames.map((c) => {
    const cdir = join(dir, c);
    const files: string[] = [];
    for (const e of readdirSync(cdir, { withFileTypes: true }).filter((x) => !x.name.startsWith('.'))) {
      const p = join(cdir, e.name);
      if (e.isDirectory())
        throw new DataError(`${p}: a folder inside class folder ${c} (a class folder holds only JPEG/PNG images)`);
      if (!IMAGE_EXT.test(e.name)) throw new DataError(`${p}: not a JPEG or PNG image (expected .jpg, .jpeg or .png)`);
      if (checked++ < HEADER_CHECK_LIMIT && formatOf(p) === null)
        throw new DataError(`${p}: not a JPEG or PNG file (its first bytes are neither format's signature)`);
      files.push(p);
    }
    if (files.length === 0) throw new DataError(`${cdir}: class folder ${c} has no JPEG/PNG images`);
    return files.sort();
  });
  // One class: every image has the same label, so any classifier scores 100 %: not a dataset to learn.
  if (classNames.length === 1)
    throw new DataError(
      `${dir}: one class folder (${classNames[0]}); a classifier needs at least 2 classes (one sub-folder per class)`,
    );
  const files: string[] = [];
  const labels: number[] = [];
  const most = Math.max(...perClass.map((l) => l.length));
  for (let r = 0; r < most; r++) {
    perClass.forEach((l, c) => {
      if (r < l.length) {
        files.push(l[r]);
        labels.push(c);
      }
    });
  }
  return { root: dir, classNames, files, labels: Uint16Array.from(labels) };
}

/** One image as size x size RGB bytes (HWC): shorter side resized to `size`, centre crop. */
export async function decodeImage(path: string, size: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(path, { failOn: 'warning' })
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== size || info.height !== size) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
    }
    return data;
  } catch (e) {
    throw new DataError(
      `${path}: cannot decode the image (${(e as Error).message.split('\n')[0]}); the file is corrupt or truncated`,
    );
  }
}

/** Per-channel mean/std of pixel/255 over images `files` decoded at `size`. */
export async function channelStats(files: readonly string[], size: number): Promise<Normalisation> {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const decoded = await Promise.all(files.map((f) => decodeImage(f, size)));
  for (const px of decoded) {
    for (let i = 0; i < px.length; i++) {
      const v = px[i] / 255;
      sum[i % 3] += v;
      sq[i % 3] += v * v;
    }
  }
  const n = files.length * size * size;
  const mean = sum.map((s) => s / n);
  // A constant channel (std 0) would divide by zero: floor it.
  const std = sq.map((s, c) => Math.max(1e-3, Math.sqrt(Math.max(0, s / n - mean[c] ** 2))));
  return { mean: mean as [number, number, number], std: std as [number, number, number] };
}

/** Evenly spaced files of the (class-interleaved) list, at most `n`. */
export function statsSample(files: readonly string[], n: number): string[] {
  if (files.length <= n) return [...files];
  return Array.from({ length: n }, (_, i) => files[Math.floor((i * files.length) / n)]);
}

export interface ImageFolderOptions {
  /** The run's resolution, used for the statistics sample (default 32). */
  size?: number;
  /** Given normalisation; default: computed from `statsImages` training images. */
  normalisation?: Normalisation;
  statsImages?: number;
}

const statsCache = new Map<string, Normalisation>();

/** Opens a split of an image folder (the test split only where PATH has train/ and test|val/). */
export async function openImageFolder(root: string, split: 'train' | 'test', o: ImageFolderOptions = {}): Promise<ImageDataset> {
  const name = `folder:${root}`;
  const dir = splitFolder(root, split);
  if (dir === null) {
    const r = resolve(root);
    throw new DataError(
      hasSplits(r)
        ? `${r}: has train/ but no test/ (or val/) beside it: this command needs the test split's images; put its class folders under ${join(r, 'test')}`
        : `${r}: no test split (put the class folders under ${join(r, 'train')} and ${join(r, 'test')})`,
    );
  }
  const scan = scanImageFolder(dir);
  if (split === 'test') checkSameClasses(dir, scan.classNames, splitFolder(root, 'train')!);
  const size = o.size ?? 32;
  let norm = o.normalisation;
  if (!norm) {
    const trainDir = splitFolder(root, 'train')!;
    const key = `${trainDir}@${size}`;
    norm = statsCache.get(key);
    if (!norm) {
      const train = trainDir === dir ? scan : scanImageFolder(trainDir);
      norm = await channelStats(statsSample(train.files, o.statsImages ?? 256), size);
      statsCache.set(key, norm);
    }
  }
  const { mean, std } = norm;
  return {
    name,
    split,
    classes: scan.classNames.length,
    classNames: scan.classNames,
    count: scan.files.length,
    labels: scan.labels,
    nativeSize: null,
    balanced: true,
    mean,
    std,
    async images(indices, s) {
      const per = 3 * s * s;
      const x = new Float32Array(indices.length * per);
      const lut = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - mean[c]) / std[c]));
      await Promise.all(
        indices.map(async (idx, n) => {
          if (!Number.isInteger(idx) || idx < 0 || idx >= scan.files.length)
            throw new RangeError(`${name}: image ${idx} is outside [0, ${scan.files.length})`);
          const px = await decodeImage(scan.files[idx], s);
          // HWC bytes -> normalised CHW floats.
          for (let p = 0; p < s * s; p++) for (let c = 0; c < 3; c++) x[n * per + c * s * s + p] = lut[c][px[p * 3 + c]];
        }),
      );
      return x;
    },
    source: (i) => scan.files[i],
  };
}
