import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as cli } from '../src/cli/commands/proxyless.js';
import { UsageError } from '../src/cli/args.js';
import type { Gpu } from '../src/gpu/index.js';
import { softmax } from '../src/kernels/binarize.js';
import { fromNetConfig } from '../src/latency/arch.js';
import { readLatencyTable } from '../src/latency/lut.js';
import { predictLatency } from '../src/latency/predictor.js';
import { cifarSearchSplit } from '../src/proxyless/data.js';
import {
  type SearchLatency,
  choicesLatencyMs,
  combineLoss,
  expectedLatency,
  layoutLatency,
  latencyRange,
  reinforceReward,
} from '../src/proxyless/latency-loss.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT, type ProxylessLayout, layoutSpace, positionStages } from '../src/proxyless/layout.js';
import { toNetConfig } from '../src/proxyless/net-config.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch, pairLatencyGrad } from '../src/proxyless/search.js';
import { Rng } from '../src/util/rng.js';
import { testGpu } from './helpers/gpu.js';

const TABLE = '../shared/data/latency/proxylessnas_mobile_trim.yaml';

let gpu: Gpu | null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-proxyless-'));
beforeAll(async () => {
  gpu = await testGpu();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('latency from the lookup table', () => {
  const table = readLatencyTable(TABLE);

  it('ImageNet layout: the table has every key; an architecture costs what predictLatency says', () => {
    const m = layoutLatency(table, IMAGENET_LAYOUT);
    expect(m.source).toBe('direct');
    expect(m.perPosition.length).toBe(21);
    const rng = new Rng(3);
    for (let k = 0; k < 5; k++) {
      const choices = m.perPosition.map((row) => rng.int(row.length));
      const arch = fromNetConfig(toNetConfig(IMAGENET_LAYOUT, choices), 224);
      expect(choicesLatencyMs(m, choices)).toBeCloseTo(predictLatency(table, arch).totalMs, 9);
    }
  });

  it('CIFAR layout: priced as the same (stage, block) ImageNet positions', () => {
    const full = layoutLatency(table, IMAGENET_LAYOUT);
    const m = layoutLatency(table, CIFAR_LAYOUT);
    expect(m.source).toBe('imagenet-proxy');
    expect(m.fixedMs).toBeCloseTo(full.fixedMs, 12);
    const ref = positionStages(IMAGENET_LAYOUT).map((p) => `${p.stage}/${p.depth}`);
    positionStages(CIFAR_LAYOUT).forEach((p, b) => expect(m.perPosition[b]).toEqual(full.perPosition[ref.indexOf(`${p.stage}/${p.depth}`)]));
    // 'zero' (last candidate where offered) costs nothing.
    layoutSpace(CIFAR_LAYOUT).positions.slice(1).forEach((pos, b) => {
      if (pos.candidates.at(-1) === 'zero') expect(m.perPosition[b].at(-1)).toBe(0);
    });
    const r = latencyRange(m);
    expect(r.minMs).toBeLessThan(r.maxMs);
    expect(() => layoutLatency(table, CIFAR_LAYOUT, { directOnly: true })).toThrow(/no entry/);
  });

  it('E[lat] gradient wrt α (full softmax and 2-path pair) matches finite differences', () => {
    const m = layoutLatency(table, CIFAR_LAYOUT);
    const rng = new Rng(8);
    const alphas = m.perPosition.map((row) => row.map(() => rng.normal()));
    const e = expectedLatency(m, alphas);
    const h = 1e-6;
    for (const [b, i] of [[0, 0], [1, 6], [5, 3], [10, 2]]) {
      const ap = alphas.map((r) => r.slice());
      const am = alphas.map((r) => r.slice());
      ap[b][i] += h;
      am[b][i] -= h;
      const fdv = (expectedLatency(m, ap).valueMs - expectedLatency(m, am).valueMs) / (2 * h);
      expect(e.gradAlphas[b][i]).toBeCloseTo(fdv, 5);
      // Pair version: d/dα of Σ_{pair} softmax(α_pair)·lat.
      const pair = [i, (i + 2) % alphas[b].length];
      const pe = (a: number[]) => softmax(pair.map((k) => a[k])).reduce((s, q, k) => s + q * m.perPosition[b][pair[k]], 0);
      const g = pairLatencyGrad(alphas[b], m.perPosition[b], pair);
      for (const k of [0, 1, 2, 3]) {
        const a1 = alphas[b].slice();
        const a2 = alphas[b].slice();
        a1[k] += h;
        a2[k] -= h;
        expect(g[k]).toBeCloseTo((pe(a1) - pe(a2)) / (2 * h), 5);
      }
    }
  });

  it('additive and multiplicative losses: values and derivatives', () => {
    for (const cfg of [
      { kind: 'add' as const, targetMs: 40, lambda: 0.3 },
      { kind: 'mul' as const, targetMs: 40, beta: 0.6, mulScale: 0.2 },
      { kind: 'hinge' as const, targetMs: 40, lambda: 2 },
    ]) {
      const f = (ce: number, e: number) => combineLoss(cfg, ce, e).loss;
      const c = combineLoss(cfg, 1.7, 55);
      const h = 1e-6;
      expect(c.dCe).toBeCloseTo((f(1.7 + h, 55) - f(1.7 - h, 55)) / (2 * h), 6);
      expect(c.dE).toBeCloseTo((f(1.7, 55 + h) - f(1.7, 55 - h)) / (2 * h), 6);
    }
    expect(combineLoss({ kind: 'add', targetMs: 40, lambda: 0.1 }, 2, 40).loss).toBeCloseTo(2, 12);
    expect(combineLoss({ kind: 'mul', targetMs: 40 }, 2, 40).loss).toBeCloseTo(2, 12);
    expect(() => combineLoss({ kind: 'mul', targetMs: 0.5 }, 2, 40)).toThrow(/above 1 ms/);
    // hinge: nothing below the target, add-like above it.
    expect(combineLoss({ kind: 'hinge', targetMs: 40, lambda: 2 }, 2, 35)).toEqual({ loss: 2, dCe: 1, dE: 0 });
    expect(combineLoss({ kind: 'hinge', targetMs: 40, lambda: 2 }, 2, 50).loss).toBeCloseTo(2.5, 12);
    expect(reinforceReward(0.5, 20, 40, 0.1)).toBeCloseTo(0.5 * 2 ** 0.1, 12);
  });
});

/** A small layout whose step runs in well under a second on lavapipe (8×8 inputs, 3 searchable blocks). */
const TOY: ProxylessLayout = {
  name: 'toy',
  inputSize: 8,
  stemC: 4,
  stemStride: 1,
  firstBlockC: 4,
  widths: [4, 8],
  depths: [2, 1],
  strides: [1, 2],
  kernels: [3, 5],
  expands: [3, 6],
  featureMixC: 16,
  classes: 10,
};

// Synthetic table: 'zero' (index 4 where present) is free; elsewhere a distinct fastest candidate.
const TOY_LAT: SearchLatency = {
  fixedMs: 2,
  perPosition: [
    [3, 1.5, 4, 2.5, 0],
    [2, 3, 1, 4, 0],
    [5, 4, 6, 2],
  ],
  source: 'direct',
};

function toyConfig(over: Partial<ProxylessSearchConfig>): ProxylessSearchConfig {
  return {
    ...DEFAULT_SEARCH,
    layout: TOY,
    latencyLoss: { kind: 'add', targetMs: 5, lambda: 50 },
    warmupSteps: 2,
    searchSteps: 30,
    batchSize: 8,
    valBatchSize: 8,
    arch: { ...DEFAULT_SEARCH.arch, lr: 0.15 },
    logEvery: 1000,
    checkpointEvery: 0,
    ...over,
  };
}

describe('toy searches converge to the known optimum', () => {
  const data = () => cifarSearchSplit(200, 100);

  for (const [paths, gateGrads] of [
    [1, 'sampled'],
    [2, 'sampled'],
    [1, 'all'],
  ] as const) {
    it(`gradient, ${paths} path(s), gate grads ${gateGrads}: a latency-dominated objective picks the fastest candidate per block`, async ({ skip }) => {
      if (!gpu) return skip();
      const s = new ProxylessSearch(gpu, toyConfig({ paths, gateGrads, seed: 10 + paths, searchSteps: gateGrads === 'all' ? 20 : 30 }), data(), TOY_LAT);
      try {
        const r = await s.run();
        expect(r.choices).toEqual([4, 4, 3]);
        expect(r.latencyMs).toBeCloseTo(4, 9);
        // The expectation moved towards the optimum from the uniform start.
        const uniform = expectedLatency(TOY_LAT, TOY_LAT.perPosition.map((row) => row.map(() => 0))).valueMs;
        expect(r.expectedMs!).toBeLessThan(uniform - 2);
      } finally {
        s.dispose();
      }
    });
  }

  it('hinge loss: no latency pressure under the target (same α as an accuracy-only search)', async ({ skip }) => {
    if (!gpu) return skip();
    const runWith = async (latencyLoss: ProxylessSearchConfig['latencyLoss']) => {
      const s = new ProxylessSearch(gpu!, toyConfig({ latencyLoss, searchSteps: 4, seed: 33 }), data(), TOY_LAT);
      try {
        return (await s.run()).alpha;
      } finally {
        s.dispose();
      }
    };
    const free = await runWith(null);
    expect(await runWith({ kind: 'hinge', targetMs: 50, lambda: 5 })).toEqual(free);
    expect(await runWith({ kind: 'hinge', targetMs: 5, lambda: 5 })).not.toEqual(free);
  });

  it('REINFORCE with reward acc·(T/lat)^w, w = 3, moves to low latency', async ({ skip }) => {
    if (!gpu) return skip();
    const s = new ProxylessSearch(gpu, toyConfig({ mode: 'reinforce', reinforceW: 3, reinforceSamples: 3, searchSteps: 25, seed: 5 }), data(), TOY_LAT);
    try {
      const r = await s.run();
      expect(r.choices.slice(0, 2)).toEqual([4, 4]);
      expect(r.latencyMs!).toBeLessThanOrEqual(5);
    } finally {
      s.dispose();
    }
  });
});

describe('checkpoint and resume', () => {
  it('a run cut at step 5 and resumed ends exactly where an uninterrupted run does', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'ck');
    const cfg = toyConfig({ searchSteps: 5, warmupSteps: 3, checkpointDir: null, seed: 21 });
    const a = new ProxylessSearch(gpu, cfg, cifarSearchSplit(200, 100), TOY_LAT);
    const ra = await a.run();
    const wa = await a.net.paramMap().get('b2.c3.dw')!.value.read();
    const stemA = await a.net.paramMap().get('stem.conv')!.value.read();
    a.dispose();

    const b1 = new ProxylessSearch(gpu, { ...cfg, checkpointDir: dir }, cifarSearchSplit(200, 100), TOY_LAT);
    await b1.run(undefined, 5);
    expect(b1.progress.warmup + b1.progress.search).toBe(5);
    b1.dispose();
    const b2 = new ProxylessSearch(gpu, { ...cfg, checkpointDir: dir }, cifarSearchSplit(200, 100), TOY_LAT);
    b2.resume(dir);
    expect(b2.progress).toMatchObject({ warmup: 3, search: 2, arch: 2 });
    const rb = await b2.run();
    expect(rb.alpha).toEqual(ra.alpha);
    expect(await b2.net.paramMap().get('b2.c3.dw')!.value.read()).toEqual(wa);
    expect(await b2.net.paramMap().get('stem.conv')!.value.read()).toEqual(stemA);
    expect(rb.archSteps).toBe(ra.archSteps);
    b2.dispose();

    const other = new ProxylessSearch(gpu, toyConfig({ layout: { ...TOY, widths: [4, 12] } }), cifarSearchSplit(200, 100), TOY_LAT);
    expect(() => other.resume(dir)).toThrow(/is \[|layout/);
    other.dispose();
  });
});

describe('wgnas proxyless (CLI)', () => {
  it('validates its options', async () => {
    await expect(cli(['--target-ms', '40'])).rejects.toThrow(UsageError);
    await expect(cli(['--latency-table', TABLE])).rejects.toThrow(/--target-ms/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--paths', '3'])).rejects.toThrow(/--paths/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--layout', 'mnist'])).rejects.toThrow(/--layout must be imagenet or cifar, got 'mnist'/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '0.5', '--loss', 'mul'])).rejects.toThrow(/ln T/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--loss', 'square'])).rejects.toThrow(/--loss/);
    await expect(cli(['--latency-table', TABLE, '--target-ms', '40', '--resume'])).rejects.toThrow(/--checkpoint/);
  });
});
