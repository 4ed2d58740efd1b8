/**
 * Library callers (docs/api.md) pass values no CLI parser checked: a wrong one is named in one
 * error, never quietly turned into something else (a device typo into 'auto', a NaN batch size
 * into an empty batch, a missing score into the best one).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openBackend, resolveDevice, type DeviceChoice } from '../../src/backend/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, type DatasetSpec } from '../../src/data/dataset-spec.js';
import { dataFile } from '../../src/data/paths.js';
import { proxyBatch } from '../../src/zeroshot/index.js';
import { regularizedEvolution, randomSearch } from '../../src/search/index.js';
import { nb201Space } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';

const NO_WEBGPU = new URL('../helpers/no-webgpu.mjs', import.meta.url).href;
const NO_WEBGPU_CHILD = new URL('../helpers/no-webgpu-child.ts', import.meta.url).pathname;

describe('library input', () => {
  it('openBackend / resolveDevice refuse a device that is not auto, gpu or cpu', async () => {
    for (const bad of ['CPU', 'cuda', '', undefined]) {
      await expect(resolveDevice(bad as DeviceChoice)).rejects.toThrow(
        `device must be one of auto, gpu, cpu, got ${JSON.stringify(bad)}`,
      );
      await expect(openBackend(bad as DeviceChoice)).rejects.toThrow(RangeError);
    }
  });

  it("Dawn's dawn.node unloadable (glibc < 2.34): the library imports, the CPU backend runs, 'auto' is the CPU, a GPU request fails in one typed line", () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', NO_WEBGPU, NO_WEBGPU_CHILD], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ relu: [0, 2], auto: 'cpu', probe: null });
    const line =
      "WebGPU is unavailable: the 'webgpu' package's dawn.node failed to load (/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found " +
      "(required by /app/node_modules/webgpu/dist/linux-x64.dawn.node)); fixes: a system whose glibc has GLIBC_2.34 (Dawn's prebuilt dawn.node needs " +
      "glibc >= 2.34: Ubuntu 22.04, Debian 12, RHEL 9 or later), or the CPU backend (openBackend('cpu'); --device cpu at the command line)";
    for (const k of ['gpu', 'acquire'])
      expect(out[k], k).toEqual({ name: 'DawnUnavailableError', message: line, noAdapter: true, dawn: true, userFacing: true });
  });

  it('proxyBatch refuses a batch size that is not an integer', () => {
    for (const bad of [NaN, 3.5, '64' as unknown as number, 1]) {
      expect(() => proxyBatch(bad, 0)).toThrow(/^batch size must be an integer in \[2, \d+\], got /);
    }
  });

  it('openDataset names a wrong split or spec', async () => {
    await expect(openDataset({ kind: 'cifar10' }, 'val' as 'train')).rejects.toThrow(
      `openDataset: split must be 'train' or 'test', got "val"`,
    );
    await expect(openDataset({ kind: 'imagenet' } as unknown as DatasetSpec, 'train')).rejects.toThrow(
      /^openDataset: spec must be .* got \{"kind":"imagenet"\}$/,
    );
    await expect(openDataset('cifar10' as unknown as DatasetSpec, 'train')).rejects.toThrow(RangeError);
  });

  it('a search refuses a scorer that returns something other than numbers (NaN is a score)', async () => {
    const rng = () => new Rng(0);
    await expect(
      regularizedEvolution(nb201Space, async (c) => c.map(() => undefined as unknown as number), { budget: 3, rng: rng() }),
    ).rejects.toThrow(
      'search: scorer returned undefined (undefined) for architecture 0: scores must be numbers (NaN for a failure)',
    );
    await expect(
      randomSearch(nb201Space, async (c) => c.map(() => '1' as unknown as number), { budget: 2, rng: rng() }),
    ).rejects.toThrow(TypeError);
    const nan = await randomSearch(nb201Space, async (c) => c.map(() => NaN), { budget: 2, rng: rng() });
    expect(nan.bestScore).toBeNaN();
  });

  it("the CIFAR-10 subset missing (an installed package): the hint is not 'wgnas data fetch', which never writes it", () => {
    const keys = ['WGNAS_SHARED_DATA_DIR', 'WGNAS_CACHE_DIR', 'WGNAS_DATA_DIR'] as const;
    const saved = keys.map((k) => process.env[k]);
    try {
      process.env.WGNAS_SHARED_DATA_DIR = 'none';
      process.env.WGNAS_CACHE_DIR = mkdtempSync(join(tmpdir(), 'wgnas-nocache-'));
      delete process.env.WGNAS_DATA_DIR;
      expect(() => dataFile('cifar10', 'train_5000.bin')).toThrow(
        /cifar10\/train_5000\.bin not found .*; the bundled CIFAR-10 subset comes with a development checkout's \.\.\/shared\/data .*openDataset\(parseDatasetSpec\('cifar10'\), split\) and proxyMinibatch$/,
      );
      // The official files keep the fetch hint.
      expect(() => dataFile('cifar10', 'data_batch_1.bin')).toThrow(/; get it with: wgnas data fetch cifar10$/);
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
  });
});
