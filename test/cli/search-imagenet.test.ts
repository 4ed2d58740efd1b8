/**
 * Zero-shot search of the ImageNet-layout MBConv space (the hand-designed ProxylessNAS candidates
 * at 224) on an image folder written by the test: the proxies' minibatch is the folder decoded at
 * 224, the proxies score 224x224 networks, and `wgnas search --space-file` keeps a MAdds budget
 * counted at 224.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scoreArch } from '../../src/autospace/cell-arch-net.js';
import type { Backend } from '../../src/backend/index.js';
import { run as searchCli } from '../../src/cli/commands/search.js';
import { openRunDataset, runProxyBatch } from '../../src/cli/dataset.js';
import { resizeNearest } from '../../src/data/batch-stream.js';
import { proxyMinibatch } from '../../src/data/image-dataset.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { archCost } from '../../src/mobilenet/cost/model.js';
import { tableCost } from '../../src/mobilenet/cost/table.js';
import { IMAGENET_LAYOUT } from '../../src/mobilenet/layout.js';
import { archMadds } from '../../src/mobilenet/madds.js';
import { handDesignedSpace, loadSpace } from '../../src/mobilenet/space-file.js';
import { methodBackend } from '../helpers/backend.js';
import { halfwayCost } from '../helpers/cases.js';
import { sameFloats, writeNoiseImageFolder } from '../helpers/datasets.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-search-imagenet-'));
let folder: string;
let spaceFile: string;
let backend: Backend | null;
beforeAll(async () => {
  backend = await methodBackend();
  folder = await writeNoiseImageFolder(join(tmp, 'images'), 4, 3);
  spaceFile = join(tmp, 'hand-imagenet.json');
  writeFileSync(spaceFile, JSON.stringify(handDesignedSpace(IMAGENET_LAYOUT)));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ctx = { io: { out: () => undefined, err: () => undefined }, given: new Set<string>() };

describe('zero-shot search at 224 on an image folder', () => {
  /** `wgnas search` of the ImageNet space file on the image folder, its output muted. */
  async function searchFolder(more: string[]): Promise<void> {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const std = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await searchCli(['--space-file', spaceFile, '--dataset', `folder:${folder}`, ...more]);
    } finally {
      err.mockRestore();
      std.mockRestore();
    }
  }

  it('the proxy minibatch of a folder is decoded at 224; CIFAR is its 32x32 batch upscaled', async () => {
    const ds = await openRunDataset(`folder:${folder}`, 'train', ctx, 224);
    const b = await runProxyBatch(ds, 4, 7, 224);
    expect(b.size).toBe(224);
    expect(b.x.length).toBe(4 * 3 * 224 * 224);
    const want = await proxyMinibatch(ds, 4, 7, 224);
    expect(sameFloats(b.x, await ds.images(want.indices, 224))).toBe(true);
    expect([0, 1, 2, 3].map((c) => Array.from(b.y).filter((y) => y === c).length)).toEqual([1, 1, 1, 1]);
    const cifar = await openRunDataset('cifar10', 'train', ctx);
    const c = await runProxyBatch(cifar, 2, 7, 224);
    const small = await runProxyBatch(cifar, 2, 7);
    expect(small.size).toBeUndefined();
    expect(sameFloats(c.x, resizeNearest(small.x, 2, 3, 32, 224))).toBe(true);
  });

  it('the proxies score a 224 architecture of the MBConv space: finite scores; a 32x32 batch is refused', async ({ skip }) => {
    if (!backend) return skip();
    const ds = await openRunDataset(`folder:${folder}`, 'train', ctx, 224);
    const batch = await runProxyBatch(ds, 2, 1, 224);
    const space = loadSpace(handDesignedSpace({ ...IMAGENET_LAYOUT, classes: 4 }));
    const choices = space.cells.map((c, b) => (b * 5) % c.length);
    // One network, every pass once (meco's eigenvalues of 1920-channel maps are left out: minutes in JS).
    const proxies = ['wrcor', 'naswot', 'grad_norm', 'snip', 'jacob_cov', 'zico', 'zen', 'synflow', 'params', 'flops', 'vkdnw'];
    const r = await scoreArch(backend, space, choices, proxies, batch, 1);
    for (const p of proxies) expect(Number.isFinite(r.scores[p]), p).toBe(true);
    // flops is the architecture's multiply-adds at 224, in millions.
    expect(r.scores.flops).toBeCloseTo(archMadds(space, choices) / 1e6, 6);
    const small = await runProxyBatch(ds, 2, 1);
    await expect(scoreArch(backend, space, choices, ['synflow'], small, 1)).rejects.toThrow(
      /imagenet layout takes 224x224 images, the proxy batch is 32x32/,
    );
  });

  it('wgnas search --space-file (ImageNet layout) --dataset folder: --budget-madds 400M at 224, result written', async ({
    skip,
  }) => {
    if (!backend) return skip();
    const out = join(tmp, 'best.json');
    await searchFolder([
      ...['--proxy', 'wrcor', '--strategy', 'random', '--budget', '2', '--batch', '4', '--budget-madds', '400M'],
      ...['--device', 'cpu', '--out', out],
    ]);
    const best = JSON.parse(readFileSync(out, 'utf8'));
    const space = loadSpace(handDesignedSpace({ ...IMAGENET_LAYOUT, classes: 4 }));
    expect(best.layout).toBe('imagenet');
    expect(Number.isFinite(best.score)).toBe(true);
    expect(best.madds).toBe(archMadds(space, best.choices));
    expect(best.madds).toBeLessThanOrEqual(400e6);
    expect(best.evaluations).toBe(2);
  });

  it('--max-latency-ms with --latency-table: the 224 table prices the architectures, the best is under the ceiling', async ({
    skip,
  }) => {
    if (!backend) return skip();
    const table = 'data/latency/proxylessnas_mobile_trim.yaml';
    const cost = tableCost(readLatencyTable(table), IMAGENET_LAYOUT).cost!;
    const space = loadSpace(handDesignedSpace(IMAGENET_LAYOUT));
    const ceiling = halfwayCost(cost);
    const out = join(tmp, 'best-lut.json');
    await searchFolder([
      ...['--proxy', 'synflow', '--strategy', 'random', '--budget', '2', '--batch', '2'],
      ...['--max-latency-ms', String(ceiling), '--latency-table', table, '--device', 'cpu', '--out', out],
    ]);
    const best = JSON.parse(readFileSync(out, 'utf8'));
    expect(best.latencyMs).toBeCloseTo(archCost(cost, best.choices), 9);
    expect(best.latencyMs).toBeLessThanOrEqual(ceiling);
    expect(best.madds).toBe(archMadds({ ...space, layout: { ...space.layout, classes: 4 } }, best.choices));
    await expect(searchCli(['--space-file', spaceFile, '--latency-table', table])).rejects.toThrow(
      /--latency-table prices the --max-latency-ms ceiling/,
    );
  });
});
