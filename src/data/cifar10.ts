/**
 * CIFAR-10 from the shared data (binary format: 1 label byte + 3072 CHW pixel bytes per record),
 * decoded to normalised NCHW f32 with the usual mean/std.
 */
import { readFileSync } from 'node:fs';
import type { Rng } from '../util/rng.js';
import { balancedIndices } from './balanced-sample.js';
import { dataFile } from './paths.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;
export const CIFAR10_IMAGE_FLOATS = 3 * 32 * 32;
const RECORD_BYTES = 1 + CIFAR10_IMAGE_FLOATS;

export const CIFAR10_FILES = { train: 'train_5000.bin', test: 'test_2000.bin' } as const;

/** An in-memory image set (the name stays from when CIFAR-10 was the only one). */
export interface Cifar10 {
  /** count x 3 x size x size, normalised, NCHW. Shared between callers: treat as read-only. */
  images: Float32Array;
  /** Class index of every image (16 bits: a folder may have more than 256 classes). */
  labels: Uint16Array;
  count: number;
  /** Image side (default 32). */
  size?: number;
  /** Normalisation used (default CIFAR-10's): augmentation pads with the value of a black pixel. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Class count (default 10). */
  classes?: number;
}

/** Decodes CIFAR binary records; `where` names the source in errors. */
export function decodeCifar10(bytes: Uint8Array, opts: { limit?: number; where?: string } = {}): Cifar10 {
  const where = opts.where ?? 'CIFAR-10 data';
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
    throw new Error(
      `${where}: size ${bytes.length} bytes is not a positive multiple of ${RECORD_BYTES} (1 label + 3072 pixel bytes per image); ` +
        `the file is truncated or not in CIFAR binary format`,
    );
  }
  const total = bytes.length / RECORD_BYTES;
  const limit = opts.limit ?? total;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${where}: limit must be a positive integer, got ${limit}`);
  const count = Math.min(limit, total);
  const images = new Float32Array(count * CIFAR10_IMAGE_FLOATS);
  const labels = new Uint16Array(count);
  // Per-channel affine map byte -> (b/255 - mean)/std, as a 256-entry table per channel.
  const lut = CIFAR10_MEAN.map((m, c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - m) / CIFAR10_STD[c]));
  for (let i = 0; i < count; i++) {
    const off = i * RECORD_BYTES;
    const label = bytes[off];
    if (label > 9) throw new Error(`${where}: record ${i} has label ${label}, expected 0..9`);
    labels[i] = label;
    for (let c = 0; c < 3; c++) {
      const t = lut[c];
      const src = off + 1 + c * 1024;
      const dst = i * CIFAR10_IMAGE_FLOATS + c * 1024;
      for (let p = 0; p < 1024; p++) images[dst + p] = t[bytes[src + p]];
    }
  }
  return { images, labels, count };
}

export function loadCifar10File(path: string, opts: { limit?: number } = {}): Cifar10 {
  return decodeCifar10(readFileSync(path), { ...opts, where: path });
}

const cache = new Map<string, Cifar10>();

/**
 * The shared CIFAR-10 split (train: 5000 images, test: 2000, interleaved by class). Decoded once per
 * process; `limit` returns views of the first `limit` images.
 */
export function loadCifar10(split: 'train' | 'test', opts: { limit?: number } = {}): Cifar10 {
  const file = CIFAR10_FILES[split];
  if (!file) throw new RangeError(`loadCifar10: split must be 'train' or 'test', got '${String(split)}'`);
  let ds = cache.get(split);
  if (!ds) {
    ds = loadCifar10File(dataFile('cifar10', file));
    cache.set(split, ds);
  }
  if (opts.limit === undefined || opts.limit >= ds.count) return ds;
  if (!Number.isInteger(opts.limit) || opts.limit < 1)
    throw new RangeError(`loadCifar10: limit must be a positive integer, got ${opts.limit}`);
  const n = opts.limit;
  return { images: ds.images.subarray(0, n * CIFAR10_IMAGE_FLOATS), labels: ds.labels.subarray(0, n), count: n };
}

export interface Batch {
  /** n x 3 x 32 x 32 normalised NCHW. */
  x: Float32Array;
  /** Labels as f32 class indices. */
  y: Float32Array;
}

/** Copies the given images into a fresh batch. */
export function batchOf(ds: Cifar10, indices: readonly number[]): Batch {
  const per = 3 * (ds.size ?? 32) ** 2;
  const x = new Float32Array(indices.length * per);
  const y = new Float32Array(indices.length);
  indices.forEach((idx, i) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.count) {
      throw new RangeError(`batchOf: index ${idx} at position ${i} is outside [0, ${ds.count})`);
    }
    x.set(ds.images.subarray(idx * per, (idx + 1) * per), i * per);
    y[i] = ds.labels[idx];
  });
  return { x, y };
}

/**
 * n images drawn without replacement, class-balanced: floor(n/10) per class, the remainder from
 * randomly chosen distinct classes (if a class runs short the rest comes from any class).
 * Order is shuffled so classes are mixed.
 */
export function sampleBatch(ds: Cifar10, n: number, rng: Rng): Batch & { indices: number[] } {
  if (!Number.isInteger(n) || n < 1 || n > ds.count)
    throw new RangeError(`sampleBatch: n must be an integer in [1, ${ds.count}], got ${n}`);
  const indices = balancedIndices(ds.labels, ds.count, ds.classes ?? 10, n, rng);
  return { ...batchOf(ds, indices), indices };
}

/**
 * Standard CIFAR augmentation on a normalised batch: pad 4 (with black, i.e. -mean/std after
 * normalisation, as torchvision pads before normalising), random size x size crop, horizontal flip
 * with probability 1/2. `norm` gives the image side and normalisation (CIFAR-10's at 32 by default;
 * an in-memory set carries its own). Returns a new array.
 */
export function augment(x: Float32Array, n: number, rng: Rng, norm: Pick<Cifar10, 'size' | 'mean' | 'std'> = {}): Float32Array {
  const S = norm.size ?? 32;
  const mean = norm.mean ?? CIFAR10_MEAN;
  const std = norm.std ?? CIFAR10_STD;
  const per = 3 * S * S;
  if (x.length !== n * per) {
    throw new RangeError(`augment: expected ${n} x 3 x ${S} x ${S} = ${n * per} floats, got ${x.length}`);
  }
  const out = new Float32Array(x.length);
  const pad = Math.max(1, Math.round(S / 8));
  for (let i = 0; i < n; i++) {
    const dy = rng.int(2 * pad + 1) - pad;
    const dx = rng.int(2 * pad + 1) - pad;
    const flip = rng.next() < 0.5;
    for (let c = 0; c < 3; c++) {
      const black = -mean[c] / std[c];
      const base = i * per + c * S * S;
      for (let r = 0; r < S; r++) {
        const sr = r + dy;
        for (let col = 0; col < S; col++) {
          // Flip the crop window: output column col shows cropped column S-1-col.
          const sc = (flip ? S - 1 - col : col) + dx;
          out[base + r * S + col] = sr >= 0 && sr < S && sc >= 0 && sc < S ? x[base + sr * S + sc] : black;
        }
      }
    }
  }
  return out;
}
