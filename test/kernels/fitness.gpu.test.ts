import { onGpu } from '../helpers/backend.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  fitnessGrad,
  fitnessGradCpu,
  fitnessSoftmax,
  fitnessSoftmaxCpu,
  mixAccumulate,
  mixAccumulateCpu,
  mixBackward,
  mixBackwardCpu,
  mixForward,
  mixForwardCpu,
  mixtureCpu,
} from '../../src/kernels/fitness.js';
import { Param, Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});
afterAll(async () => {
  await gpu?.sync();
});

const KS = [1, 3, 4, 7];
const SIZES = [1, 257, 100003];

function disposeAll(ts: Array<{ dispose(): void } | null | undefined>): void {
  for (const t of ts) t?.dispose();
}

/** f32 dot products: error grows with Σ|a·b|, not with |Σ a·b|. */
function dotTol(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] * b[i]);
  return 1e-5 + 2e-6 * s;
}

describe('fitnessSoftmax', () => {
  for (const K of [...KS, 257]) {
    it(`random logits, K=${K}`, async ({ skip }) => {
      if (!gpu) return skip();
      const logits = new Rng(K).normals(K, 3);
      const gl = gpu.upload(logits, [K]);
      const gp = fitnessSoftmax(gpu, gl);
      expect(gp.shape).toEqual([K]);
      expectClose(await gp.read(), fitnessSoftmaxCpu(logits), { atol: 1e-6, rtol: 1e-5, label: 'probs' });
      disposeAll([gl, gp]);
    });
  }

  it('all-equal logits give the uniform distribution', async ({ skip }) => {
    if (!gpu) return skip();
    for (const K of KS) {
      const gl = gpu.upload(new Float32Array(K).fill(2.5), [K]);
      const gp = fitnessSoftmax(gpu, gl);
      expectClose(await gp.read(), new Float64Array(K).fill(1 / K), { atol: 1e-7, rtol: 1e-6, label: `K=${K}` });
      disposeAll([gl, gp]);
    }
  });

  it('large logits (±80) stay finite and match the f64 reference', async ({ skip }) => {
    if (!gpu) return skip();
    for (const logits of [[80, -80, 79, 0], [-80, -80, -79.5], [80, 80, 80, 80, 80, 80, 80], [-80]]) {
      const gl = gpu.upload(logits, [logits.length]);
      const gp = fitnessSoftmax(gpu, gl);
      const got = await gp.read();
      expect(got.every(Number.isFinite)).toBe(true);
      expect(got.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expectClose(got, fitnessSoftmaxCpu(logits), { atol: 1e-7, rtol: 1e-5, label: logits.join(',') });
      disposeAll([gl, gp]);
    }
  });
});

describe('mixForward / mixAccumulate', () => {
  for (const K of KS) {
    for (const n of SIZES) {
      it(`K=${K} n=${n}`, async ({ skip }) => {
        if (!gpu) return skip();
        const rng = new Rng(K * 7919 + n);
        const logits = rng.normals(K, 2);
        const outs = Array.from({ length: K }, () => rng.normals(n));
        const gl = gpu.upload(logits, [K]);
        const gp = fitnessSoftmax(gpu, gl);
        const go = outs.map((o) => gpu!.upload(o, [n]));
        const gy = mixForward(gpu, go, gp);
        expect(gy.shape).toEqual([n]);
        const probs = fitnessSoftmaxCpu(logits);
        expectClose(await gy.read(), mixForwardCpu(outs, probs), { atol: 1e-5, rtol: 1e-5, label: 'y' });
        disposeAll([gl, gp, gy, ...go]);
      });
    }
  }

  it('mixAccumulate adds probs[k]·o to y in place', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(11);
    const probs = fitnessSoftmaxCpu([0.3, -1, 2]);
    for (const n of [1, 257]) {
      const y0 = rng.normals(n);
      const o = rng.normals(n);
      const gy = gpu.upload(y0, [n]);
      const go = gpu.upload(o, [n]);
      const gp = gpu.upload(Float32Array.from(probs), [3]);
      mixAccumulate(gpu, gy, go, gp, 2);
      expectClose(await gy.read(), mixAccumulateCpu(y0, o, probs, 2), { atol: 1e-6, rtol: 1e-5, label: 'add' });
      mixAccumulate(gpu, gy, go, gp, 1, { overwrite: true });
      expectClose(await gy.read(), mixAccumulateCpu(null, o, probs, 1), { atol: 1e-6, rtol: 1e-5, label: 'overwrite' });
      disposeAll([gy, go, gp]);
    }
  });

  it('multi-row grid (> 65535 workgroups) folds gid.y back', async ({ skip }) => {
    if (!gpu) return skip();
    const n = 100003;
    expect(gpu.grid1d(n, 1)[1]).toBeGreaterThan(1);
    const rng = new Rng(12);
    const outs = [rng.normals(n), rng.normals(n)];
    const probs = fitnessSoftmaxCpu([0.5, -0.25]);
    const gp = gpu.upload(Float32Array.from(probs), [2]);
    const go = outs.map((o) => gpu!.upload(o, [n]));
    const gy = mixForward(gpu, go, gp, { wg: 1 });
    expectClose(await gy.read(), mixForwardCpu(outs, probs), { atol: 1e-5, rtol: 1e-5, label: 'y' });
    disposeAll([gp, gy, ...go]);
  });
});

describe('mixBackward / fitnessGrad', () => {
  for (const K of KS) {
    for (const n of SIZES) {
      it(`K=${K} n=${n}`, async ({ skip }) => {
        if (!gpu) return skip();
        const rng = new Rng(K * 104729 + n);
        const logits = rng.normals(K, 2);
        const outs = Array.from({ length: K }, () => rng.normals(n));
        const dy = rng.normals(n);
        const gl = gpu.upload(logits, [K]);
        const gp = fitnessSoftmax(gpu, gl);
        const go = outs.map((o) => gpu!.upload(o, [n]));
        const gdy = gpu.upload(dy, [n]);
        const gDots = gpu.empty([K]);
        const dOuts = outs.map((_, k) => {
          const d = gpu!.empty([n]);
          mixBackward(gpu!, go[k], gdy, gp, k, d, gDots);
          return d;
        });
        const gphi = fitnessGrad(gpu, gp, gDots);
        // Compare against the f64 chain fed the GPU's probs, so only each kernel's error counts.
        const probs = await gp.read();
        const ref = outs.map((o, k) => mixBackwardCpu(o, dy, probs, k));
        for (let k = 0; k < K; k++)
          expectClose(await dOuts[k].read(), ref[k].dOut, { atol: 1e-6, rtol: 1e-5, label: `dOut${k}` });
        const gotDots = await gDots.read();
        for (let k = 0; k < K; k++) {
          expect(Math.abs(gotDots[k] - ref[k].gDot), `g_${k}`).toBeLessThanOrEqual(dotTol(outs[k], dy));
        }
        // fitnessGrad on the GPU's own g_k: isolates that kernel from the dot products' rounding.
        expectClose(await gphi.read(), fitnessGradCpu(probs, gotDots), { atol: 1e-4, rtol: 1e-4, label: 'dphi' });
        disposeAll([gl, gp, gdy, gDots, gphi, ...go, ...dOuts]);
      });
    }
  }

  it('dot only (dOut = null), scale only (gDots = null), and a multi-row grid', async ({ skip }) => {
    if (!gpu) return skip();
    const n = 100003;
    const rng = new Rng(21);
    const o = rng.normals(n);
    const dy = rng.normals(n);
    const probs = Float32Array.from(fitnessSoftmaxCpu([1, -2, 0.5]));
    const gp = gpu.upload(probs, [3]);
    const go = gpu.upload(o, [n]);
    const gdy = gpu.upload(dy, [n]);
    const gDots = gpu.zeros([3]);
    const ref = mixBackwardCpu(o, dy, probs, 1);
    mixBackward(gpu, go, gdy, gp, 1, null, gDots);
    expect(Math.abs((await gDots.read())[1] - ref.gDot)).toBeLessThanOrEqual(dotTol(o, dy));
    const d = gpu.empty([n]);
    mixBackward(gpu, go, gdy, gp, 1, d, null);
    expectClose(await d.read(), ref.dOut, { atol: 1e-6, rtol: 1e-5, label: 'scale only' });
    // One element per workgroup: 100003 workgroups, so the grid has two rows.
    expect(gpu.grid1d(n, 1)[1]).toBeGreaterThan(1);
    const d2 = gpu.empty([n]);
    const g2 = gpu.zeros([3]);
    mixBackward(gpu, go, gdy, gp, 2, d2, g2, { wg: 1, items: 1 });
    const ref2 = mixBackwardCpu(o, dy, probs, 2);
    expectClose(await d2.read(), ref2.dOut, { atol: 1e-6, rtol: 1e-5, label: 'multi-row dOut' });
    const got2 = await g2.read();
    expect(Math.abs(got2[2] - ref2.gDot)).toBeLessThanOrEqual(dotTol(o, dy));
    expect([got2[0], got2[1]]).toEqual([0, 0]);
    disposeAll([gp, go, gdy, gDots, d, d2, g2]);
  });

  it('is deterministic: identical inputs give bit-identical g_k', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(31);
    const n = 5000;
    const go = gpu.upload(rng.normals(n), [n]);
    const gdy = gpu.upload(rng.normals(n), [n]);
    const gp = gpu.upload([1], [1]);
    const runs: Float32Array[] = [];
    for (let r = 0; r < 3; r++) {
      const g = gpu.zeros([1]);
      mixBackward(gpu, go, gdy, gp, 0, null, g);
      runs.push(await g.read());
      g.dispose();
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    disposeAll([go, gdy, gp]);
  });

  for (const K of KS) {
    it(`fitnessGrad on random probs/g, K=${K}`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(K + 500);
      const probs = Float32Array.from(fitnessSoftmaxCpu(rng.normals(K)));
      const g = rng.normals(K, 10);
      const gp = gpu.upload(probs, [K]);
      const gg = gpu.upload(g, [K]);
      const out = fitnessGrad(gpu, gp, gg);
      expectClose(await out.read(), fitnessGradCpu(probs, g), { atol: 1e-5, rtol: 1e-5, label: 'dphi' });
      disposeAll([gp, gg, out]);
    });
  }
});

/** L(φ) = Σ y(φ) ⊙ r in f64. */
function lossCpu(outs: Float32Array[], logits: ArrayLike<number>, r: ArrayLike<number>): number {
  const { y } = mixtureCpu(outs, logits);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

describe('Tape.mixture', () => {
  for (const K of KS) {
    it(`y, dL/do_k and dL/dφ vs f64 reference and finite differences, K=${K}`, async ({ skip }) => {
      if (!gpu) return skip();
      const shape = [2, 3, 5, 7];
      const n = 2 * 3 * 5 * 7;
      const rng = new Rng(K * 31 + 1);
      const logits = rng.normals(K);
      const outs = Array.from({ length: K }, () => rng.normals(n));
      const r = rng.normals(n);
      const phi = new Param(gpu.upload(logits, [K]), 'phi', 'bias');
      const tape = new Tape(onGpu(gpu));
      // The last candidate takes no gradient (e.g. a fixed input); the others do.
      const vars = outs.map((o, k) => tape.input(gpu!.upload(o, shape), k < K - 1 || K === 1));
      const y = tape.mixture(vars, phi);
      expect(y.shape).toEqual(shape);
      const seed = gpu.upload(r, shape);
      tape.backward(y, seed);

      const ref = mixtureCpu(outs, logits, r);
      expectClose(await y.value.read(), ref.y, { atol: 1e-5, rtol: 1e-5, label: 'y' });
      for (let k = 0; k < K; k++) {
        if (vars[k].requiresGrad)
          expectClose(await vars[k].grad!.read(), ref.dOuts![k], { atol: 1e-6, rtol: 1e-5, label: `do${k}` });
        else expect(vars[k].grad).toBeNull();
      }
      const dphi = await phi.grad!.read();
      expectClose(dphi, ref.dLogits!, { atol: 1e-4, rtol: 1e-4, label: 'dphi vs analytic' });
      const h = 1e-5;
      const fd = Array.from({ length: K }, (_, i) => {
        const plus = Float64Array.from(logits);
        const minus = Float64Array.from(logits);
        plus[i] += h;
        minus[i] -= h;
        return (lossCpu(outs, plus, r) - lossCpu(outs, minus, r)) / (2 * h);
      });
      expectClose(dphi, fd, { atol: 1e-4, rtol: 1e-4, label: 'dphi vs finite differences' });

      tape.dispose();
      phi.zeroGrad();
      disposeAll([phi.value, seed, ...vars.map((v) => v.value)]);
    });
  }

  it('the same output twice accumulates both gradients; dispose frees the tape-owned tensors', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(77);
    const n = 33;
    const a = rng.normals(n);
    const b = rng.normals(n);
    const logits = [0.2, -0.4, 1.1];
    const phi = new Param(gpu.upload(logits, [3]), 'phi', 'bias');
    const ga = gpu.upload(a, [n]);
    const gb = gpu.upload(b, [n]);
    await gpu.sync();
    const before = gpu.pool.stats().buffersInUse;
    const tape = new Tape(onGpu(gpu));
    const va = tape.input(ga, true);
    const vb = tape.input(gb, true);
    const y = tape.mixture([va, vb, va], phi);
    tape.backward(y);
    const ref = mixtureCpu([a, b, a], logits, new Float64Array(n).fill(1));
    expectClose(
      await va.grad!.read(),
      ref.dOuts![0].map((v, i) => v + ref.dOuts![2][i]),
      { atol: 1e-6, rtol: 1e-5, label: 'da' },
    );
    expectClose(await vb.grad!.read(), ref.dOuts![1], { atol: 1e-6, rtol: 1e-5, label: 'db' });
    expectClose(await phi.grad!.read(), ref.dLogits!, { atol: 1e-5, rtol: 1e-4, label: 'dphi' });
    tape.dispose();
    // Only the parameter's gradient outlives the tape.
    expect(gpu.pool.stats().buffersInUse).toBe(before + 1);
    phi.zeroGrad();
    disposeAll([phi.value, ga, gb]);
  });

  it('noGrad tape: forward only', async ({ skip }) => {
    if (!gpu) return skip();
    const phi = new Param(gpu.upload([0, 1], [2]), 'phi', 'bias');
    const tape = new Tape(onGpu(gpu), { noGrad: true });
    const o = [gpu.upload([1, 2], [2]), gpu.upload([3, 4], [2])];
    const y = tape.mixture(
      o.map((t) => tape.input(t, true)),
      phi,
    );
    expectClose(
      await y.value.read(),
      mixtureCpu(
        [
          [1, 2],
          [3, 4],
        ],
        [0, 1],
      ).y,
      { atol: 1e-6, label: 'y' },
    );
    expect(y.requiresGrad).toBe(false);
    tape.dispose();
    disposeAll([phi.value, ...o]);
  });
});

describe('bad input', () => {
  it('throws ShapeError for bad shapes and RangeError for bad indices', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const a = g.zeros([2, 3]);
    const b = g.zeros([3, 2]);
    const c = g.zeros([2, 3]);
    const p2 = g.upload([0.5, 0.5], [2]);
    const p3 = g.upload([0.2, 0.3, 0.5], [3]);
    const m22 = g.zeros([2, 2]);
    const e0 = g.zeros([0]);
    expect(() => fitnessSoftmax(g, m22)).toThrow(ShapeError);
    expect(() => fitnessSoftmax(g, e0)).toThrow(ShapeError);
    expect(() => mixForward(g, [], p2)).toThrow(ShapeError);
    expect(() => mixForward(g, [a, b], p2)).toThrow(/candidate 1 has shape/);
    expect(() => mixForward(g, [a, c], p3)).toThrow(ShapeError);
    expect(() => mixForward(g, [a, c], m22)).toThrow(ShapeError);
    expect(() => mixAccumulate(g, a, b, p2, 0)).toThrow(ShapeError);
    expect(() => mixAccumulate(g, a, c, p2, 2)).toThrow(RangeError);
    expect(() => mixAccumulate(g, a, a, p2, 0)).toThrow(/must not share its buffer/);
    expect(() => mixForward(g, [a, c], p2, { wg: 3 })).toThrow(/power of two/);
    expect(() => mixBackward(g, a, b, p2, 0, c, null)).toThrow(ShapeError);
    expect(() => mixBackward(g, a, c, p2, 0, b, null)).toThrow(ShapeError);
    expect(() => mixBackward(g, a, c, p2, 0, null, p3)).toThrow(ShapeError);
    expect(() => mixBackward(g, a, c, p2, 0, c, null)).toThrow(/must not share its buffer/);
    expect(() => fitnessGrad(g, p2, p3)).toThrow(ShapeError);

    const tape = new Tape(onGpu(g));
    const phi2 = new Param(g.upload([0, 0], [2]), 'phi', 'bias');
    const phi22 = new Param(g.zeros([2, 2]), 'phi', 'bias');
    const va = tape.input(a, true);
    const vb = tape.input(b, true);
    const vc = tape.input(c, true);
    expect(() => tape.mixture([], phi2)).toThrow(ShapeError);
    expect(() => tape.mixture([va, vb], phi2)).toThrow(ShapeError);
    expect(() => tape.mixture([va, vc, va], phi2)).toThrow(/logits must have shape \[3\]/);
    expect(() => tape.mixture([va, vc], phi22)).toThrow(ShapeError);
    tape.dispose();
    disposeAll([a, b, c, p2, p3, m22, e0, phi2.value, phi22.value]);
  });
});
