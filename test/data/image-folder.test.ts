/**
 * Image folders as users have them: more than 256 classes (labels kept to the loss of a training
 * search), symbolic links (followed; a dangling one named), EXIF orientation, JPEGs with decoder
 * warnings PIL reads, class names written NFD on one side and NFC on the other, folder:~/PATH, and
 * the one line a command says about the folder before its long work.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { runSearchSplit } from '../../src/cli/dataset.js';
import { datasetSpecProblem, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { materialize } from '../../src/data/image-dataset.js';
import { decodeImage, folderSummary, openImageFolder, scanImageFolder } from '../../src/data/image-folder.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/search.js';
import { methodBackend } from '../helpers/backend.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';

const root = mkdtempSync(join(tmpdir(), 'wgnas-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ID = { normalisation: { mean: [0, 0, 0], std: [1, 1, 1] } as const };

/** A folder of `classes` classes (cNNN), `per` copies of one tiny PNG each: what counts is the labels. */
async function manyClasses(dir: string, classes: number, per: number): Promise<string> {
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 9, g: 99, b: 199 } } })
    .png()
    .toBuffer();
  for (let c = 0; c < classes; c++) {
    const cdir = join(dir, `c${String(c).padStart(3, '0')}`);
    mkdirSync(cdir, { recursive: true });
    for (let k = 0; k < per; k++) writeFileSync(join(cdir, `${k}.png`), png);
  }
  return dir;
}

describe('more than 256 classes', () => {
  it('labels survive materialize and reach the loss of a training search (299, not 43)', async ({ skip }) => {
    const ds = await openImageFolder(await manyClasses(join(root, 'c300'), 300, 2), 'train', ID);
    expect(ds.classes).toBe(300);
    const all = await materialize(ds, 0, ds.count, 8);
    expect(all.labels).toBeInstanceOf(Uint16Array);
    expect(Array.from(all.labels)).toEqual(Array.from(ds.labels));
    expect(Math.max(...all.labels)).toBe(299);

    const backend = await methodBackend();
    if (!backend) return skip();
    // Every label tensor the cross-entropy reads, by what was uploaded into it.
    const uploaded = new Map<Tensor, Float32Array>();
    const seen: number[][] = [];
    const spy: Backend = {
      ...backend,
      ops: {
        ...backend.ops,
        softmaxCrossEntropy: (logits, labels, smoothing) => {
          seen.push(Array.from(uploaded.get(labels) ?? []));
          return backend.ops.softmaxCrossEntropy(logits, labels, smoothing);
        },
      },
      upload: (data, shape) => {
        const t = backend.upload(data, shape);
        uploaded.set(t, Float32Array.from(data));
        return t;
      },
    };
    // 480 + 120 (4/5 + 1/5): every class has an image in the weights' part, whose one batch is all of it.
    const data = await runSearchSplit(ds, { train: 480, val: 120 });
    const cfg = {
      ...DEFAULT_SEARCH,
      layout: { ...TOY_LAYOUT, classes: 300 },
      costLoss: { kind: 'add' as const, target: 5, lambda: 0 },
      warmupSteps: 1,
      searchSteps: 0,
      batchSize: 480,
      valBatchSize: 120,
      logEvery: 1000,
      checkpointEvery: 0,
      augment: false,
    };
    const s = new ProxylessSearch(spy, cfg, data, TOY_COST);
    try {
      await s.run();
    } finally {
      s.dispose();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toHaveLength(480);
    expect(new Set(seen[0]).size).toBe(300);
    expect(Math.max(...seen[0])).toBe(299);
  });
});

describe('symbolic links', () => {
  it('a linked class folder and a linked image are read as what they point to', async () => {
    const dir = await writeImageFolder(join(root, 'links'), [2, 2], { format: 'png' });
    const elsewhere = await writeImageFolder(join(root, 'elsewhere'), [3], { format: 'png' });
    symlinkSync(join(elsewhere, 'class0'), join(dir, 'class2'));
    symlinkSync(join(dir, 'class0', 'img0.png'), join(dir, 'class1', 'linked.png'));
    const scan = scanImageFolder(dir);
    expect(scan.classNames).toEqual(['class0', 'class1', 'class2']);
    expect(scan.files.filter((f) => f.includes('class2'))).toHaveLength(3);
    expect(scan.files).toContain(join(dir, 'class1', 'linked.png'));
    // Split folders may be links too.
    const split = join(root, 'linked-splits');
    mkdirSync(split);
    symlinkSync(dir, join(split, 'train'));
    symlinkSync(await writeImageFolder(join(root, 'val-elsewhere'), [1, 1, 1], { format: 'png' }), join(split, 'val'));
    expect((await openImageFolder(split, 'train', ID)).classes).toBe(3);
    expect((await openImageFolder(split, 'test', ID)).count).toBe(3);
  });

  it('a link to nothing is refused in one line naming it, as a class folder or as an image', async () => {
    const dir = await writeImageFolder(join(root, 'dangling'), [2, 2], { format: 'png' });
    symlinkSync(join(root, 'gone'), join(dir, 'class9'));
    expect(() => scanImageFolder(dir)).toThrow(
      new RegExp(`^${join(dir, 'class9')}: a symbolic link to ${join(root, 'gone')}, which does not exist$`),
    );
    rmSync(join(dir, 'class9'));
    symlinkSync(join(root, 'gone.png'), join(dir, 'class1', 'x.png'));
    expect(() => scanImageFolder(dir)).toThrow(
      new RegExp(`^${join(dir, 'class1', 'x.png')}: a symbolic link to ${join(root, 'gone.png')}, which does not exist$`),
    );
  });
});

describe('decoding', () => {
  it('applies the EXIF orientation (a phone photo stored sideways is read upright)', async () => {
    // 40x30 stored: left half black, right half white. Orientation 6 shows it turned 90 degrees clockwise.
    const w = 40;
    const h = 30;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = w / 2; x < w; x++) px.fill(255, (y * w + x) * 3, (y * w + x + 1) * 3);
    const raw = () => sharp(px, { raw: { width: w, height: h, channels: 3 } });
    const tagged = join(root, 'exif6.jpg');
    await raw().jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(tagged);
    const upright = join(root, 'upright.jpg');
    await raw().rotate(90).jpeg({ quality: 100 }).toFile(upright);
    const a = await decodeImage(tagged, 8);
    const b = await decodeImage(upright, 8);
    // Upright: black on top, white below (the stored left edge is the top).
    expect(a[(1 * 8 + 4) * 3]).toBeLessThan(40);
    expect(a[(6 * 8 + 4) * 3]).toBeGreaterThan(215);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeLessThanOrEqual(8);
  });

  it('a JPEG with extraneous bytes before a marker (a decoder warning) is read; a truncated one is refused', async () => {
    const jpg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 60 } } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    const odd = join(root, 'extraneous.jpg');
    writeFileSync(odd, Buffer.concat([jpg.subarray(0, sos), Buffer.from([1, 2, 3]), jpg.subarray(sos)]));
    await expect(sharp(odd, { failOn: 'warning' }).raw().toBuffer()).rejects.toThrow(/extraneous bytes before marker/);
    const px = await decodeImage(odd, 4);
    expect(Math.abs(px[0] - 200)).toBeLessThanOrEqual(3);
    const cut = join(root, 'cut.jpg');
    writeFileSync(cut, jpg.subarray(0, jpg.length - 40));
    await expect(decodeImage(cut, 4)).rejects.toThrow(new RegExp(`^${cut}: cannot decode the image .*corrupt or truncated$`));
  });
});

describe('names and paths', () => {
  it('a class written NFD in test/ and NFC in train/ is one class (read from its own folder)', async () => {
    const dir = join(root, 'nfd');
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    for (const [split, name] of [
      ['train', nfc],
      ['test', nfd],
    ] as const) {
      await writeImageFolder(join(dir, split), [2, 2], { format: 'png' });
      mkdirSync(join(dir, split, name));
      writeFileSync(join(dir, split, name, 'a.png'), readFileSync(join(dir, split, 'class0', 'img0.png')));
    }
    const test = await openImageFolder(dir, 'test', ID);
    expect(test.classNames).toEqual([nfc, 'class0', 'class1']);
    expect(test.source(0)).toBe(join(dir, 'test', nfd, 'a.png'));
    // Both forms in one split are two folders of one name: refused, naming both.
    mkdirSync(join(dir, 'train', nfd));
    writeFileSync(join(dir, 'train', nfd, 'b.png'), readFileSync(join(dir, 'train', 'class0', 'img0.png')));
    expect(() => scanImageFolder(join(dir, 'train'))).toThrow(/the same class name as .*one written composed, one decomposed/);
  });

  it('folder:~/PATH is under the home folder', () => {
    const saved = process.env.HOME;
    try {
      process.env.HOME = root;
      mkdirSync(join(root, 'pets'), { recursive: true });
      expect(datasetSpecProblem('folder:~/pets')).toBeUndefined();
      expect(parseDatasetSpec('folder:~/pets')).toEqual({ kind: 'folder', path: join(root, 'pets') });
      expect(datasetSpecProblem('folder:~/nothing-here')).toMatch(
        new RegExp(`folder ${join(root, 'nothing-here')} does not exist`),
      );
    } finally {
      process.env.HOME = saved;
    }
  });
});

describe('what a command says about the folder', () => {
  it('classes and images of each split found', async () => {
    const flat = await writeImageFolder(join(root, 'say-flat'), [2, 3], { format: 'png' });
    expect(folderSummary(flat, { classes: 2, count: 5 })).toBe(
      `folder:${flat}: 2 classes, 5 images (no train/ and test/ or val/ folders: no test split)`,
    );
    const split = join(root, 'say-split');
    await writeImageFolder(join(split, 'train'), [2, 3], { format: 'png' });
    expect(folderSummary(split, { classes: 2, count: 5 })).toBe(
      `folder:${split}: 2 classes, 5 images in train/ (no test/ or val/ beside it)`,
    );
    await writeImageFolder(join(split, 'val'), [1, 1], { format: 'png' });
    expect(folderSummary(split, { classes: 2, count: 5 })).toBe(`folder:${split}: 2 classes, 5 images in train/, 2 in val/`);
  });

  it('a search split that leaves a class out of a part says so in one note line', async () => {
    const ds = await openImageFolder(await writeImageFolder(join(root, 'say-note'), [4, 1], { format: 'png' }), 'train', ID);
    let err = '';
    const data = await runSearchSplit(ds, { train: 4, val: 1 }, 32, { err: (s) => void (err += s) });
    expect(data.val.count).toBe(1);
    expect(err).toBe(
      `note: search split of folder:${join(root, 'say-note')} (--train 4, --val 1): of its 2 classes 1 has no --val image (class1); ` +
        'a class is on both sides only with 2 images or more among the first 5\n',
    );
  });

  it('score says it on stderr before scoring (stdout stays rows), not with --quiet nor in a refusal', async () => {
    const dir = join(root, 'say-score');
    await writeImageFolder(join(dir, 'train'), [3, 3], { format: 'png' });
    await writeImageFolder(join(dir, 'test'), [1, 1], { format: 'png' });
    const argv = ['score', '--arch', '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|none~2|'];
    const common = [...argv, '--device', 'cpu', '--channels', '4', '--cells-per-stage', '1', '--proxies', 'params'];
    const r = await wgnasInProcess([...common, '--batch', '6', '--dataset', `folder:${dir}`]);
    expect(r.code, r.err).toBe(0);
    expect(r.err.split('\n')).toContain(`folder:${dir}: 2 classes, 6 images in train/, 2 in test/`);
    expect(JSON.parse(r.out.trim()).params).toBeGreaterThan(0);
    const quiet = await wgnasInProcess([...common, '--batch', '6', '--quiet', '--dataset', `folder:${dir}`]);
    expect(quiet.err).not.toMatch(/2 classes/);
    const refused = await wgnasInProcess([...common, '--batch', '7', '--dataset', `folder:${dir}`]);
    expect(refused.err).toMatch(/^wgnas score: --batch 7 is more than the 6 training images of folder:/);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
  });
});
