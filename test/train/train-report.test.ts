/**
 * What `wgnas train` reports, on a tiny separable image folder (CPU backend): --val's held-out
 * images (class-balanced, seeded) pick the best epoch; the default warm-up is cut to a fifth of a
 * short run (noted) so the lr still decays, a given one that fills the run is refused; every
 * epoch's first and last lr against the schedule; the bundled CIFAR-10 subset named as such in
 * every output; the curve's title wrapped within its 640 px; `search --out` writes an NB201 search's
 * cell as the wgnas-nb201 file train reads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageFolder } from '../../src/data/image-folder.js';
import { holdOut } from '../../src/train/holdout.js';
import { learningCurveSvg, niceTicks, textWidthPx, wrapText } from '../../src/train/plot.js';
import { warmupCosineLr } from '../../src/train/schedule.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { tinyNb201, wgnasInProcess } from '../helpers/cli.js';
import { flagArgs } from '../helpers/flags.js';
import { writeImageFolder } from '../helpers/datasets.js';

const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';
const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-train-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let data = '';
beforeAll(async () => {
  data = join(tmp, 'colours');
  await writeImageFolder(join(data, 'train'), [12, 12, 12, 12], { size: 40 });
  await writeImageFolder(join(data, 'test'), [5, 5, 5, 5], { size: 40 });
}, 60_000);

const CPU = flagArgs({ device: 'cpu', 'cpu-threads': '1', 'latency-runs': '0' });
const train = (out: string, flags: Record<string, string>) => [
  'train',
  ...tinyNb201(ARCH),
  ...flagArgs({ dataset: `folder:${data}`, batch: '8', lr: '0.05', ...flags }),
  ...CPU,
  '--out',
  join(tmp, out),
];
const report = (out: string) => JSON.parse(readFileSync(join(tmp, out, 'report.json'), 'utf8'));

describe('--val N', () => {
  it('holds out N training images, class-balanced and seeded, the rest in order', async () => {
    const ds = await openImageFolder(data, 'train', { size: 8 });
    const { train: t, val } = holdOut(ds, 10, 0);
    expect(t.count + val.count).toBe(48);
    // 10 of 4 classes: 2 or 3 of each.
    const perClass = [0, 1, 2, 3].map((c) => val.labels.filter((l) => l === c).length);
    expect(perClass.sort()).toEqual([2, 2, 3, 3]);
    const files = (d: typeof ds) => Array.from({ length: d.count }, (_, i) => d.source(i));
    expect(new Set([...files(t), ...files(val)]).size).toBe(48);
    expect(files(t)).toEqual(files(ds).filter((f) => !files(val).includes(f)));
    expect(files(holdOut(ds, 10, 0).val)).toEqual(files(val));
    expect(files(holdOut(ds, 10, 1).val)).not.toEqual(files(val));
    // The view decodes the images it names.
    const idx = [0, 3];
    expect(await val.images(idx, 8)).toEqual(
      await ds.images(
        idx.map((i) => files(ds).indexOf(files(val)[i])),
        8,
      ),
    );
  });

  it.skipIf(!hasCpu)(
    "picks the best epoch on the held-out images, reports both, records --val; the default warm-up is cut to a fifth of a short run and every epoch's lrs follow the schedule",
    { timeout: 180_000 },
    async () => {
      const r = await wgnasInProcess(train('val', { epochs: '2', val: '8' }));
      expect(r.code, r.err).toBe(0);
      // 40 images train in 5 steps of 8 per epoch: the default 1-epoch warm-up is cut to 0.4 epochs, 2 steps.
      expect(r.err).toContain(
        'note: the default warm-up (1 epoch) is cut to 20 % of the 2 epochs: 2 of 10 steps, so the learning rate decays to 0 (--warmup-epochs sets it)\n',
      );
      expect(r.err).toMatch(
        /: \d+ classes, 48 train \(8 of them held out: --val\) \/ 20 test images at 32x32, 2 epochs of 5 steps/,
      );
      const rep = report('val');
      expect(rep.version).toBe(2);
      expect(rep.settings).toMatchObject({ 'val-images': 8, 'train-images': 48, 'warmup-epochs': 0.4 });
      expect(rep.schedule).toEqual({ stepsPerEpoch: 5, totalSteps: 10, warmupSteps: 2, peakLr: 0.05 });
      const h = rep.history as Array<Record<string, number>>;
      h.forEach((e, i) => {
        expect(e.lrFirst).toBeCloseTo(warmupCosineLr(0.05, 5 * i, 10, 2), 15);
        expect(e.lrLast).toBeCloseTo(warmupCosineLr(0.05, 5 * i + 4, 10, 2), 15);
        expect(e.valAcc).toBeGreaterThanOrEqual(0);
        expect(e.lr).toBeUndefined();
      });
      // The last epoch ends decayed, not at the peak.
      expect(h[1].lrLast).toBeLessThan(0.05 * 0.05);
      const byVal = h.reduce((a, e) => (e.valAcc > a.valAcc ? e : a));
      expect(rep.best).toEqual({ selectedOn: 'val', epoch: byVal.epoch, valAccuracy: byVal.valAcc, testAccuracy: byVal.testAcc });
      expect(rep.valAccuracy).toBe(h[1].valAcc);
      expect(r.out).toMatch(/; val accuracy [\d.]+ %; best epoch by val \d \(val [\d.]+ %, test [\d.]+ %\);/);
      expect(r.err).toMatch(
        /epoch 1\/2: lr 0\.0250 to 0\.0427, train loss [\d.]+ acc [\d.]+ %, val loss [\d.]+ acc [\d.]+ %, test loss/,
      );

      // Without --val the best epoch is the test images' own, said so.
      const t = await wgnasInProcess([...train('noval', { epochs: '1' }), '--quiet']);
      expect(t.code, t.err).toBe(0);
      expect(report('noval').best).toMatchObject({ selectedOn: 'test', epoch: 1, valAccuracy: null });
      expect(report('noval').settings['val-images']).toBe(0);
      // Another --val (or none) trains on other images: a resume is refused naming it.
      for (const [run, val, msg] of [
        ['val', '4', /--resume: val-images was 8, now 4 in /],
        ['noval', '8', /--resume: val-images was 0, now 8 in /],
      ] as const) {
        const r2 = await wgnasInProcess([...train(run, { epochs: run === 'val' ? '2' : '1', val }), '--resume']);
        expect(r2.code, r2.err).toBe(2);
        expect(r2.err).toMatch(msg);
      }
      expect(t.out).toMatch(/; best of any epoch on the test images [\d.]+ % \(epoch 1\);/);
    },
  );

  it('refuses a --val that leaves too few images, and a warm-up that fills the run, in one line before any work', async () => {
    for (const [flags, msg] of [
      [{ val: '47' }, /--val 47 leaves 1 of the 48 training images of folder:.* to train on \(at least 2\)/],
      [{ val: '44' }, /--batch 8 is more than the 4 training images of folder:.* \(--val 44 held out\)/],
      [
        { epochs: '2', 'warmup-epochs': '2' },
        /--warmup-epochs 2 is the whole run of --epochs 2: the learning rate would never decay; give fewer warm-up epochs than --epochs/,
      ],
      [
        { recipe: 'nb201', 'warmup-epochs': '0.5' },
        /--warmup-epochs 0\.5: --recipe nb201 warms up whole epochs; give an integer/,
      ],
    ] as const) {
      const r = await wgnasInProcess(train('bad', flags));
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});

describe('the bundled CIFAR-10 subset', () => {
  it.skipIf(!hasCpu)(
    'is named as such, with the images used, wherever train names the dataset',
    { timeout: 120_000 },
    async () => {
      const out = join(tmp, 'subset');
      const r = await wgnasInProcess([
        'train',
        ...tinyNb201(ARCH),
        ...flagArgs({ dataset: 'cifar10', 'train-images': '64', 'test-images': '32', epochs: '1', batch: '32' }),
        ...CPU,
        '--out',
        out,
      ]);
      expect(r.code, r.err).toBe(0);
      // The subset by where it came from: a development checkout's (bundled), or a copy under $WGNAS_DATA_DIR (a clone's tests).
      const from = /using the \d+-image train subset from (\S+) \(/.exec(r.err)?.[1];
      const subset = r.err.includes('using the bundled') ? 'bundled subset' : from && `subset from ${from}`;
      const name = subset ? `cifar10 (${subset}: 64 train / 32 test images)` : 'cifar10';
      if (subset) expect(r.err).toContain(` on cifar10 (${subset}): 10 classes, 64 train / 32 test images`);
      expect(r.out).toContain(` after 1 epoch on ${name};`);
      const rep = report('subset');
      expect(rep.dataset).toBe(name);
      expect(rep.input.dataset).toBe(name);
      expect(rep.settings.dataset).toBe('cifar10');
      expect(JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8')).input.dataset).toBe(name);
      expect(readFileSync(join(out, 'curve.svg'), 'utf8')).toContain(`>${name}, 1 epoch, batch 32`);
    },
  );
});

describe('curve.svg', () => {
  const W = 640;
  /** Every text line's x and estimated right edge. */
  const lines = (svg: string) =>
    [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" font-size="(\d+)"( font-weight="bold")?[^>]*>([^<]*)<\/text>/g)].map((m) => ({
      x: Number(m[1]),
      size: Number(m[2]),
      bold: m[3] !== undefined,
      text: m[4].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
    }));
  const epoch = { epoch: 1, lrFirst: 0.1, lrLast: 0.05, trainLoss: 2, trainAcc: 0.2, testLoss: 2.1, testAcc: 0.25, seconds: 1 };

  it('wraps a long title onto two lines within the width (DejaVu Sans metrics), cut with … beyond; a short one stays one line', () => {
    const cells = Array.from({ length: 11 }, (_, i) => `pw${i % 2 ? 3 : 6}<0;dw7<1;pwl<2;=>3`).join(' | ');
    const title = `wgnas train: MobileNet cell network, layout cifar (${cells})`;
    const svg = learningCurveSvg(
      [epoch],
      title,
      'cifar10 (bundled subset: 5000 train / 2000 test images), 10 epochs, batch 64, lr 0.1; final test accuracy 25.00 %',
    );
    const head = lines(svg).filter((l) => l.x === 56 && (l.size === 14 || l.size === 11));
    expect(head.filter((l) => l.size === 14)).toHaveLength(2);
    for (const l of head) expect(l.x + textWidthPx(l.text, l.size, l.bold), l.text).toBeLessThanOrEqual(W);
    expect(head[1].text.endsWith('…')).toBe(true);
    expect(title.startsWith(head[0].text)).toBe(true);
    // What fits is left whole.
    const short = lines(learningCurveSvg([epoch], 'wgnas train: NAS-Bench-201 |none~0|+|none~0|none~1|', 'x'));
    expect(short.filter((l) => l.size === 14).map((l) => l.text)).toEqual([
      'wgnas train: NAS-Bench-201 |none~0|+|none~0|none~1|',
    ]);
  });

  it('draws the val curve when there is one; each axis at evenly spaced round ticks', () => {
    const withVal = [2.29, 2.2, 2.14].map((loss, i) => ({
      ...epoch,
      epoch: i + 1,
      trainLoss: loss,
      testLoss: loss + 0.01,
      valLoss: loss - 0.005,
      trainAcc: 0.1 * (i + 1),
      testAcc: 0.1 * (i + 1) + 0.02,
      valAcc: 0.1 * (i + 1) + 0.01,
    }));
    const svg = learningCurveSvg(withVal, 't', 'best epoch by val');
    const labels = [...svg.matchAll(/<polyline class="series" data-label="([^"]+)"/g)].map((m) => m[1]);
    expect(labels).toEqual(['train (smoothed)', 'val', 'test', 'train (augmented)', 'val', 'test']);
    // The val polyline has a point per epoch.
    const valLine = /data-label="val"[^>]*points="([^"]+)"/.exec(svg)![1];
    expect(valLine.split(' ')).toHaveLength(3);
    // Without val losses there is no val curve.
    expect(learningCurveSvg([epoch], 't')).not.toContain('data-label="val"');
    // The y ticks of each panel: values a round step apart, their positions evenly spaced.
    const yTicks = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*class="y-tick">([^<]*)</g)].map((m) => ({
      y: Number(m[1]),
      label: m[2],
    }));
    const ce = yTicks.slice(0, 5);
    expect(ce.map((t) => t.label)).toEqual(['2.10', '2.15', '2.20', '2.25', '2.30']);
    const acc = yTicks.slice(5);
    expect(acc.map((t) => t.label)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    for (const panel of [ce, acc]) {
      const gaps = panel.slice(1).map((t, i) => panel[i].y - t.y);
      for (const g of gaps) expect(g).toBeCloseTo(gaps[0], 0);
      const steps = panel.slice(1).map((t, i) => Number(t.label) - Number(panel[i].label));
      for (const d of steps) expect(d).toBeCloseTo(steps[0], 9);
    }
    const xTicks = [...svg.matchAll(/class="x-tick">(\d+)</g)].map((m) => Number(m[1]));
    expect(xTicks).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(niceTicks(0.0123, 0.0456).labels).toEqual(['0.01', '0.02', '0.03', '0.04', '0.05']);
  });

  it('wrapText breaks after spaces and cell separators, mid-word only for a word wider than the line', () => {
    expect(wrapText('aaaa bbbb cccc', textWidthPx('aaaa bbbb ', 10) * 1.03, 10, false, 3)).toEqual(['aaaa bbbb', 'cccc']);
    expect(wrapText('|a~0|+|b~1|', textWidthPx('|a~0|+', 10) * 1.03, 10, false, 3)).toEqual(['|a~0|+', '|b~1|']);
    const long = wrapText('x'.repeat(30), textWidthPx('x'.repeat(10), 10) * 1.03, 10, false, 5);
    expect(long).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(10)]);
  });
});

describe('search --out on NAS-Bench-201', () => {
  it.skipIf(!hasCpu)('writes the best cell as the wgnas-nb201 file train --net reads', { timeout: 120_000 }, async () => {
    const file = join(tmp, 'best.json');
    const r = await wgnasInProcess([
      'search',
      ...flagArgs({ budget: '2', batch: '8', 'cells-per-stage': '1', dataset: `folder:${data}`, device: 'cpu' }),
      ...['--cpu-threads', '1', '--quiet', '--out', file],
    ]);
    expect(r.code, r.err).toBe(0);
    const best = /best cell:\s+(\S+)/.exec(r.out)![1];
    expect(r.out).toContain(`wrote ${file}\n`);
    const { provenance, ...network } = JSON.parse(readFileSync(file, 'utf8'));
    expect(network).toEqual({
      format: 'wgnas-nb201',
      version: 1,
      arch: best,
      channels: 16,
      cellsPerStage: 1,
    });
    // What reruns the search: the command as given, its seed, device and threads (read past by train).
    expect(provenance).toMatchObject({ seed: 0, device: 'cpu', cpuThreads: 1, deviceName: 'native CPU (1 thread)' });
    expect(provenance.command).toMatch(/^wgnas search --budget 2 .* --out /);
    const t = await wgnasInProcess([
      'train',
      ...flagArgs({ net: file, dataset: `folder:${data}`, epochs: '1', batch: '8', 'test-images': '4' }),
      ...CPU,
      '--quiet',
      '--out',
      join(tmp, 'from-out'),
    ]);
    expect(t.code, t.err).toBe(0);
    expect(report('from-out').network).toContain(best);
  });
});
