/**
 * The images a training run records for --resume (resume-settings.ts splitsData): every label and
 * every image, so one changed pixel is refused where the 64 images per split an earlier wgnas hashed
 * missed it; a folder by its files' bytes and paths below it (a copy elsewhere resumes); a
 * checkpoint of that earlier wgnas resumes with a note when its sampled images match, and is
 * refused when they do not; that sample is decoded only for such a checkpoint. The resumed run says
 * so at its start.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordedData, recordedSplitsData, sampledDataNote, splitsData } from '../../src/cli/resume-settings.js';
import { openCifarFiles } from '../../src/data/cifar-dataset.js';
import { CIFAR_FORMATS } from '../../src/data/cifar-official.js';
import type { ImageDataset } from '../../src/data/image-dataset.js';
import { openImageFolder } from '../../src/data/image-folder.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { tinyNb201, wgnasInProcess } from '../helpers/cli.js';
import { cifarBytes, writeImageFolder } from '../helpers/datasets.js';
import { flagArgs } from '../helpers/flags.js';

const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-train-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * What wgnas recorded before it hashed every image (the reference for old checkpoints): every
 * label and 64 images spread over each split, decoded at `size`, then ' from ' and the origin.
 */
async function sampledText(splits: ImageDataset[], size: number, origin: string): Promise<string> {
  const h = createHash('sha256');
  for (const ds of splits) {
    const n = Math.min(64, ds.count);
    const x = await ds.images(
      Array.from({ length: n }, (_, k) => Math.floor((k * ds.count) / n)),
      size,
    );
    h.update(`${ds.split} ${ds.count} ${ds.classes}\0`);
    h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  }
  return `${h.digest('hex').slice(0, 12)} from ${origin}`;
}

describe('splitsData', () => {
  /** 200 CIFAR-10 records, record 101 (which the 64-image sample skips) with one pixel changed when `changed`. */
  const cifar = (name: string, changed: boolean) => {
    const bytes = cifarBytes(Array.from({ length: 200 }, (_, i) => i % 10));
    if (changed) bytes[101 * 3073 + 1 + 500] ^= 1;
    const path = join(tmp, name);
    writeFileSync(path, bytes);
    return openCifarFiles(CIFAR_FORMATS.cifar10, 'train', [path]);
  };

  it('hashes every image: one pixel of a record the old sample skipped is another fingerprint', async () => {
    const a = cifar('a.bin', false);
    const b = cifar('b.bin', true);
    const [ta, tb] = [(await splitsData([a], 32)).text, (await splitsData([b], 32)).text];
    expect(ta).toMatch(/^[0-9a-f]{12} from .*a\.bin \(200 images\)$/);
    expect(ta.split(' ')[0]).not.toBe(tb.split(' ')[0]);
    // The old sample saw the same images in both.
    expect((await sampledText([a], 32, 'x')).split(' ')[0]).toBe((await sampledText([b], 32, 'x')).split(' ')[0]);
    // The same images elsewhere: the saved text is kept, so only the content is compared.
    expect(recordedData(ta.replace('a.bin', 'moved.bin'), ta)).toBe(ta.replace('a.bin', 'moved.bin'));
    expect(recordedData(tb, ta)).toBe(ta);
  });

  it("an earlier wgnas's sampled fingerprint is compared in its own form, and noted", async () => {
    const a = cifar('a.bin', false);
    const now = await splitsData([a], 32);
    const old = await sampledText([a], 32, '/elsewhere/a.bin (200 images)');
    expect(await recordedSplitsData(old, now)).toBe(old);
    expect(await sampledDataNote(old, now, 'ck')).toBe(
      'note: ck recorded the fingerprint of an earlier wgnas, of 64 images per split: those match (this wgnas hashes every image)\n',
    );
    expect(await sampledDataNote(now.text, now, 'ck')).toBe('');
    const other = await sampledText([cifar('c.bin', false), a], 32, 'x');
    expect(await recordedSplitsData(other, now)).toBe(now.text);
    // The same images elsewhere, and no saved entry, as recordedData.
    const moved = now.text.replace('a.bin', 'moved.bin');
    expect(await recordedSplitsData(moved, now)).toBe(moved);
    expect(await recordedSplitsData(undefined, now)).toBe(now.text);
  });

  it("decodes the 64-image sample only for a saved fingerprint that is not this wgnas's, once", async () => {
    const a = cifar('a.bin', false);
    // The sample reads 64 images of 200 at the run's size; hashing every image reads them at their own.
    const sampleReads = vi.spyOn(a, 'images');
    const samples = () => sampleReads.mock.calls.filter(([idx]) => idx.length === 64).length;
    const now = await splitsData([a], 16);
    expect(sampleReads).toHaveBeenCalled();
    expect(samples()).toBe(0);
    // A fresh run, and a resume of this wgnas's checkpoint (here or elsewhere): no sample.
    expect(await recordedSplitsData(undefined, now)).toBe(now.text);
    expect(await recordedSplitsData(now.text.replace('a.bin', 'moved.bin'), now)).not.toBe(now.text);
    expect(await sampledDataNote(now.text, now, 'ck')).toBe('');
    expect(samples()).toBe(0);
    // An earlier wgnas's checkpoint: decoded once, for the check and its note.
    const old = await sampledText([a], 16, 'x');
    expect(samples()).toBe(1);
    expect(await recordedSplitsData(old, now)).toBe(old);
    expect(await sampledDataNote(old, now, 'ck')).not.toBe('');
    expect(samples()).toBe(2);
    expect(sampleReads.mock.calls.filter(([idx, size]) => idx.length === 64 && size === 16)).toHaveLength(2);
  });

  it("a folder by its files' bytes and their paths below it: a copy elsewhere matches, a changed file does not", async () => {
    const dir = join(tmp, 'folder');
    await writeImageFolder(join(dir, 'train'), [3, 3], { format: 'png' });
    const copy = join(tmp, 'copy');
    cpSync(dir, copy, { recursive: true });
    const at = async (root: string) =>
      splitsData([await openImageFolder(root, 'train', { size: 8, normalisation: { mean: [0, 0, 0], std: [1, 1, 1] } })], 8);
    const [a, b] = [await at(dir), await at(copy)];
    expect(a.text.split(' ')[0]).toBe(b.text.split(' ')[0]);
    expect(b.text).toContain(join(copy, 'train'));
    const file = join(copy, 'train', 'class1', 'img2.png');
    writeFileSync(file, await sharp(readFileSync(file)).modulate({ brightness: 1.01 }).png().toBuffer());
    expect((await at(copy)).text.split(' ')[0]).not.toBe(a.text.split(' ')[0]);
  });
});

describe('wgnas train --resume and its data', () => {
  const hasCpu = cpuTestBackend() !== null;
  let data = '';
  beforeAll(async () => {
    data = join(tmp, 'colours');
    await writeImageFolder(join(data, 'train'), [4, 4], { format: 'png', size: 16 });
    await writeImageFolder(join(data, 'test'), [2, 2], { format: 'png', size: 16 });
  }, 60_000);
  const args = (out: string, ...extra: string[]) => [
    'train',
    ...tinyNb201(ARCH),
    ...flagArgs({ dataset: `folder:${data}`, epochs: '3', batch: '4', device: 'cpu', 'cpu-threads': '1', 'latency-runs': '0' }),
    '--out',
    out,
    ...extra,
  ];
  /** The current checkpoint's state.json, with `edit` applied to its settings. */
  const editSettings = (out: string, edit: (s: Record<string, unknown>) => void) => {
    const ck = join(out, 'checkpoint');
    const state = join(ck, readFileSync(join(ck, 'current'), 'utf8').trim(), 'state.json');
    const j = JSON.parse(readFileSync(state, 'utf8'));
    edit(j.settings);
    writeFileSync(state, JSON.stringify(j));
  };

  it.skipIf(!hasCpu)(
    'resumes a checkpoint of an earlier wgnas (sampled images) with a note, says so at the start; changed images are refused',
    { timeout: 240_000 },
    async () => {
      const out = join(tmp, 'run');
      // 8 images, batch 4: 2 steps an epoch; killed in the second epoch, after the first checkpoint.
      const killed = await wgnasChild(args(out, '--quiet'), { killAt: 'train.step:3' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const [train, test] = [
        await openImageFolder(data, 'train', { size: 32 }),
        await openImageFolder(data, 'test', { size: 32 }),
      ];
      const old = await sampledText([train, test], 32, `${join(data, 'train')}/ (8 images)`);
      const before = (await splitsData([train, test], 32)).text;
      editSettings(out, (s) => (s['dataset images'] = old));
      const r = await wgnasInProcess(args(out, '--resume'));
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(
        `note: ${join(out, 'checkpoint')} recorded the fingerprint of an earlier wgnas, of 64 images per split: those match (this wgnas hashes every image)\n`,
      );
      // Said at the start, before the epochs it trains.
      expect(r.err).toMatch(new RegExp(`\\nresuming after epoch 1 of 3 from ${join(out, 'checkpoint')}\\nepoch 2/3: `));
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.history).toHaveLength(3);
      // The provenance records this run's hash of every image, not the matched sample of the earlier one.
      expect(report.provenance.data).toBe(before);
      expect(report.settings['dataset images']).toBe(old);
      expect(existsSync(join(out, 'weights.json'))).toBe(true);

      // A sampled fingerprint of other images, and a changed image under this wgnas's: refused naming the data.
      const again = join(tmp, 'again');
      const cut = await wgnasChild(args(again, '--quiet'), { killAt: 'train.step:3' });
      expect(cut.signal, cut.stderr).toBe('SIGKILL');
      editSettings(again, (s) => (s['dataset images'] = `0123456789ab from ${join(data, 'train')}/ (8 images)`));
      const other = await wgnasInProcess(args(again, '--resume'));
      expect(other.code).toBe(2);
      expect(other.err).toMatch(/--resume: dataset images was 0123456789ab from .*, now [0-9a-f]{12} from /);
      // An image changed in place after the checkpoint: this wgnas's fingerprint differs.
      const file = join(data, 'train', 'class0', 'img3.png');
      writeFileSync(file, await sharp(readFileSync(file)).modulate({ brightness: 1.02 }).png().toBuffer());
      const third = join(tmp, 'third');
      cpSync(join(again, 'checkpoint'), join(third, 'checkpoint'), { recursive: true });
      editSettings(third, (s) => (s['dataset images'] = before));
      const changed = await wgnasInProcess(args(third, '--resume'));
      expect(changed.code).toBe(2);
      expect(
        changed.err
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('note: ')),
      ).toEqual([
        expect.stringMatching(/^wgnas train: --resume: dataset images was [0-9a-f]{12} from .*, now [0-9a-f]{12} from /),
      ]);
    },
  );
});
