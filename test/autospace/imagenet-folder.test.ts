/**
 * AutoSpace at ImageNet resolution on an image folder written by the test (4 classes x 3 JPEGs of
 * different sizes): the mixture network trains on the folder decoded at 224, the MAdds it budgets
 * are the 224 layout's, and `wgnas evolve-space --layout imagenet --budget-madds 500M` writes a
 * space whose zero-shot search (`wgnas search --space-file`) scores 224x224 batches.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoSpace, DEFAULT_EVOLVE, type EvolveConfig } from '../../src/autospace/evolve.js';
import type { Backend } from '../../src/backend/index.js';
import { run as evolveCli } from '../../src/cli/commands/evolve-space.js';
import { run as searchCli } from '../../src/cli/commands/search.js';
import { streamedImages } from '../../src/data/batch-stream.js';
import { openImageFolder } from '../../src/data/image-folder.js';
import { cellMadds } from '../../src/mobilenet/cell.js';
import { IMAGENET_LAYOUT, type MobileNetLayout } from '../../src/mobilenet/layout.js';
import { archMadds, fixedMadds } from '../../src/mobilenet/madds.js';
import { loadSpace } from '../../src/mobilenet/space-file.js';
import { methodBackend } from '../helpers/backend.js';
import { writeNoiseImageFolder } from '../helpers/datasets.js';

const S = 224;
const LAYOUT: MobileNetLayout = { ...IMAGENET_LAYOUT, classes: 4 };

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-autospace-imagenet-'));
let folder: string;
let backend: Backend | null;
beforeAll(async () => {
  backend = await methodBackend();
  folder = await writeNoiseImageFolder(join(tmp, 'images'), 4, 3);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** stdout and stderr of `f`, captured. */
async function captured(f: () => Promise<unknown>): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  try {
    await f();
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out: out.join(''), err: err.join('') };
}

describe('AutoSpace on an image folder at 224', () => {
  it("the 224 layout's multiply-adds: skeleton by hand, layer shapes from 112 down to 7", () => {
    const h = 112;
    const stem = h * h * 3 * 32 * 9;
    const first = h * h * 32 * 9 + h * h * 32 * 16;
    const mix = 7 * 7 * 320 * 1280;
    expect(fixedMadds(LAYOUT)).toBe(stem + first + mix + 1280 * 4);
  });

  it('the mixture network trains on [2, 3, 224, 224] folder batches; fitness and E[MAdds] are finite', async ({ skip }) => {
    if (!backend) return skip();
    const ds = await openImageFolder(folder, 'train', { size: S });
    const shapes: Array<readonly number[]> = [];
    let on = false;
    const rec = new Proxy(backend, {
      get(target, key) {
        if (key === 'upload')
          return (data: Float32Array, shape?: readonly number[]) => {
            if (on && shape) shapes.push(shape);
            return target.upload(data, shape);
          };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const cfg: EvolveConfig = {
      ...DEFAULT_EVOLVE,
      layout: LAYOUT,
      budgetMadds: 500e6,
      populationSize: 2,
      k: 2,
      tournamentSize: 2,
      iterations: 1,
      steps: 1,
      warmupSteps: 1,
      guideIterations: 0,
      batchSize: 2,
    };
    const evo = new AutoSpace(rec, cfg, { train: streamedImages(ds, 0, 8, S), val: streamedImages(ds, 8, 12, S) });
    try {
      on = true;
      const res = await evo.run();
      // Warm-up step, weight step, fitness step: each one image batch at 224.
      const images = shapes.filter((s) => s.length === 4);
      expect(images).toEqual([
        [2, 3, S, S],
        [2, 3, S, S],
        [2, 3, S, S],
      ]);
      expect(evo.shapes[0].inH).toBe(112);
      expect(evo.shapes[evo.shapes.length - 1].inH).toBe(7);
      const ev = res.history[0];
      expect(Number.isFinite(ev.trainLoss) && Number.isFinite(ev.valLoss)).toBe(true);
      // E[MAdds] lies between the cheapest and the dearest mixture at 224.
      const lo = fixedMadds(LAYOUT) + evo.populations.reduce((s, p) => s + Math.min(...p.map((m) => m.madds)), 0);
      const hi = fixedMadds(LAYOUT) + evo.populations.reduce((s, p) => s + Math.max(...p.map((m) => m.madds)), 0);
      expect(ev.expectedMadds).toBeGreaterThanOrEqual(lo - 1);
      expect(ev.expectedMadds).toBeLessThanOrEqual(hi + 1);
      evo.populations.forEach((pop, b) => pop.forEach((m) => expect(m.madds).toBe(cellMadds(m.cell, evo.shapes[b]))));
      // The layout travels whole (its head has the folder's 4 classes): 224 input.
      expect(res.space.layout).toMatchObject({ name: 'imagenet', inputSize: 224, classes: 4 });
      expect(res.space.meta?.data).toBe(`folder:${folder} train 8 / val 4 at 224x224`);
    } finally {
      evo.dispose();
    }
  });

  it('wgnas evolve-space --layout imagenet --budget-madds 500M, then wgnas search --space-file on it at 224', async ({
    skip,
  }) => {
    if (!backend) return skip();
    const spaceFile = join(tmp, 'space.json');
    const common = ['--dataset', `folder:${folder}`, '--device', 'cpu'];
    const evolved = await captured(() =>
      evolveCli([
        '--layout',
        'imagenet',
        '--budget-madds',
        '500M',
        ...['--train', '8', '--val', '4', '--batch', '2'],
        ...['--population', '2', '--k', '2', '--tournament', '2', '--iterations', '1', '--steps', '1', '--warmup', '1'],
        ...common,
        '--out',
        spaceFile,
      ]),
    );
    expect(evolved.err).toMatch(/evolve-space: imagenet layout, 21 layers, population 2, K 2, budget 500\.00 M MAdds/);
    const file = JSON.parse(readFileSync(spaceFile, 'utf8'));
    expect(file.layout).toMatchObject({ name: 'imagenet', inputSize: 224, classes: 4 });
    expect(file.budgetMadds).toBe(500e6);
    expect(file.layers).toHaveLength(21);

    const outFile = join(tmp, 'best.json');
    await captured(() =>
      searchCli([
        '--space-file',
        spaceFile,
        ...['--proxy', 'synflow', '--budget', '3', '--strategy', 'random', '--batch', '2', '--budget-madds', '500M'],
        ...common,
        '--out',
        outFile,
      ]),
    );
    const best = JSON.parse(readFileSync(outFile, 'utf8'));
    const space = loadSpace(file);
    const learned = { ...space, layout: { ...space.layout, classes: 4 } };
    expect(Number.isFinite(best.score)).toBe(true);
    expect(best.choices).toHaveLength(21);
    // The whole network's multiply-adds at 224 (the 4-class head), within the budget.
    expect(best.madds).toBe(archMadds(learned, best.choices));
    expect(best.madds).toBeLessThanOrEqual(500e6);
  });
});
