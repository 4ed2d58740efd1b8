import { methodBackend } from '../helpers/backend.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as cli } from '../../src/cli/commands/proxyless.js';
import { UsageError } from '../../src/cli/args.js';
import type { Backend } from '../../src/backend/index.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { expectedCost } from '../../src/mobilenet/cost/model.js';
import { jsonNetwork } from '../../src/export/index.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { combineLoss, DEFAULT_LAMBDA, reinforceReward } from '../../src/proxyless/objective.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';
import { type SearchParts, gradientArchStep, reinforceArchStep, weightStep } from '../../src/proxyless/search-steps.js';

const TABLE = 'data/latency/proxylessnas_mobile_trim.yaml';

let gpu: Backend | null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-proxyless-'));
beforeAll(async () => {
  gpu = await methodBackend();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the cost terms of the objective', () => {
  it('additive and multiplicative losses: values and derivatives', () => {
    for (const cfg of [
      { kind: 'add' as const, target: 40, lambda: 0.3 },
      { kind: 'mul' as const, target: 40, beta: 0.6, mulScale: 0.2 },
      { kind: 'hinge' as const, target: 40, lambda: 2 },
    ]) {
      const f = (ce: number, e: number) => combineLoss(cfg, ce, e).loss;
      const c = combineLoss(cfg, 1.7, 55);
      const h = 1e-6;
      expect(c.dCe).toBeCloseTo((f(1.7 + h, 55) - f(1.7 - h, 55)) / (2 * h), 6);
      expect(c.dE).toBeCloseTo((f(1.7, 55 + h) - f(1.7, 55 - h)) / (2 * h), 6);
    }
    expect(combineLoss({ kind: 'add', target: 40, lambda: 0.1 }, 2, 40).loss).toBeCloseTo(2, 12);
    expect(combineLoss({ kind: 'mul', target: 40 }, 2, 40).loss).toBeCloseTo(2, 12);
    expect(() => combineLoss({ kind: 'mul', target: 0.5 }, 2, 40)).toThrow(/above 1 ms/);
    // hinge: nothing below the target, add-like above it.
    expect(combineLoss({ kind: 'hinge', target: 40, lambda: 2 }, 2, 35)).toEqual({ loss: 2, dCe: 1, dE: 0 });
    expect(combineLoss({ kind: 'hinge', target: 40, lambda: 2 }, 2, 50).loss).toBeCloseTo(2.5, 12);
    // add and hinge depend on E/T only; mul takes its logarithms in ms or in millions of MAdds.
    for (const kind of ['add', 'hinge'] as const) {
      const ms = combineLoss({ kind, target: 40, lambda: 2 }, 2, 50);
      const madds = combineLoss({ kind, target: 40e6, lambda: 2 }, 2, 50e6, 'madds');
      expect(madds.loss).toBeCloseTo(ms.loss, 12);
      expect(madds.dE * 1e6).toBeCloseTo(ms.dE, 12);
    }
    const mulMs = combineLoss({ kind: 'mul', target: 40 }, 1.7, 55);
    const mulMadds = combineLoss({ kind: 'mul', target: 40e6 }, 1.7, 55e6, 'madds');
    expect(mulMadds.loss).toBeCloseTo(mulMs.loss, 12);
    expect(mulMadds.dE * 1e6).toBeCloseTo(mulMs.dE, 12);
    expect(() => combineLoss({ kind: 'mul', target: 0.5e6 }, 2, 40e6, 'madds')).toThrow(/above 1 M MAdds/);
    expect(reinforceReward(0.5, 20, 40, 0.1)).toBeCloseTo(0.5 * 2 ** 0.1, 12);
    // One default λ per loss, the library's and the CLI's (--lambda): hinge 2, add the authors' 0.1.
    expect(DEFAULT_LAMBDA).toEqual({ add: 0.1, hinge: 2 });
    expect(combineLoss({ kind: 'hinge', target: 40 }, 2, 50).loss).toBeCloseTo(2 + (2 * 10) / 40, 12);
    expect(combineLoss({ kind: 'add', target: 40 }, 2, 50).loss).toBeCloseTo(2 + (0.1 * 10) / 40, 12);
    // mul#log has no λ: a given one changes nothing (the CLI refuses --lambda with --loss mul).
    expect(combineLoss({ kind: 'mul', target: 40, lambda: 7 }, 1.7, 55)).toEqual(
      combineLoss({ kind: 'mul', target: 40 }, 1.7, 55),
    );
    expect(combineLoss({ kind: 'mul', target: 40 }, 1.7, 55).loss).toBeCloseTo(1.7 * (Math.log(55) / Math.log(40)) ** 0.3, 12);
  });
});

const TOY = TOY_LAYOUT;

function toyConfig(over: Partial<ProxylessSearchConfig>): ProxylessSearchConfig {
  return {
    ...DEFAULT_SEARCH,
    layout: TOY,
    costLoss: { kind: 'add', target: 5, lambda: 50 },
    warmupSteps: 2,
    searchSteps: 30,
    batchSize: 8,
    valBatchSize: 8,
    arch: { ...DEFAULT_SEARCH.arch, lr: 0.15 },
    // The estimators are tested with an α step after every weight step from α = 0, plain CE (the
    // authors' schedule has its own tests in schedule.test.ts).
    archEvery: 1,
    archWarmupSteps: 0,
    labelSmoothing: 0,
    alphaInitStd: 0,
    logEvery: 1000,
    checkpointEvery: 0,
    ...over,
  };
}

describe('toy searches converge to the known optimum from several seeds', () => {
  const data = () => cifarSearchSplit(200, 100);

  for (const [paths, gateGrads] of [
    [1, 'sampled'],
    [2, 'sampled'],
    [1, 'all'],
  ] as const) {
    it(`gradient, ${paths} path(s), gate grads ${gateGrads}: a latency-dominated objective picks the fastest candidate per block`, async ({
      skip,
    }) => {
      if (!gpu) return skip();
      for (const seed of [10 + paths, 20 + paths, 30 + paths]) {
        const s = new ProxylessSearch(
          gpu,
          toyConfig({ paths, gateGrads, seed, searchSteps: gateGrads === 'all' ? 20 : 30 }),
          data(),
          TOY_COST,
        );
        try {
          const r = await s.run();
          expect(r.choices, `seed ${seed}`).toEqual([4, 4, 3]);
          expect(r.unit).toBe('ms');
          expect(r.cost).toBeCloseTo(4, 9);
          // The expectation moved towards the optimum from the uniform start.
          const uniform = expectedCost(
            TOY_COST,
            TOY_COST.perPosition.map((row) => row.map(() => 0)),
          ).value;
          expect(r.expectedCost!, `seed ${seed}`).toBeLessThan(uniform - 2);
        } finally {
          s.dispose();
        }
      }
    });
  }

  it('hinge loss: no latency pressure under the target (same α as an accuracy-only search)', async ({ skip }) => {
    if (!gpu) return skip();
    const runWith = async (costLoss: ProxylessSearchConfig['costLoss']) => {
      const s = new ProxylessSearch(gpu!, toyConfig({ costLoss, searchSteps: 4, seed: 33 }), data(), TOY_COST);
      try {
        return (await s.run()).alpha;
      } finally {
        s.dispose();
      }
    };
    const free = await runWith(null);
    expect(await runWith({ kind: 'hinge', target: 50, lambda: 5 })).toEqual(free);
    expect(await runWith({ kind: 'hinge', target: 5, lambda: 5 })).not.toEqual(free);
  });

  it('REINFORCE with reward acc·(T/lat)^w, w = 3, moves to low latency', async ({ skip }) => {
    if (!gpu) return skip();
    for (const seed of [5, 6, 7]) {
      const s = new ProxylessSearch(
        gpu,
        // Rewards from 32 validation images: with 8, a batch's accuracy is often 0, and so is its
        // reward whatever the latency, and a seed may settle on a near-optimum first.
        toyConfig({ mode: 'reinforce', reinforceW: 3, reinforceSamples: 3, searchSteps: 40, valBatchSize: 32, seed }),
        data(),
        TOY_COST,
      );
      try {
        const r = await s.run();
        expect(r.choices.slice(0, 2), `seed ${seed}`).toEqual([4, 4]);
        expect(r.cost!, `seed ${seed}`).toBeLessThanOrEqual(5);
      } finally {
        s.dispose();
      }
    }
  });
});

describe('divergence', () => {
  it('a diverging learning rate ends the run naming the step and the flag to lower', async ({ skip }) => {
    if (!gpu) return skip();
    const data = () => cifarSearchSplit(200, 100);
    const warm = new ProxylessSearch(
      gpu,
      toyConfig({ warmupLr: 1e30, warmupSteps: 4, searchSteps: 1, seed: 3 }),
      data(),
      TOY_COST,
    );
    try {
      await expect(warm.run()).rejects.toThrow(
        /^training diverged at warm-up step [2-4]: the training loss is (NaN|-?Infinity) \(learning rate 1e\+30\); try a smaller --warmup-lr$/,
      );
    } finally {
      warm.dispose();
    }
    // Adam moves α by about lr per step: at 3e38 the f32 range ends within a step or two.
    const arch = new ProxylessSearch(
      gpu,
      toyConfig({ arch: { ...DEFAULT_SEARCH.arch, lr: 3e38 }, warmupSteps: 1, searchSteps: 4, seed: 3 }),
      data(),
      TOY_COST,
    );
    try {
      await expect(arch.run()).rejects.toThrow(
        /training diverged at architecture step [1-4]: the architecture logits α are not finite \(learning rate 3e\+38\); try a smaller --arch-lr/,
      );
    } finally {
      arch.dispose();
    }
  });
});

describe('checkpoint and resume', () => {
  it('a run cut at step 6 and resumed ends exactly where an uninterrupted run does', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'ck');
    // The authors' schedule, shortened: α after search steps 3, 5 and 7; smoothed CE; α from N(0, 1e-3).
    const cfg = toyConfig({
      searchSteps: 7,
      warmupSteps: 3,
      archEvery: 2,
      archWarmupSteps: 1,
      labelSmoothing: 0.1,
      alphaInitStd: 1e-3,
      checkpointDir: null,
      seed: 21,
    });
    const a = new ProxylessSearch(gpu, cfg, cifarSearchSplit(200, 100), TOY_COST);
    const ra = await a.run();
    const wa = await a.net.paramMap().get('b2.c3.n1.dw5')!.value.read();
    const stemA = await a.net.paramMap().get('stem.conv')!.value.read();
    a.dispose();

    const b1 = new ProxylessSearch(gpu, { ...cfg, checkpointDir: dir }, cifarSearchSplit(200, 100), TOY_COST);
    await b1.run(undefined, 6);
    expect(b1.progress.warmup + b1.progress.search).toBe(6);
    b1.dispose();
    const b2 = new ProxylessSearch(gpu, { ...cfg, checkpointDir: dir }, cifarSearchSplit(200, 100), TOY_COST);
    b2.resume(dir);
    expect(b2.progress).toMatchObject({ warmup: 3, search: 3, arch: 1 });
    const rb = await b2.run();
    expect(rb.alpha).toEqual(ra.alpha);
    expect(await b2.net.paramMap().get('b2.c3.n1.dw5')!.value.read()).toEqual(wa);
    expect(await b2.net.paramMap().get('stem.conv')!.value.read()).toEqual(stemA);
    expect(rb.archSteps).toBe(ra.archSteps);
    expect(ra.archSteps).toBe(3);
    b2.dispose();

    const other = new ProxylessSearch(
      gpu,
      toyConfig({ layout: { ...TOY, widths: [4, 12] } }),
      cifarSearchSplit(200, 100),
      TOY_COST,
    );
    expect(() => other.resume(dir)).toThrow(/is \[|layout/);
    other.dispose();
  });
});

describe('the derived net.config', () => {
  it("records the supernet's BN eps (the authors' 1e-3 by default, else --bn-eps), so training uses it", async ({ skip }) => {
    if (!gpu) return skip();
    expect(DEFAULT_SEARCH.bnEps).toBe(1e-3);
    for (const bnEps of [DEFAULT_SEARCH.bnEps, 2e-4]) {
      const s = new ProxylessSearch(
        gpu,
        toyConfig({ bnEps, warmupSteps: 1, searchSteps: 1 }),
        cifarSearchSplit(32, 16),
        TOY_COST,
      );
      try {
        const r = await s.run();
        expect(r.netConfig.bn).toEqual({ momentum: 0.1, eps: bnEps });
        // What train and export read back from it.
        expect(jsonNetwork(r.netConfig, TOY_LAYOUT.inputSize)).toMatchObject({ bnEps });
      } finally {
        s.dispose();
      }
    }
  });

  it("a cell space's wgnas-arch records the eps its supernet searched at (--bn-eps, the authors' 1e-3 by default)", async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const space = spaceFromLayout(TOY);
    for (const bnEps of [DEFAULT_SEARCH.bnEps, 2e-4]) {
      const s = new ProxylessSearch(
        gpu,
        toyConfig({ space, bnEps, warmupSteps: 1, searchSteps: 1 }),
        cifarSearchSplit(32, 16),
        TOY_COST,
      );
      try {
        expect(s.net.layers.map((l) => l.bnEps)).toEqual(s.net.layers.map(() => bnEps));
        const r = await s.run();
        expect(r.netConfig.format).toBe('wgnas-arch');
        expect(r.netConfig.bn).toEqual({ momentum: 0.1, eps: bnEps });
      } finally {
        s.dispose();
      }
    }
  });
});

describe('wgnas proxyless (CLI)', () => {
  it('validates its options', async () => {
    await expect(cli(['--target-ms', '40'])).rejects.toThrow(UsageError);
    await expect(cli(['--latency-table', TABLE])).rejects.toThrow(/--target-ms/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--paths', '3'])).rejects.toThrow(/--paths/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--layout', 'mnist'])).rejects.toThrow(
      /--layout must be imagenet or cifar, got 'mnist'/,
    );
    await expect(cli(['--latency-table', TABLE, '--target-ms', '0.5', '--loss', 'mul'])).rejects.toThrow(/ln T/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--loss', 'square'])).rejects.toThrow(/--loss/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--resume'])).rejects.toThrow(/--checkpoint/);
  });
});

describe('a failed upload in a step frees what the step uploaded before it', () => {
  it('weight, gradient, REINFORCE steps: the second upload throws, the tensor count returns to its start', async ({ skip }) => {
    if (!gpu) return skip();
    const inner = gpu;
    let uploads = 0;
    let failAt = Infinity;
    // The wrapper counts uploads and fails the armed one; everything else is the real backend.
    const backend = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'upload') {
          return (...args: Parameters<Backend['upload']>) => {
            if (++uploads === failAt) throw new Error('upload failed (test)');
            return target.upload(...args);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    for (const mode of ['gradient', 'reinforce'] as const) {
      const s = new ProxylessSearch(backend, toyConfig({ mode, seed: 5 }), cifarSearchSplit(32, 16), TOY_COST);
      try {
        const parts = (s as unknown as { parts: SearchParts }).parts;
        const steps =
          mode === 'gradient'
            ? [() => weightStep(parts, s.alpha, 0.01, 0), () => gradientArchStep(parts, s.alpha, 0)]
            : [() => reinforceArchStep(parts, s.alpha, null, 0)];
        for (const step of steps) {
          await inner.sync();
          const before = inner.memory().tensors;
          uploads = 0;
          failAt = 2;
          await expect(step()).rejects.toThrow(/upload failed \(test\)/);
          failAt = Infinity;
          await inner.sync();
          expect(inner.memory().tensors, `${mode}: ${step.toString()}`).toBe(before);
        }
      } finally {
        s.dispose();
      }
    }
  });
});
