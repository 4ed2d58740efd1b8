/**
 * A clone without ../shared/data: the key commands run on the package's data/ plus the committed
 * CIFAR-10 images (test/fixtures/cifar10-mini, 1000 train / 200 test), each on its default data
 * settings (the searches' train/val split and batches follow the images there are), and without
 * images a command that needs them, the README's `wgnas search` included, ends in one line naming
 * `wgnas data fetch`. $WGNAS_SHARED_DATA_DIR=none removes the ../shared root and an empty
 * $WGNAS_CACHE_DIR the user cache, as on a fresh machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataRoots } from '../../src/data/paths.js';
import { BIN } from '../helpers/child.js';
import { nativeOrNull } from '../helpers/native.js';
import { CIFAR10_MINI_ROOT } from '../setup/data-roots.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-noshared-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function wgnas(args: string[], images: boolean) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    WGNAS_SHARED_DATA_DIR: 'none',
    WGNAS_CACHE_DIR: join(tmp, 'cache'),
  };
  if (images) env.WGNAS_DATA_DIR = CIFAR10_MINI_ROOT;
  else delete env.WGNAS_DATA_DIR;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const ARCH = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|';
const TABLE = ['--latency-table', 'data/latency/proxylessnas_mobile_trim.yaml', '--target-ms', '40'];

describe('no ../shared/data', () => {
  it('WGNAS_SHARED_DATA_DIR replaces or removes the ../shared root', () => {
    const saved = process.env.WGNAS_SHARED_DATA_DIR;
    try {
      process.env.WGNAS_SHARED_DATA_DIR = 'none';
      expect(dataRoots().map((r) => r.origin)).not.toContain('../shared/data');
      process.env.WGNAS_SHARED_DATA_DIR = tmp;
      expect(dataRoots().find((r) => r.origin === '../shared/data')?.dir).toBe(tmp);
    } finally {
      if (saved === undefined) delete process.env.WGNAS_SHARED_DATA_DIR;
      else process.env.WGNAS_SHARED_DATA_DIR = saved;
    }
  });

  it('data list finds the tables in the package', () => {
    const r = wgnas(['data', 'list', '--json'], false);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ name: string; origin: string | null; description: string }>;
    expect(rows.find((x) => x.name === 'nb201')?.origin).toBe('package');
    // The package has the accuracies, not the reference scores: the listing said it had both.
    expect(rows.find((x) => x.name === 'nb201')?.description).toBe(
      'NAS-Bench-201 accuracies (no nb201_zc_proxies.csv: correlate --reference needs it)',
    );
  });

  it(
    'search scores cells on the committed images and looks their accuracy up in the packaged table',
    { timeout: 300_000 },
    () => {
      if (!nativeOrNull()) return;
      const r = wgnas(['search', '--budget', '2', '--batch', '8', '--device', 'cpu', '--quiet'], true);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^best cell: +\|/m);
      expect(r.out).toMatch(/NAS-Bench-201's CIFAR-10 val accuracy of this cell: \d+\.\d+ %/);
    },
  );

  it('predict and correlate run on the packaged tables', () => {
    const p = wgnas(
      [
        'predict',
        '--table',
        'data/latency/proxylessnas_mobile_trim.yaml',
        '--net',
        'data/latency/proxylessnas_proxyless_mobile.config',
        '--missing',
        'nearest',
      ],
      false,
    );
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/\d+\.\d+ ms/);
    const scores = join(tmp, 'scores.csv');
    writeFileSync(
      scores,
      'arch,params\n' +
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,3\n' +
        '|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|,1\n' +
        '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|,2\n',
    );
    const c = wgnas(['correlate', '--scores', scores], false);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/params/);
    // params has a reference column; its emptiness is explained (the reference scores are not packaged).
    expect(c.err).toMatch(
      /^note: pytorch_ref_tau_same_cells stays empty: the PyTorch reference scores \(nb201\/nb201_zc_proxies.csv/m,
    );
  });

  it('a command that needs images and has none ends in one line naming wgnas data fetch', () => {
    const r = wgnas(['search', '--budget', '2', '--batch', '8', '--device', 'cpu', '--quiet'], false);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/dataset cifar10 not found .*get it with: wgnas data fetch cifar10/);
  });

  it("the README's wgnas search (no options) without images: one line saying to run wgnas data fetch cifar10", () => {
    const r = wgnas(['search'], false);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([
      expect.stringMatching(/^wgnas search: dataset cifar10 not found .*get it with: wgnas data fetch cifar10$/),
    ]);
  });
});

// Every key command on the committed images, on its defaults wherever data sizes are concerned (no
// --train / --val / --batch where a search splits the images), on the CPU backend.
describe('no ../shared/data: the key commands on the committed CIFAR-10 images', { timeout: 300_000 }, () => {
  const native = nativeOrNull() !== null;

  it('data list shows the images from $WGNAS_DATA_DIR and the tables from the package', () => {
    const r = wgnas(['data', 'list', '--json'], true);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ name: string; origin: string | null; files: string[] }>;
    expect(rows.find((x) => x.name === 'cifar10')).toMatchObject({
      origin: '$WGNAS_DATA_DIR',
      files: ['test_2000.bin', 'train_5000.bin'],
    });
    expect(rows.find((x) => x.name === 'nb201')?.origin).toBe('package');
    expect(rows.find((x) => x.name === 'latency')?.origin).toBe('package');
  });

  it("the README's wgnas search on its defaults", () => {
    if (!native) return;
    const r = wgnas(['search', '--device', 'cpu', '--quiet'], true);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^best cell: +\|/m);
    // 20 proposals; a repeated cell takes its score from the cache and is said so.
    const m = /evaluated (\d+) cells(?: for 20 proposals \((\d+) repeated one already scored\))? in/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1]) + Number(m![2] ?? 0)).toBe(20);
  });

  it('score: cells with their proxy score and NAS-Bench-201 accuracy', () => {
    if (!native) return;
    const r = wgnas(['score', '--sample', '2', '--channels', '4', '--device', 'cpu', '--quiet'], true);
    expect(r.code, r.err).toBe(0);
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { arch: string; wrcor: number; val_acc: number });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(Number.isFinite(row.wrcor)).toBe(true);
      expect(row.val_acc).toBeGreaterThan(0);
    }
  });

  it('proxyless: one step on the default split (4/5 + 1/5 of 1000 images) and batches', () => {
    if (!native) return;
    const r = wgnas(['proxyless', ...TABLE, '--warmup', '0', '--steps', '1', '--device', 'cpu'], true);
    expect(r.code, r.err).toBe(0);
    const net = JSON.parse(r.out) as { blocks: unknown[]; wgnas: { device: string } };
    expect(net.blocks.length).toBeGreaterThan(1);
    expect(net.wgnas.device).toBe('cpu');
  });

  it('evolve-space: one tiny iteration on the default split and batch', () => {
    if (!native) return;
    const args = ['--population', '2', '--k', '1', '--tournament', '1', '--iterations', '1', '--steps', '1', '--warmup', '0'];
    const r = wgnas(
      ['evolve-space', '--budget-madds', '3M', ...args, '--guide', '0', '--min-evals', '1', '--device', 'cpu'],
      true,
    );
    expect(r.code, r.err).toBe(0);
    const space = JSON.parse(r.out) as { format: string; layers: Array<{ cells: unknown[] }> };
    expect(space.format).toBe('wgnas-space');
    expect(space.layers.length).toBeGreaterThan(1);
    for (const l of space.layers) expect(l.cells).toHaveLength(1);
  });

  it('train: one epoch of a small NAS-Bench-201 network, evaluated on the 200 test images', () => {
    if (!native) return;
    const out = join(tmp, 'train');
    const net = ['--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1'];
    const r = wgnas(
      [
        'train',
        ...net,
        '--epochs',
        '1',
        '--train-images',
        '256',
        '--latency-runs',
        '0',
        '--device',
        'cpu',
        '--quiet',
        '--out',
        out,
      ],
      true,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy [\d.]+ % after 1 epoch on cifar10/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      settings: Record<string, unknown>;
      history: unknown[];
      testAccuracy: number;
    };
    expect(report.settings).toMatchObject({ dataset: 'cifar10', 'train-images': 256, 'test-images': 200, batch: 64 });
    expect(report.history).toHaveLength(1);
    expect(report.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(report.testAccuracy).toBeLessThanOrEqual(1);
  });
});
