/**
 * The methods on both backends: every proxy on NAS-Bench-201 cells (tiny networks for all proxies,
 * the full NB201 network at batch 64 for WRCor), a ProxylessNAS search (warm-up and architecture
 * steps) and an AutoSpace iteration (weight and fitness steps) give the same numbers on the CPU
 * backend as on the WGSL kernels, within f32 tolerance. (Both agree with the PyTorch reference
 * scores: test/proxies/proxies.gpu.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { AutoSpace } from '../../src/autospace/evolve.js';
import type { Backend } from '../../src/backend/index.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { NB201_DEFAULT, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import { PROXIES } from '../../src/proxies/index.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/search.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { proxyBatch, scoreCell } from '../../src/zeroshot/index.js';
import { bothBackends } from '../helpers/backend.js';
import { tinyEvolveConfig, TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';

const [gpuBe, cpuBe] = (await bothBackends()).map((b) => b.backend);

/** a and b agree: equal when not finite, else within rtol of the larger magnitude (atol near 0). */
function expectNear(a: number, b: number, rtol: number, label: string, atol = rtol): void {
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    expect(a, label).toBe(b);
    return;
  }
  expect(Math.abs(a - b), `${label}: webgpu ${a} vs cpu ${b}`).toBeLessThanOrEqual(
    atol + rtol * Math.max(Math.abs(a), Math.abs(b)),
  );
}

async function onBoth<T>(f: (be: Backend) => Promise<T>): Promise<[T, T]> {
  return [await f(gpuBe!), await f(cpuBe!)];
}

describe('proxies on NAS-Bench-201 cells', () => {
  const TINY: Nb201NetConfig = { channels: 4, cellsPerStage: 1, numClasses: 10 };
  const CELLS = [
    '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|',
    // The output node receives nothing: the no-signal conventions.
    '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  ];
  const names = [...PROXIES.keys()];
  // log|det| and log-sums of f32 work: the backends sum in different orders.
  const RTOL: Record<string, number> = {
    zen: 2e-3,
    meco: 2e-3,
    // zico's std of two half-batch gradients is |ga - gb| / 2 of f32 gradients: they cancel, and a change in
    // summation order moves it by 1e-3..1e-2 (docs/reliability.md's tolerance table).
    zico: 1e-2,
    jacob_cov: 2e-3,
    az_nas_expressivity: 2e-3,
    az_nas_progressivity: 2e-3,
    az_nas_trainability: 2e-3,
    vkdnw: 1e-2,
    vkdnw_entropy: 1e-2,
    // Counts of sign patterns: exact for the same ReLU inputs (swap.gpu.test.ts), but a pre-activation
    // within rounding of 0 may take the other sign on the other device: a pattern in a few hundred.
    swap: 1e-2,
    reg_swap: 1e-2,
  };

  for (const arch of CELLS) {
    it(`every proxy: ${arch}`, async ({ skip }) => {
      if (!gpuBe || !cpuBe) return skip();
      const batch = proxyBatch(8, 1);
      const [g, c] = await onBoth((be) => scoreCell(be, parseArch(arch), ['all'], batch, { net: TINY, seed: 2 }));
      expect(Object.keys(c.scores).sort()).toEqual(Object.keys(g.scores).sort());
      for (const p of names) expectNear(g.scores[p], c.scores[p], RTOL[p] ?? 5e-4, `${arch} ${p}`);
    });
  }

  it('WRCor of an NB201-width network (16 channels, 2 cells per stage) at batch 16', async ({ skip }) => {
    if (!gpuBe || !cpuBe) return skip();
    // The full network at batch 64 takes over a minute on lavapipe; the CPU side of it runs in bench/cpu-vs-torch.ts.
    const batch = proxyBatch(16, 0);
    const arch = CELLS[0];
    const [g, c] = await onBoth((be) =>
      scoreCell(be, parseArch(arch), ['wrcor'], batch, { net: { ...NB201_DEFAULT, cellsPerStage: 2 }, seed: 0 }),
    );
    for (const p of ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage'])
      expectNear(g.scores[p], c.scores[p], 5e-4, p);
  }, 120_000);
});

const TOY = TOY_LAYOUT;

describe('ProxylessNAS', () => {
  for (const paths of [1, 2] as const) {
    it(`warm-up and search steps (${paths} path${paths > 1 ? 's' : ''}): same losses, same α`, async ({ skip }) => {
      if (!gpuBe || !cpuBe) return skip();
      const cfg = {
        ...DEFAULT_SEARCH,
        layout: TOY,
        paths,
        costLoss: { kind: 'add' as const, target: 5, lambda: 50 },
        warmupSteps: 2,
        searchSteps: 3,
        archEvery: 1, // an α step after each search step: three to compare
        batchSize: 8,
        valBatchSize: 8,
        arch: { ...DEFAULT_SEARCH.arch, lr: 0.15 },
        logEvery: 1,
        checkpointEvery: 0,
      };
      const [g, c] = await onBoth(async (be) => {
        const s = new ProxylessSearch(be, cfg, cifarSearchSplit(64, 32), TOY_COST);
        try {
          return await s.run();
        } finally {
          s.dispose();
        }
      });
      expect(c.history.length).toBe(g.history.length);
      // The same losses at every step mean the same paths were sampled. The argmax choices are not
      // compared: Adam's first step moves every logit by ±lr, so ties are common and f32 rounding breaks them.
      g.history.forEach((e, i) => {
        expectNear(e.trainLoss, c.history[i].trainLoss, 1e-4, `step ${i} train loss`);
        if (e.archCe !== null) expectNear(e.archCe, c.history[i].archCe!, 1e-4, `step ${i} arch CE`);
      });
      g.alpha.forEach((row, b) => row.forEach((a, j) => expectNear(a, c.alpha[b][j], 1e-4, `α[${b}][${j}]`, 1e-5)));
    }, 120_000);
  }
});

describe('AutoSpace', () => {
  const tiny = tinyEvolveConfig({ ...TOY, inputSize: 32, stemStride: 2 }, { populationSize: 4, iterations: 1 });

  // One iteration: Adam on φ turns tiny gradient differences into whole steps, so later iterations drift apart.
  it('a warm-up step and an iteration (two weight and two fitness steps): same losses, same learned mixing weights', async ({
    skip,
  }) => {
    if (!gpuBe || !cpuBe) return skip();
    const [g, c] = await onBoth(async (be) => {
      const evo = new AutoSpace(be, tiny, cifarSearchSplit(64, 32));
      try {
        return await evo.run();
      } finally {
        evo.dispose();
      }
    });
    expect(c.history.length).toBe(g.history.length);
    g.history.forEach((e, i) => {
      expectNear(e.trainLoss, c.history[i].trainLoss, 1e-4, `iteration ${i} train loss`);
      expectNear(e.valLoss, c.history[i].valLoss, 1e-4, `iteration ${i} val loss`);
      expectNear(e.expectedMadds, c.history[i].expectedMadds, 1e-4, `iteration ${i} E[MAdds]`);
      e.mixed.forEach((layer, b) =>
        layer.forEach((m, k) => {
          expect(c.history[i].mixed[b][k].cell).toBe(m.cell);
          expectNear(m.p, c.history[i].mixed[b][k].p, 1e-4, `iteration ${i} layer ${b} p[${k}]`, 1e-5);
        }),
      );
    });
    expect(c.space.layers.map((l) => l.cells.map((x) => x.cell))).toEqual(g.space.layers.map((l) => l.cells.map((x) => x.cell)));
  }, 120_000);
});
