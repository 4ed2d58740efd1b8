/**
 * An image folder as a dataset: one sub-folder per class holding JPEG/PNG files (or train/ and
 * test|val/ folders, each laid out so; train/ alone serves the commands that read training images only). Images are decoded by sharp (libvips, on its own threads,
 * so decoding runs beside the JavaScript that uses the previous batch), resized so the shorter side
 * is the run's resolution and centre-cropped, and normalised with a per-channel mean/std computed
 * from a sample of the training images (or given).
 */
import { closeSync, type Dirent, existsSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { errnoReason } from '../util/errors.js';
import { DataError } from './data-error.js';
import type { ImageDataset, Normalisation } from './image-dataset.js';

const IMAGE_EXT = /\.(jpe?g|png)$/i;
/** Files whose first bytes are checked when the folder is opened (beyond that, at decode time). */
const HEADER_CHECK_LIMIT = 50_000;

export interface FolderScan {
  root: string;
  /** Class names, NFC (a macOS copy's NFD name is the same class); sorted, the label order. */
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
 * What entry `e` of folder `dir` is, following symbolic links (a class folder or image linked from
 * elsewhere counts as what it points to); a link to nothing is refused naming it. Only links are
 * stat'ed: a folder of a million images is listed without a million stats.
 */
function kindOf(dir: string, e: Dirent): 'dir' | 'file' | 'other' {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (!e.isSymbolicLink()) return 'other';
  const p = join(dir, e.name);
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    let link: string | null = null;
    try {
      link = lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
    } catch {
      // gone meanwhile: reported below as unreadable
    }
    if (link !== null) throw new DataError(`${p}: a symbolic link to ${link}, which does not exist`);
    throw new DataError(`${p}: cannot read it (${errnoReason(e)})`);
  }
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/** The entries of `dir` that are not hidden (dot files: .DS_Store, .ipynb_checkpoints). */
function visible(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
}

/**
 * Whether PATH is laid out in splits: a train/ folder beside test/ or val/, or alone holding
 * sub-folders (its class folders; a class named 'train' holds images).
 */
function hasSplits(r: string): boolean {
  const train = join(r, 'train');
  if (!isDir(train)) return false;
  if (isDir(join(r, 'test')) || isDir(join(r, 'val'))) return true;
  return visible(train).some((e) => isDir(join(train, e.name)));
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
  try {
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new DataError(`${path}: cannot read the image (${errnoReason(e)})`);
  }
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  return null;
}

/** A class folder: its name as on disk (to read it) and as compared and shown (NFC). */
interface ClassFolder {
  dir: string;
  name: string;
}

/**
 * The class folders of a split folder (symbolic links to folders included), sorted by their NFC
 * name (the class index order): a name written decomposed (NFD, as macOS copies write it) is the
 * same class as its composed form. Two folders of the same NFC name are refused.
 */
function classFolders(dir: string): ClassFolder[] {
  const found = visible(dir)
    .filter((e) => kindOf(dir, e) === 'dir')
    .map((e) => ({ dir: e.name, name: e.name.normalize('NFC') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < found.length; i++)
    if (found[i].name === found[i - 1].name)
      throw new DataError(
        `${join(dir, found[i].dir)}: the same class name as ${join(dir, found[i - 1].dir)} (one written composed, one decomposed); keep one of them`,
      );
  return found;
}

/**
 * The test split's classes must be the training split's, by name: label i is class folder i of the
 * sorted names on both sides, so another name (a, b, z against a, b, c) would score one class
 * against another. Names the folder that does not match.
 */
function checkSameClasses(testDir: string, test: readonly string[], trainDir: string): void {
  const train = classFolders(trainDir).map((c) => c.name);
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

/** The images of a split folder's class folders, counted by name only (no checks); null when unreadable. */
function countImages(dir: string): { classes: number; images: number } | null {
  try {
    const folders = classFolders(dir);
    const images = folders.reduce((n, c) => n + visible(join(dir, c.dir)).filter((e) => IMAGE_EXT.test(e.name)).length, 0);
    return { classes: folders.length, images };
  } catch {
    return null;
  }
}

/**
 * One line on what a folder dataset holds, for a command to say before its long work: the classes
 * and the images of each split found ('folder:/data/pets: 37 classes, 3680 images in train/, 3669
 * in val/'). The training split was opened (`train`); the test split is only counted, so a command
 * that does not read it does not fail on it.
 */
export function folderSummary(root: string, train: { classes: number; count: number }): string {
  const r = resolve(root);
  const head = `folder:${root}: ${train.classes} classes, ${train.count} images`;
  if (!hasSplits(r)) return `${head} (no train/ and test/ or val/ folders: no test split)`;
  const testDir = splitFolder(root, 'test');
  if (testDir === null) return `${head} in train/ (no test/ or val/ beside it)`;
  const test = countImages(testDir);
  const name = testDir.endsWith('test') ? 'test/' : 'val/';
  return `${head} in train/, ${test === null ? `${name} not read` : `${test.images} in ${name}`}`;
}

/** Lists the class folders and their images, refusing (naming the path) what cannot be a class dataset. */
export function scanImageFolder(dir: string): FolderScan {
  if (!existsSync(dir)) throw new DataError(`${dir}: no such folder`);
  if (!isDir(dir)) throw new DataError(`${dir}: not a folder (an image dataset is a folder with one sub-folder per class)`);
  const folders = classFolders(dir);
  const classNames = folders.map((c) => c.name);
  if (classNames.length === 0)
    throw new DataError(
      `${dir}: no class sub-folders (an image dataset is a folder with one sub-folder of JPEG/PNG images per class)`,
    );
  if (classNames.length > 65535) throw new DataError(`${dir}: ${classNames.length} class folders, at most 65535`);
  let checked = 0;
  const perClass = folders.map(({ dir: c }) => {
    const cdir = join(dir, c);
    const files: string[] = [];
    for (const e of visible(cdir)) {
      const { name } = e;
      const p = join(cdir, name);
      if (kindOf(cdir, e) === 'dir')
        throw new DataError(`${p}: a folder inside class folder ${c} (a class folder holds only JPEG/PNG images)`);
      if (!IMAGE_EXT.test(name)) throw new DataError(`${p}: not a JPEG or PNG image (expected .jpg, .jpeg or .png)`);
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

/**
 * One image as size x size RGB bytes (HWC): turned upright by its EXIF orientation (a phone photo
 * stored sideways), shorter side resized to `size`, centre crop. A decoder warning (extraneous bytes
 * before a marker, which PIL reads too) passes; a truncated or corrupt image is refused.
 */
export async function decodeImage(path: string, size: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' })
      .rotate()
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
