import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import { binarizeAlphaGrad, gateDot, gateDotCpu, rescaleTwoPath, sampleGates, softmax } from '../../src/kernels/binarize.js';
import { adamStep, adamStepCpu, cosineLr, sgdStep, sgdStepCpu } from '../../src/kernels/optim.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('gate sampling', () => {
  it('1-path gates follow softmax(α)', () => {
    const alpha = [0.5, -1, 2, 0, 1.2, -0.3, 0.1];
    const p = softmax(alpha);
    const rng = new Rng(11);
    const n = 40000;
    const counts = new Array(alpha.length).fill(0);
    for (let s = 0; s < n; s++) {
      const g = sampleGates(alpha, rng, 1);
      counts[g.active]++;
      expect(g.inactive).toEqual([]);
      expect([...g.involved].sort()).toEqual(alpha.map((_, i) => i));
      expect(g.involved[0]).toBe(g.active);
    }
    // Binomial standard error; 4.5 sigma bound.
    counts.forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(4.5 * Math.sqrt((p[i] * (1 - p[i])) / n)));
  });

  it('2-path gates: pair by multinomial without replacement, active ~ softmax of the pair', () => {
    const alpha = [1, 0, -0.5, 0.7];
    const p = softmax(alpha);
    const rng = new Rng(12);
    const n = 40000;
    const active = new Array(alpha.length).fill(0);
    const pairCount = new Map<string, number>();
    for (let s = 0; s < n; s++) {
      const g = sampleGates(alpha, rng, 2);
      expect(g.inactive.length).toBe(1);
      expect(g.inactive[0]).not.toBe(g.active);
      active[g.active]++;
      const key = [g.active, g.inactive[0]].sort().join(',');
      pairCount.set(key, (pairCount.get(key) ?? 0) + 1);
    }
    // P(pair {i,j}) = p_i p_j / (1 - p_i) + p_j p_i / (1 - p_j)
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const q = (p[i] * p[j]) / (1 - p[i]) + (p[j] * p[i]) / (1 - p[j]);
        const got = (pairCount.get(`${i},${j}`) ?? 0) / n;
        expect(Math.abs(got - q)).toBeLessThan(4.5 * Math.sqrt((q * (1 - q)) / n));
      }
    }
    // P(active = i) = Σ_j P(pair {i,j}) p_i / (p_i + p_j)
    for (let i = 0; i < 4; i++) {
      let q = 0;
      for (let j = 0; j < 4; j++) {
        if (j === i) continue;
        q += ((p[i] * p[j]) / (1 - p[i]) + (p[j] * p[i]) / (1 - p[j])) * (p[i] / (p[i] + p[j]));
      }
      expect(Math.abs(active[i] / n - q)).toBeLessThan(4.5 * Math.sqrt((q * (1 - q)) / n));
    }
  });

  it('is reproducible for a seed and handles a single candidate', () => {
    const a = [0.1, 0.2, 0.3];
    const s1 = Array.from(
      { length: 20 },
      (
        (r) => () =>
          sampleGates(a, r, 2).active
      )(new Rng(3)),
    );
    const s2 = Array.from(
      { length: 20 },
      (
        (r) => () =>
          sampleGates(a, r, 2).active
      )(new Rng(3)),
    );
    expect(s1).toEqual(s2);
    expect(sampleGates([4], new Rng(1), 2)).toEqual({ active: 0, inactive: [], involved: [0] });
    expect(() => sampleGates([], new Rng(1))).toThrow(/no candidates/);
  });
});

describe('α gradient from gate gradients', () => {
  // The formula is the chain rule through p = softmax(α) with dL/dp := dL/dg: check it against
  // central differences of the surrogate S(α) = Σ_j dg_j p_j(α) (f64).
  const surrogateFd = (alpha: number[], dg: number[], involved: number[], i: number): number => {
    const h = 1e-6;
    const s = (a: number[]) => {
      const p = softmax(involved.map((k) => a[k]));
      return involved.reduce((acc, k, j) => acc + dg[k] * p[j], 0);
    };
    const ap = alpha.slice();
    const am = alpha.slice();
    ap[i] += h;
    am[i] -= h;
    return (s(ap) - s(am)) / (2 * h);
  };

  it('1-path (all candidates involved) matches finite differences', () => {
    const rng = new Rng(21);
    const alpha = Array.from({ length: 7 }, () => rng.normal());
    const dg = Array.from({ length: 7 }, () => rng.normal());
    const involved = [3, 0, 1, 2, 4, 5, 6];
    const got = binarizeAlphaGrad(alpha, dg, involved);
    alpha.forEach((_, i) => expect(got[i]).toBeCloseTo(surrogateFd(alpha, dg, involved, i), 7));
    // Softmax Jacobian rows sum to zero: the gradient does not move Σα.
    expect(got.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
  });

  it('1-path with only the active gate gradient known', () => {
    const alpha = [0.3, -0.2, 0.9];
    const dg = [0, 2.5, 0];
    const p = softmax(alpha);
    const got = binarizeAlphaGrad(alpha, dg, [1, 0, 2]);
    // dα_i = dg_a p_a (δ_ia − p_i)
    expect(got[1]).toBeCloseTo(2.5 * p[1] * (1 - p[1]), 12);
    expect(got[0]).toBeCloseTo(-2.5 * p[1] * p[0], 12);
    expect(got[2]).toBeCloseTo(-2.5 * p[1] * p[2], 12);
  });

  it('2-path only touches the pair, with the pair-softmax', () => {
    const rng = new Rng(22);
    const alpha = Array.from({ length: 6 }, () => rng.normal());
    const dg = [0, 1.7, 0, 0, -0.4, 0];
    const got = binarizeAlphaGrad(alpha, dg, [4, 1]);
    [0, 2, 3, 5].forEach((i) => expect(got[i]).toBe(0));
    for (const i of [1, 4]) expect(got[i]).toBeCloseTo(surrogateFd(alpha, dg, [4, 1], i), 7);
  });

  it('2-path rescale keeps the other candidates’ probabilities', () => {
    const alpha = [0.2, -0.4, 1.1, 0.5];
    const before = softmax(alpha);
    const updated = alpha.slice();
    const old = [updated[2], updated[0]];
    updated[2] += 0.3;
    updated[0] -= 0.1;
    rescaleTwoPath(updated, [2, 0], old);
    const after = softmax(updated);
    expect(after[1]).toBeCloseTo(before[1], 12);
    expect(after[3]).toBeCloseTo(before[3], 12);
    expect(after[0] + after[2]).toBeCloseTo(before[0] + before[2], 12);
    expect(after[2] / after[0]).toBeCloseTo(Math.exp(alpha[2] + 0.3 - (alpha[0] - 0.1)), 10);
  });

  it('rejects mismatched lengths', () => {
    expect(() => binarizeAlphaGrad([1, 2], [1], [0, 1])).toThrow(/gate gradients/);
  });
});

describe('binarize.wgsl gate dot product vs CPU', () => {
  const sizes = [1, 7, 256, 257, 2048 * 8 + 3, 131071, 300000];
  it.each(sizes)('n = %i', async (n) => {
    if (!gpu) return;
    const rng = new Rng(n);
    const a = rng.normals(n);
    const b = rng.normals(n);
    const ga = gpu.upload(a);
    const gb = gpu.upload(b);
    const out = gpu.zeros([3]);
    gateDot(gpu, ga, gb, out, 1, 0.5);
    gateDot(gpu, ga, ga, out, 2); // same buffer twice: copied internally
    const got = await out.read();
    const ref = gateDotCpu(a, b, 0.5);
    expect(got[0]).toBe(0);
    expect(Math.abs(got[1] - ref)).toBeLessThan(1e-5 * Math.sqrt(n) * 4 + 1e-6);
    expect(Math.abs(got[2] - gateDotCpu(a, a)) / gateDotCpu(a, a)).toBeLessThan(1e-5);
    for (const t of [ga, gb, out]) t.dispose();
  });

  it('rejects bad operands', async () => {
    if (!gpu) return;
    const a = gpu.zeros([4]);
    const b = gpu.zeros([5]);
    const out = gpu.zeros([1]);
    expect(() => gateDot(gpu!, a, b, out, 0)).toThrow(ShapeError);
    expect(() => gateDot(gpu!, a, a, out, 1)).toThrow(/outside out/);
    for (const t of [a, b, out]) t.dispose();
  });
});

describe('optim.wgsl vs CPU', () => {
  const sizes = [1, 13, 256, 1031, 70001];
  it.each(sizes)('SGD Nesterov + weight decay, 3 steps, n = %i', async (n) => {
    if (!gpu) return;
    const rng = new Rng(100 + n);
    const w = rng.normals(n);
    const buf = new Float32Array(n);
    const gw = gpu.upload(w);
    const gbuf = gpu.zeros([n]);
    for (let s = 0; s < 3; s++) {
      const g = rng.normals(n);
      const gg = gpu.upload(g);
      const o = { lr: 0.05 * (s + 1), momentum: 0.9, nesterov: true, weightDecay: 4e-5 };
      sgdStep(gpu, gw, gg, gbuf, o);
      sgdStepCpu(w, g, buf, o);
      gg.dispose();
    }
    expectClose(await gw.read(), w, { atol: 1e-5, label: 'w' });
    expectClose(await gbuf.read(), buf, { atol: 1e-5, label: 'buf' });
    gw.dispose();
    gbuf.dispose();
  });

  it('SGD plain momentum with dampening, and no momentum', async () => {
    if (!gpu) return;
    const rng = new Rng(5);
    for (const o of [{ lr: 0.1, momentum: 0.5, dampening: 0.3 }, { lr: 0.2 }]) {
      const w = rng.normals(50);
      const g = rng.normals(50);
      const buf = new Float32Array(50).fill(0.25);
      const [gw, gg, gb] = [gpu.upload(w), gpu.upload(g), gpu.upload(buf)];
      sgdStep(gpu, gw, gg, gb, o);
      sgdStepCpu(w, g, buf, o);
      expectClose(await gw.read(), w, { atol: 1e-6 });
      for (const t of [gw, gg, gb]) t.dispose();
    }
  });

  it.each(sizes)('Adam (β1 = 0 as in ProxylessNAS, and 0.9), 4 steps, n = %i', async (n) => {
    if (!gpu) return;
    for (const beta1 of [0, 0.9]) {
      const rng = new Rng(200 + n);
      const w = rng.normals(n);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const [gw, gm, gv] = [gpu.upload(w), gpu.zeros([n]), gpu.zeros([n])];
      for (let step = 1; step <= 4; step++) {
        const g = rng.normals(n, 0.1);
        const gg = gpu.upload(g);
        const o = { lr: 1e-3 * step, beta1, beta2: 0.999, eps: 1e-8, weightDecay: step === 2 ? 0.01 : 0, step };
        adamStep(gpu, gw, gg, gm, gv, o);
        adamStepCpu(w, g, m, v, o);
        gg.dispose();
      }
      expectClose(await gw.read(), w, { atol: 2e-6, label: 'w' });
      expectClose(await gm.read(), m, { atol: 1e-6, label: 'm' });
      expectClose(await gv.read(), v, { atol: 1e-7, label: 'v' });
      for (const t of [gw, gm, gv]) t.dispose();
    }
  });

  it('rejects bad shapes and parameters', async () => {
    if (!gpu) return;
    const a = gpu.zeros([4]);
    const b = gpu.zeros([3]);
    expect(() => sgdStep(gpu!, a, b, a, { lr: 0.1 })).toThrow(ShapeError);
    expect(() => sgdStep(gpu!, a, a, a, { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => adamStep(gpu!, a, a, a, a, { lr: 0.1, step: 0 })).toThrow(/step/);
    expect(() => adamStep(gpu!, a, a, a, a, { lr: NaN, step: 1 })).toThrow(/finite/);
    a.dispose();
    b.dispose();
  });

  it('cosine schedule', () => {
    expect(cosineLr(0.1, 0, 100)).toBeCloseTo(0.1);
    expect(cosineLr(0.1, 50, 100)).toBeCloseTo(0.05);
    expect(cosineLr(0.1, 100, 100)).toBeCloseTo(0);
    expect(cosineLr(0.1, 200, 100, 0.01)).toBeCloseTo(0.01);
  });
});
