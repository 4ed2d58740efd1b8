/** Tiny datasets the tests write themselves: image folders (sharp) and CIFAR-format binaries. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** A solid-colour image's RGB for class c, image k (distinct, smooth: JPEG keeps it within a few levels). */
export const colourOf = (c: number, k: number): [number, number, number] => [
  (40 + 60 * c + 7 * k) % 256,
  (200 - 30 * c + 11 * k) % 256,
  (90 + 45 * c) % 256,
];

/** A folder of `perClass[c]` images per class, solid colours, PNG or JPEG, side `size`. */
export async function writeImageFolder(
  dir: string,
  perClass: readonly number[],
  o: { format?: 'png' | 'jpeg'; size?: number } = {},
): Promise<string> {
  const size = o.size ?? 32;
  for (let c = 0; c < perClass.length; c++) {
    const cdir = join(dir, `class${c}`);
    mkdirSync(cdir, { recursive: true });
    for (let k = 0; k < perClass[c]; k++) {
      const [r, g, b] = colourOf(c, k);
      const img = sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } });
      const fmt = o.format ?? (k % 2 ? 'jpeg' : 'png');
      if (fmt === 'png') await img.png().toFile(join(cdir, `img${k}.png`));
      else await img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(join(cdir, `img${k}.jpg`));
    }
  }
  return dir;
}

/** CIFAR records: `labels` give the label bytes of each record (1 for CIFAR-10, [coarse, fine] for CIFAR-100); pixel p of channel c of record i is (i*31 + c*7 + p) % 256. */
export function cifarBytes(labels: ReadonlyArray<number | readonly number[]>): Buffer {
  const lb = Array.isArray(labels[0]) ? (labels[0] as number[]).length : 1;
  const rec = lb + 3072;
  const out = Buffer.alloc(labels.length * rec);
  labels.forEach((l, i) => {
    const ls = Array.isArray(l) ? l : [l as number];
    ls.forEach((v, j) => (out[i * rec + j] = v));
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[i * rec + lb + c * 1024 + p] = (i * 31 + c * 7 + p) % 256;
  });
  return out;
}

export function writeFile(path: string, bytes: Buffer | string): string {
  writeFileSync(path, bytes);
  return path;
}

/**
 * A folder of `perClass` JPEGs per class with seeded random pixels, each image its own size
 * (`sizes`, cycled): what a resize/crop to the run's resolution has to handle. Deterministic in seed.
 */
export async function writeNoiseImageFolder(
  dir: string,
  classes: number,
  perClass: number,
  o: { sizes?: ReadonlyArray<readonly [number, number]>; seed?: number } = {},
): Promise<string> {
  const sizes = o.sizes ?? [
    [300, 240],
    [224, 224],
    [160, 250],
  ];
  let state = (o.seed ?? 1) >>> 0 || 1;
  const next = () => {
    // xorshift32: enough randomness for pixels, no dependency.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state & 255;
  };
  let i = 0;
  for (let c = 0; c < classes; c++) {
    const cdir = join(dir, `class${c}`);
    mkdirSync(cdir, { recursive: true });
    for (let k = 0; k < perClass; k++, i++) {
      const [width, height] = sizes[i % sizes.length];
      const px = Buffer.alloc(width * height * 3);
      for (let p = 0; p < px.length; p++) px[p] = next();
      await sharp(px, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 90 })
        .toFile(join(cdir, `img${k}.jpg`));
    }
  }
  return dir;
}

/** Bit-identical float arrays (toEqual walks a 150 000-float 224x224 image element by element: slow). */
export function sameFloats(a: Float32Array, b: Float32Array): boolean {
  const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return a.length === b.length && bytes(a).equals(bytes(b));
}
