/**
 * The authors' search schedule (mit-han-lab/proxylessnas, search/nas_manager.py): which search steps
 * take an α step (every --arch-every after --arch-warmup-steps), α's Adam per block as PyTorch's
 * (a block without a gradient untouched), α's N(0, σ²) start and the weight steps' label smoothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { adamStepCpu } from '../../src/kernels/optim.js';
import { smoothedCrossEntropy } from '../../src/nn/loss.js';
import { AlphaAdam, type AdamConfig } from '../../src/nn/optim.js';
import { readCheckpoint } from '../../src/nn/checkpoint.js';
import {
  DEFAULT_SEARCH,
  initialAlpha,
  isArchStep,
  type ProxylessSearchConfig,
  ProxylessSearch,
} from '../../src/proxyless/search.js';
import { methodBackend } from '../helpers/backend.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';

let be: Backend | null;
beforeAll(async () => {
  be = await methodBackend();
});
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-schedule-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const data = () => cifarSearchSplit(200, 100);
const toy = (over: Partial<ProxylessSearchConfig>): ProxylessSearchConfig => ({
  ...DEFAULT_SEARCH,
  layout: TOY_LAYOUT,
  costLoss: { kind: 'add', target: 5, lambda: 50 },
  warmupSteps: 1,
  batchSize: 8,
  valBatchSize: 8,
  arch: { ...DEFAULT_SEARCH.arch, lr: 0.15 },
  logEvery: 1,
  checkpointEvery: 0,
  seed: 4,
  ...over,
});

describe("the authors' defaults", () => {
  it('α every 5 weight steps, label smoothing 0.1, α from N(0, 1e-3), Adam lr 1e-3 betas (0, 0.999) eps 1e-8', () => {
    expect(DEFAULT_SEARCH).toMatchObject({ archEvery: 5, labelSmoothing: 0.1, alphaInitStd: 1e-3 });
    expect(DEFAULT_SEARCH.arch).toEqual({ lr: 1e-3, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  });
});

describe('which search steps take an α step', () => {
  const archSteps = (archEvery: number, archWarmupSteps: number, n: number) =>
    [...Array(n).keys()].map((i) => i + 1).filter((s) => isArchStep({ archEvery, archWarmupSteps }, s));

  it('every archEvery-th step, counted from the end of the α warm-up', () => {
    // get_update_schedule: batch i takes one update when (i + 1) % 5 == 0.
    expect(archSteps(5, 0, 12)).toEqual([5, 10]);
    expect(archSteps(1, 0, 3)).toEqual([1, 2, 3]);
    // Their first search epoch (here 3 steps) takes none; the count starts again after it.
    expect(archSteps(5, 3, 14)).toEqual([8, 13]);
    expect(archSteps(2, 3, 9)).toEqual([5, 7, 9]);
    expect(archSteps(1, 4, 6)).toEqual([5, 6]);
  });

  it('a tiny run takes its α steps exactly there, and only there', async ({ skip }) => {
    if (!be) return skip();
    const s = new ProxylessSearch(be, toy({ searchSteps: 7, archEvery: 2, archWarmupSteps: 2 }), data(), TOY_COST);
    try {
      const alpha0 = s.alpha.map((a) => Array.from(a));
      const r = await s.run();
      expect(r.archSteps).toBe(2);
      // One event per step (logEvery 1): the α objective shows up where an α step was taken.
      const withArch = r.history.filter((e) => e.phase === 'search' && e.archObjective !== null).map((e) => e.step);
      expect(withArch).toEqual([4, 6]);
      expect(r.history.filter((e) => e.phase === 'search').map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(r.alpha).not.toEqual(alpha0);
    } finally {
      s.dispose();
    }
  });

  it('no α step at all while the α warm-up lasts: α stays at its start', async ({ skip }) => {
    if (!be) return skip();
    const s = new ProxylessSearch(be, toy({ searchSteps: 3, archEvery: 1, archWarmupSteps: 3 }), data(), TOY_COST);
    try {
      const alpha0 = s.alpha.map((a) => Array.from(a));
      const r = await s.run();
      expect(r.archSteps).toBe(0);
      expect(r.alpha).toEqual(alpha0);
    } finally {
      s.dispose();
    }
  });
});

describe("α's start", () => {
  it('N(0, σ²) per entry, drawn from the seed; σ = 0 gives zeros', () => {
    const sizes = [200, 300, 500];
    const a = initialAlpha(sizes, 1e-3, 7);
    expect(a.map((r) => r.length)).toEqual(sizes);
    expect(initialAlpha(sizes, 1e-3, 7)).toEqual(a);
    expect(initialAlpha(sizes, 1e-3, 8)).not.toEqual(a);
    const all = a.flatMap((r) => Array.from(r));
    const mean = all.reduce((x, y) => x + y, 0) / all.length;
    const sd = Math.sqrt(all.reduce((x, y) => x + (y - mean) ** 2, 0) / all.length);
    expect(Math.abs(mean)).toBeLessThan(1e-4); // 3 standard errors: 1e-3 / √1000 ≈ 3.2e-5
    expect(sd).toBeGreaterThan(0.9e-3);
    expect(sd).toBeLessThan(1.1e-3);
    expect(initialAlpha([3, 2], 0, 7)).toEqual([new Float32Array(3), new Float32Array(2)]);
  });

  it('a search starts there', async ({ skip }) => {
    if (!be) return skip();
    const s = new ProxylessSearch(be, toy({ searchSteps: 1, seed: 9 }), data(), TOY_COST);
    try {
      expect(s.alpha).toEqual(initialAlpha(s.net.choiceSizes, 1e-3, 9));
    } finally {
      s.dispose();
    }
  });
});

describe('label smoothing of the weight steps', () => {
  it('(1 − ε)·one-hot + ε/K targets: values and dlogits against finite differences', () => {
    const logits = [0.3, -1.2, 2.0, 0.5, 0.1, 0.1, -0.4, 1.1];
    const labels = [2, 0];
    const K = 4;
    const eps = 0.1;
    const r = smoothedCrossEntropy(logits, labels, K, eps);
    // By hand: −Σ_k t_k log p_k per image, averaged.
    let want = 0;
    for (let n = 0; n < 2; n++) {
      const row = logits.slice(n * K, (n + 1) * K);
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      row.forEach((v, k) => (want -= ((k === labels[n] ? 1 - eps : 0) + eps / K) * (v - lse)));
    }
    expect(r.loss).toBeCloseTo(want / 2, 12);
    const h = 1e-6;
    logits.forEach((_, i) => {
      const f = (d: number) =>
        smoothedCrossEntropy(
          logits.map((v, j) => (j === i ? v + d : v)),
          labels,
          K,
          eps,
        ).loss;
      expect(r.dlogits[i]).toBeCloseTo((f(h) - f(-h)) / (2 * h), 6);
    });
    // Equal logits: ln K whatever ε; ε = 0: plain CE.
    expect(smoothedCrossEntropy([1, 1, 1, 1], [3], 4, 0.3).loss).toBeCloseTo(Math.log(4), 12);
    const p = Math.exp(2) / [0.3, -1.2, 2, 0.5].reduce((s, v) => s + Math.exp(v), 0);
    expect(smoothedCrossEntropy(logits.slice(0, 4), [2], 4, 0).loss).toBeCloseTo(-Math.log(p), 12);
    expect(() => smoothedCrossEntropy([1, 2], [0], 2, 1)).toThrow(/label smoothing must be in \[0, 1\)/);
  });

  it('the smoothed weight step trains as the plain one when ε → 0, and otherwise not', async ({ skip }) => {
    if (!be) return skip();
    const weightsAfter = async (labelSmoothing: number) => {
      const s = new ProxylessSearch(be!, toy({ warmupSteps: 3, searchSteps: 1, archEvery: 9, labelSmoothing }), data(), TOY_COST);
      try {
        const r = await s.run();
        return { loss: r.history[0].trainLoss, w: await s.net.paramMap().get('stem.conv')!.value.read() };
      } finally {
        s.dispose();
      }
    };
    const plain = await weightsAfter(0);
    const tiny = await weightsAfter(1e-9);
    const smoothed = await weightsAfter(0.1);
    expect(tiny.loss).toBeCloseTo(plain.loss, 5);
    tiny.w.forEach((v, i) => expect(v).toBeCloseTo(plain.w[i], 5));
    expect(smoothed.loss).not.toBeCloseTo(plain.loss, 3);
    expect(Array.from(smoothed.w)).not.toEqual(Array.from(plain.w));
  });
});

describe("α's Adam, per block as PyTorch's", () => {
  const cfg: AdamConfig = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

  it('a block without a gradient is skipped whole: α, moments and step count (hand reference)', async ({ skip }) => {
    if (!be) return skip();
    const sizes = [3, 2, 4];
    const adam = new AlphaAdam(be, sizes, cfg);
    // Reference: one Adam state per block (PyTorch keeps state['step'] per parameter and skips a
    // parameter whose grad is None), f64.
    const ref = sizes.map((n) => ({ w: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n), step: 0 }));
    let alpha: Float32Array[] = sizes.map((n, b) => Float32Array.from({ length: n }, (_, i) => 0.1 * (b - i)));
    ref.forEach((r, b) => r.w.set(alpha[b]));
    const masks = [
      [true, false, true],
      [true, true, false],
      [false, true, true],
      [true, false, false],
    ];
    try {
      for (const [k, mask] of masks.entries()) {
        const grads = sizes.map((n, b) => Array.from({ length: n }, (_, i) => Math.sin(1 + k + 3 * b + i)));
        alpha = await adam.update(alpha, grads, mask);
        ref.forEach((r, b) => {
          if (!mask[b]) return;
          r.step++;
          adamStepCpu(r.w, grads[b], r.m, r.v, { ...cfg, step: r.step });
        });
        // f32 against f64: the first step moves each entry by lr·sign(g), 0.1, to within a few ulps.
        ref.forEach((r, b) => Array.from(r.w).forEach((w, i) => expect(alpha[b][i]).toBeCloseTo(w, 5)));
      }
      expect(adam.steps).toEqual([3, 2, 2]);
      // Block 1 got no gradient in the last step: its α is exactly what it was after step 3.
      const st = await adam.state();
      expect(st.steps).toEqual([3, 2, 2]);
      ref.forEach((r, b) => Array.from(r.m).forEach((m, i) => expect(st.m[adam.offsets[b] + i]).toBeCloseTo(m, 6)));

      // Saved and loaded, the next step is the same step.
      const other = new AlphaAdam(be, sizes, cfg);
      other.load(st);
      const g = sizes.map((n) => Array.from({ length: n }, (_, i) => 0.5 - i));
      const [x, y] = [await adam.update(alpha, g), await other.update(alpha, g)];
      expect(y).toEqual(x);
      other.dispose();
      expect(() => adam.load({ ...st, steps: [1, 2] })).toThrow(/does not match the α layout/);
    } finally {
      adam.dispose();
    }
  });

  it("in a search, a block whose sampled candidate is 'zero' takes fewer α steps than one without 'zero'", async ({ skip }) => {
    if (!be) return skip();
    const dir = join(tmp, 'zero');
    const s = new ProxylessSearch(
      be,
      toy({ searchSteps: 12, archEvery: 1, alphaInitStd: 0, paths: 1, checkpointDir: dir }),
      data(),
      TOY_COST,
    );
    try {
      const r = await s.run();
      const steps = (readCheckpoint(dir).meta.adam as { steps: number[] }).steps;
      // Blocks 0 and 1 have a 'zero' candidate (the last), block 2 has none.
      expect(steps[2]).toBe(r.archSteps);
      expect(steps[0] + steps[1]).toBeLessThan(2 * r.archSteps);
    } finally {
      s.dispose();
    }
  });
});
