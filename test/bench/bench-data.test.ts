/**
 * The bench scripts' images (bench/bench-data.ts): --dataset as the commands open it, so a user with
 * the fetched CIFAR-10 (no dev-only subset) can run them; on the bundled subset the proxy batch is
 * proxyBatch's, image for image; a dataset that is not there is one line, exit 2, before any work.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { benchProxyBatch, benchSearchSplit, benchTestSet, openBenchData } from '../../bench/bench-data.js';
import { clearCifarCache, openCifar10Subset } from '../../src/data/cifar-dataset.js';
import { proxyBatch } from '../../src/proxies/batch.js';
import { cifarBytes, sameFloats, writeFile } from '../helpers/datasets.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-bench-data-'));
const root = fileURLToPath(new URL('../..', import.meta.url));
const savedDataDir = process.env.WGNAS_DATA_DIR;
afterEach(() => {
  if (savedDataDir === undefined) delete process.env.WGNAS_DATA_DIR;
  else process.env.WGNAS_DATA_DIR = savedDataDir;
  clearCifarCache();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The official CIFAR-10 layout, tiny: 4 images per training file (labels 0..9 cycling), 6 test images. */
function fakeOfficial(): string {
  const dir = join(tmp, 'official');
  mkdirSync(join(dir, 'cifar10'), { recursive: true });
  for (let f = 1; f <= 5; f++)
    writeFile(join(dir, 'cifar10', `data_batch_${f}.bin`), cifarBytes([0, 1, 2, 3].map((k) => (4 * (f - 1) + k) % 10)));
  writeFile(join(dir, 'cifar10', 'test_batch.bin'), cifarBytes([9, 8, 7, 6, 5, 4]));
  return dir;
}

describe('bench scripts: the images of --dataset', () => {
  it('takes the fetched official CIFAR-10 when it is there: proxy batch, search split, test images', async () => {
    process.env.WGNAS_DATA_DIR = fakeOfficial();
    clearCifarCache();
    const d = await openBenchData(undefined, 'test');
    expect(d.spec).toBe('cifar10');
    expect(d.note).toBeUndefined();
    expect(d.train.count).toBe(20);
    const b = await benchProxyBatch(d, 10, 0, 'test');
    expect(b.n).toBe(10);
    expect(b.x.length).toBe(10 * 3 * 32 * 32);
    // Class-balanced, as wgnas score draws the official set: each of the 10 classes once.
    expect([...b.y].sort((a, c) => a - c)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const split = await benchSearchSplit(d, 12, 8, 'test');
    expect([split.train.count, split.val.count]).toEqual([12, 8]);
    expect([...split.train.labels.slice(0, 5)]).toEqual([0, 1, 2, 3, 4]);
    const test = await benchTestSet(d, 2000, 'test');
    expect(test.count).toBe(6);
    expect([...test.labels]).toEqual([9, 8, 7, 6, 5, 4]);
  });

  it("on the bundled subset (a development checkout), the proxy batch is proxyBatch's, bit for bit", async ({ skip }) => {
    if (!openCifar10Subset('train') || process.env.WGNAS_DATA_DIR) return skip();
    const d = await openBenchData('cifar10', 'test');
    expect(d.note).toMatch(/full CIFAR-10 not found/);
    const ours = await benchProxyBatch(d, 64, 3, 'test');
    const before = proxyBatch(64, 3);
    expect(sameFloats(ours.x, before.x)).toBe(true);
    expect([...ours.y]).toEqual([...before.y]);
  });

  function script(file: string, args: string[]) {
    const empty = join(tmp, 'empty');
    mkdirSync(join(empty, 'cache'), { recursive: true });
    return spawnSync(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, WGNAS_DATA_DIR: empty, WGNAS_SHARED_DATA_DIR: 'none', WGNAS_CACHE_DIR: join(empty, 'cache') },
    });
  }

  it('no CIFAR-10 anywhere: one line naming the dataset and the fetch command, exit 2, no stack', () => {
    for (const [file, name, args] of [
      ['bench/zeroshot.bench.ts', 'zeroshot bench', []],
      ['bench/cpu-vs-torch.ts', 'cpu-vs-torch', ['--no-torch']],
    ] as const) {
      const r = script(file, [...args]);
      const lines = r.stderr.trim().split('\n');
      expect(r.status, r.stderr).toBe(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^${name}: dataset cifar10 not found \\(looked for cifar10/data_batch_1\\.bin in .*\\); get it with: wgnas data fetch cifar10$`,
        ),
      );
    }
  });

  it('a --dataset of another class count, or a bad one, is refused in one line', () => {
    const r = script('bench/cpu-vs-torch.ts', ['--dataset', 'cifar100']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe('cpu-vs-torch: --dataset cifar100 has 100 classes; these networks classify 10\n');
    const bad = script('bench/cpu-vs-torch.ts', ['--dataset', 'imagenet']);
    expect(bad.status, bad.stderr).toBe(2);
    expect(bad.stderr).toBe("cpu-vs-torch: --dataset must be cifar10, cifar100 or folder:PATH, got 'imagenet'\n");
  });
});
