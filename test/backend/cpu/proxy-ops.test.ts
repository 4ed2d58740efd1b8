/**
 * Native proxy and training ops against the TypeScript references: correlation (correlation.test.ts
 * shapes), the proxies' accumulation and sign codes (proxy-ops.test.ts sizes), the ProxylessNAS gate
 * dot product and optimiser steps (proxyless-kernels.test.ts sizes) and the AutoSpace fitness
 * mixture (fitness.test.ts's K and sizes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../../src/gpu/errors.js';
import { gateDotCpu } from '../../../src/kernels/binarize.js';
import { correlationCpu } from '../../../src/kernels/correlation.js';
import { fitnessGradCpu, fitnessSoftmaxCpu, mixtureCpu } from '../../../src/kernels/fitness.js';
import { matmulCpu } from '../../../src/kernels/matmul.js';
import { adamStepCpu, sgdStepCpu } from '../../../src/kernels/optim.js';
import {
  accumulateAbsBatchedCpu,
  accumulateAbsCpu,
  signCodesCpu,
  type BatchedAccumulateOptions,
} from '../../../src/kernels/proxy-ops.js';
import type { NativeDevice, NativeTensor } from '../../../src/native/device.js';
import * as nat from '../../../src/backend/cpu/index.js';
import { Rng } from '../../../src/util/rng.js';
import { expectClose } from '../../helpers/gpu.js';
import { CORRELATION_SHAPES } from '../../helpers/cases.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

const disposeAll = (ts: Array<NativeTensor | null | undefined>) => ts.forEach((t) => t?.dispose());

describe('native correlation vs the f64 reference', () => {
  const shapes: Array<[number, number, number]> = [
    ...CORRELATION_SHAPES,
    [2, 64, 16384], // WRCor's first stage at batch 64
  ];
  for (const [B, N, D] of shapes) {
    it(`B=${B} N=${N} D=${D}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(B * N * D);
      const x = rng.normals(B * N * D).map((v, i) => v + (i % 5));
      const tx = dev.upload(x, [B, N, D]);
      const c = nat.correlation(dev, tx);
      expect(c.shape).toEqual([B, N, N]);
      const ref = correlationCpu(x, B, N, D);
      expectClose(await c.read(), ref, { atol: 2e-6 * Math.sqrt(D) + 1e-6, label: 'corr' });
      expectClose(await tx.read(), x, { atol: 0, label: 'x untouched' });
      // The in-place variant: off-diagonal entries equal, the diagonal ~1.
      const out = dev.empty([B, N, N]);
      nat.correlationOffDiagInPlace(dev, tx, out);
      const got = await out.read();
      for (let i = 0; i < got.length; i++) if ((i % (N * N)) % (N + 1) === 0) got[i] = 1;
      expectClose(got, ref, { atol: 2e-6 * Math.sqrt(D) + 1e-6, label: 'offdiag' });
      disposeAll([tx, c, out]);
    });
  }

  // The addon's Gram kernel behind both ops (gramRows: the upper triangle in 4 x 4 blocks over
  // L1-sized panels of D, mirrored), and its portable variant: N off the blocks, D off the vectors
  // and panels (N = 130 gives 64-float panels, so D = 1000 takes 16 of them with a tail).
  const gramShapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [2, 3, 5],
    [1, 5, 17],
    [3, 17, 257],
    [2, 67, 1000],
    [1, 64, 4099],
    [2, 130, 1000],
  ];
  for (const portable of [false, true]) {
    for (const [B, N, D] of gramShapes) {
      it(`gramRows${portable ? ' (portable)' : ''} B=${B} N=${N} D=${D}: x x^T, exactly symmetric`, async ({ skip }) => {
        if (!dev) return skip();
        const rng = new Rng(B * N + D);
        // Unit rows (entries within [-1, 1], as the correlations feed it), one of them zero.
        const x = rng.normals(B * N * D);
        for (let r = 0; r < B * N; r++) {
          const row = x.subarray(r * D, (r + 1) * D);
          const norm = Math.hypot(...row);
          for (let k = 0; k < D; k++) row[k] = r === 1 ? 0 : row[k] / norm;
        }
        const ref = new Float64Array(B * N * N);
        for (let b = 0; b < B; b++)
          for (let i = 0; i < N; i++)
            for (let j = 0; j < N; j++) {
              let acc = 0;
              for (let k = 0; k < D; k++) acc += x[(b * N + i) * D + k] * x[(b * N + j) * D + k];
              ref[(b * N + i) * N + j] = acc;
            }
        const tx = dev.upload(x, [B, N, D]);
        const out = dev.upload(new Float32Array(B * N * N).fill(7), [B, N, N]);
        dev.enqueue('gramRows', [tx, out], { B, N, D, portable });
        const got = await out.read();
        expectClose(got, ref, { atol: 1e-6 * Math.sqrt(D) + 1e-7, rtol: 0, label: 'gram' });
        for (let b = 0; b < B; b++)
          for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) expect(got[(b * N + i) * N + j]).toBe(got[(b * N + j) * N + i]);
        expectClose(await tx.read(), x, { atol: 0, label: 'x untouched' });
        disposeAll([tx, out]);
      });
    }
  }

  // Backend.fused.correlationsOffDiag: the rows normalised while the Gram kernel packs them, bit for
  // bit the arena path (copies into [L, n, d], then correlationOffDiagInPlace); constant rows included.
  const directShapes: Array<[number, number, number]> = [
    [1, 2, 1],
    [3, 5, 7],
    [2, 67, 1000],
    [3, 64, 4099],
  ];
  for (const [L, n, d] of directShapes) {
    it(`correlationsOffDiag L=${L} n=${n} d=${d}: the arena path's matrices bit for bit, sources untouched`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(L * n + d);
      const data = Array.from({ length: L }, (_, l) => {
        const x = rng.normals(n * d).map((v, i) => v + (i % 3) + l);
        x.fill(2.5, 0, d); // row 0 constant
        return x;
      });
      const xs = data.map((x) => dev!.upload(x, [n, d]));
      const direct = dev.empty([L, n, n]);
      nat.correlationsOffDiag(dev, xs, n, d, direct);
      const arena = dev.empty([L, n, d]);
      xs.forEach((x, l) => dev!.copy(x, arena, n * d, 0, l * n * d));
      const viaArena = dev.empty([L, n, n]);
      nat.correlationOffDiagInPlace(dev, arena, viaArena);
      const [a, b] = [await direct.read(), await viaArena.read()];
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      for (const [l, x] of xs.entries()) expectClose(await x.read(), data[l], { atol: 0, label: 'source' });
      disposeAll([...xs, direct, arena, viaArena]);
    });
  }

  it('correlationsOffDiag refuses sizes that do not fit before queueing', ({ skip }) => {
    if (!dev) return skip();
    const d = dev;
    const [x, y, out] = [d.zeros([4, 6]), d.zeros([4, 5]), d.zeros([2, 4, 4])];
    expect(() => nat.correlationsOffDiag(d, [x, y], 4, 6, out)).toThrow(/xs\[1\] has 20 elements, expected 4x6/);
    expect(() => nat.correlationsOffDiag(d, [x], 4, 6, out)).toThrow(/out has 32 elements, expected 1x4x4/);
    expect(() => nat.correlationsOffDiag(d, [x], 4, 0, out)).toThrow(RangeError);
    disposeAll([x, y, out]);
  });

  it("matmul(x, x, { transB }) takes gramRows: NASWOT's sign codes give the exact integers oneDNN's product gives", async ({
    skip,
  }) => {
    if (!dev) return skip();
    const [B, N, D] = [3, 10, 700];
    const rng = new Rng(11);
    const x = Float32Array.from(rng.normals(B * N * D), (v) => (v > 0.3 ? 1 : v < -0.3 ? -1 : 0));
    const tx = dev.upload(x, [B, N, D]);
    const copy = dev.upload(x, [B, N, D]); // another storage: the general oneDNN path
    const self = await nat.matmul(dev, tx, tx, { transB: true }).read();
    const general = await nat.matmul(dev, tx, copy, { transB: true }).read();
    expect(Array.from(self)).toEqual(Array.from(matmulCpu(x, [B, N, D], x, [B, N, D], { transB: true })));
    expect(Array.from(self)).toEqual(Array.from(general));
    disposeAll([tx, copy]);
  });

  it('gramRows: D = 0 gives zeros; sizes that do not fit are refused at enqueue', async ({ skip }) => {
    if (!dev) return skip();
    const d = dev;
    const out = d.upload(new Float32Array(8).fill(7), [2, 2, 2]);
    const empty = d.zeros([1]);
    d.enqueue('gramRows', [empty, out], { B: 2, N: 2, D: 0 });
    expect(Array.from(await out.read())).toEqual(new Array(8).fill(0));
    const [x23, x24, o17, o18] = [23, 24, 17, 18].map((n) => d.zeros([n]));
    expect(() => d.enqueue('gramRows', [x23, o18], { B: 2, N: 3, D: 4 })).toThrow(/x has 23 elements, needs at least 24/);
    expect(() => d.enqueue('gramRows', [x24, o17], { B: 2, N: 3, D: 4 })).toThrow(/out has 17 elements, needs at least 18/);
    disposeAll([out, empty, x23, x24, o17, o18]);
  });

  it('constant rows correlate 0, the diagonal is exactly 1, D = 1 needs the opt-in', async ({ skip }) => {
    if (!dev) return skip();
    const x = Float32Array.from([3, 3, 3, 3, /**/ 1, 2, 3, 5, /**/ 0, 0, 0, 0]);
    const c = await nat.correlation(dev, dev.upload(x, [1, 3, 4])).read();
    expect([c[0], c[1], c[2], c[3], c[8]]).toEqual([1, 0, 0, 0, 1]);
    const two = await nat.correlation(dev, dev.upload([1, 2, 3, 4, 8, 6, 4, 2, 1, -1, -1, 1], [3, 4])).read();
    expectClose(two, [1, -1, 0, -1, 1, 0, 0, 0, 1], { atol: 1e-6 });
    expect(() => nat.correlation(dev!, dev!.zeros([3, 1]))).toThrow(/at least 2 features/);
    const one = nat.correlation(dev, dev.upload([1, 2, 3], [3, 1]), { allowSingleFeature: true });
    expect(Array.from(await one.read())).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(() => nat.correlation(dev!, dev!.zeros([2, 2, 2, 2]))).toThrow(ShapeError);
  });

  it('normalizeRows leaves its input and gives centred unit rows', async ({ skip }) => {
    if (!dev) return skip();
    const rng = new Rng(8);
    const x = rng.normals(6 * 33);
    const tx = dev.upload(x, [6, 33]);
    const z = await nat.normalizeRows(dev, tx, 6, 33).read();
    for (let r = 0; r < 6; r++) {
      const row = z.subarray(r * 33, (r + 1) * 33);
      expect(Math.abs(row.reduce((a, b) => a + b, 0))).toBeLessThan(1e-5);
      expect(row.reduce((a, b) => a + b * b, 0)).toBeCloseTo(1, 5);
    }
    expect(() => nat.normalizeRowsInPlace(dev!, tx, 7, 33)).toThrow(/exceeds the tensor/);
    tx.dispose();
  });
});

describe('native proxy ops vs the references', () => {
  for (const n of [1, 7, 256, 1000, 70001]) {
    it(`accumulateAbs and signCodes, n=${n}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(n);
      const k = rng.normals(n);
      const c = rng.normals(n);
      c[0] = 0; // sign of exactly zero is -1
      const tk = dev.upload(k, [n]);
      const tc = dev.upload(c, [n]);
      nat.accumulateAbs(dev, tk, tc, 4);
      const ref = k.slice();
      accumulateAbsCpu(ref, c, 4);
      expectClose(await tk.read(), ref, { atol: 1e-6 });
      const s = nat.signCodes(dev, tc);
      expect(Array.from(await s.read())).toEqual(Array.from(signCodesCpu(c)));
      nat.signCodesInPlace(dev, tc);
      expect(Array.from(await tc.read())).toEqual(Array.from(signCodesCpu(c)));
      disposeAll([tk, tc, s]);
    });
  }

  const batched: Array<[string, Omit<BatchedAccumulateOptions, 'n'>]> = [
    ['one slot, abs, unit diagonal', { slots: 1, layerSlots: [0, 0, 0], weights: [1, 2, 4], abs: true, unitDiagonal: true }],
    ['4 slots with gaps, 2 outs', { slots: 4, layerSlots: [0, 0, 2, 3, 3, 3], weights: [1, 2, 1, 8, 8, 16], outs: 2 }],
    ['signed, no diagonal rule', { slots: 2, layerSlots: [1, 1], weights: [0.5, -1], abs: false }],
  ];
  for (const n of [3, 64]) {
    for (const [name, o] of batched) {
      it(`accumulateAbsBatched n=${n}: ${name}`, async ({ skip }) => {
        if (!dev) return skip();
        const rng = new Rng(n + o.layerSlots.length);
        const L = o.layerSlots.length;
        const outs = o.outs ?? 1;
        const dst0 = rng.normals(o.slots * outs * n * n);
        const src = rng.normals(L * n * n);
        const td = dev.upload(dst0);
        const ts = dev.upload(src);
        nat.accumulateAbsBatched(dev, td, ts, { ...o, n });
        const ref = Float64Array.from(dst0);
        accumulateAbsBatchedCpu(ref, src, { ...o, n });
        expectClose(await td.read(), ref, { atol: 1e-5 });
        disposeAll([td, ts]);
      });
    }
  }

  it('accumulateAbsBatched rejects unsorted or out-of-range slots as the GPU op does', ({ skip }) => {
    if (!dev) return skip();
    const d = dev.zeros([2 * 4]);
    const s = dev.zeros([2 * 4]);
    expect(() => nat.accumulateAbsBatched(dev!, d, s, { n: 2, slots: 2, layerSlots: [1, 0], weights: [1, 1] })).toThrow(
      /sorted by slot/,
    );
    expect(() => nat.accumulateAbsBatched(dev!, d, s, { n: 2, slots: 2, layerSlots: [0, 2], weights: [1, 1] })).toThrow(
      /not in \[0, 2\)/,
    );
    expect(() => nat.accumulateAbsBatched(dev!, d, s, { n: 2, slots: 2, layerSlots: [0], weights: [1, 1] })).toThrow(
      /1 layer slots but 2 weights/,
    );
    expect(() => nat.accumulateAbsBatched(dev!, d, s, { n: 2, slots: 3, layerSlots: [0], weights: [1] })).toThrow(
      /dst has 8 elements/,
    );
    disposeAll([d, s]);
  });

  it('the WRCor arena path: copies into a window, off-diagonal Gram, weighted accumulation', async ({ skip }) => {
    if (!dev) return skip();
    const [n, d, L] = [8, 12, 3];
    const rng = new Rng(21);
    const acts = Array.from({ length: L }, () => rng.normals(n * d));
    const arena = dev.empty([L * n * d + 7]); // larger than the chunk, as a reused arena
    acts.forEach((a, l) => {
      const t = dev!.upload(a, [n, d]);
      dev!.copy(t, arena, n * d, 0, l * n * d);
      t.dispose();
    });
    const mats = dev.empty([L * n * n]);
    const k = dev.zeros([2 * n * n]);
    // A window on the arena's first L n d elements, as correlation-proxies.ts's BufferWindow.
    const x = arena.window([L, n, d]);
    expect(() => arena.window([L + 1, n, d])).toThrow(/exceeds its tensor/);
    nat.correlationOffDiagInPlace(dev, x, mats);
    nat.accumulateAbsBatched(dev, k, mats, {
      n,
      slots: 1,
      outs: 2,
      layerSlots: [0, 0, 0],
      weights: [1, 2, 4],
      abs: true,
      unitDiagonal: true,
    });
    const ref = new Float64Array(2 * n * n);
    acts.forEach((a, l) => {
      const c = correlationCpu(a, 1, n, d);
      for (let e = 0; e < n * n; e++) {
        ref[e] += [1, 2, 4][l] * Math.abs(c[e]);
        ref[n * n + e] += Math.abs(c[e]);
      }
    });
    expectClose(await k.read(), ref, { atol: 1e-5 });
    x.dispose(); // a window's dispose leaves the arena alive
    expect(arena.isDisposed).toBe(false);
    disposeAll([arena, mats, k]);
    expect(x.isDisposed).toBe(true);
  });
});

describe('native gate dot product and optimiser steps vs the references', () => {
  for (const n of [1, 7, 256, 257, 2048 * 8 + 3, 131071, 300000]) {
    it(`gateDot n = ${n}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(n);
      const a = rng.normals(n);
      const b = rng.normals(n);
      const [ta, tb, out] = [dev.upload(a), dev.upload(b), dev.zeros([3])];
      nat.gateDot(dev, ta, tb, out, 1, 0.5);
      nat.gateDot(dev, ta, ta, out, 2);
      const got = await out.read();
      expect(got[0]).toBe(0);
      expect(Math.abs(got[1] - gateDotCpu(a, b, 0.5))).toBeLessThan(1e-6 * Math.sqrt(n) + 1e-6);
      expect(Math.abs(got[2] - gateDotCpu(a, a)) / gateDotCpu(a, a)).toBeLessThan(1e-6);
      expect(() => nat.gateDot(dev!, ta, dev!.zeros([n + 1]), out, 0)).toThrow(ShapeError);
      expect(() => nat.gateDot(dev!, ta, ta, out, 3)).toThrow(/outside out/);
      disposeAll([ta, tb, out]);
    });
  }

  for (const n of [1, 13, 256, 1031, 70001]) {
    it(`SGD Nesterov + weight decay (3 steps) and Adam (4 steps, β1 0 and 0.9), n = ${n}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(100 + n);
      const w = rng.normals(n);
      const buf = new Float32Array(n);
      const [tw, tbuf] = [dev.upload(w), dev.zeros([n])];
      for (let s = 0; s < 3; s++) {
        const g = rng.normals(n);
        const tg = dev.upload(g);
        const o = { lr: 0.05 * (s + 1), momentum: 0.9, nesterov: true, weightDecay: 4e-5 };
        nat.sgdStep(dev, tw, tg, tbuf, o);
        sgdStepCpu(w, g, buf, o);
        tg.dispose();
      }
      expectClose(await tw.read(), w, { atol: 1e-5, label: 'sgd w' });
      expectClose(await tbuf.read(), buf, { atol: 1e-5, label: 'sgd buf' });
      disposeAll([tw, tbuf]);
      for (const beta1 of [0, 0.9]) {
        const wa = rng.normals(n);
        const m = new Float32Array(n);
        const v = new Float32Array(n);
        const [ta, tm, tv] = [dev.upload(wa), dev.zeros([n]), dev.zeros([n])];
        for (let step = 1; step <= 4; step++) {
          const g = rng.normals(n, 0.1);
          const tg = dev.upload(g);
          const o = { lr: 1e-3 * step, beta1, beta2: 0.999, eps: 1e-8, weightDecay: step === 2 ? 0.01 : 0, step };
          nat.adamStep(dev, ta, tg, tm, tv, o);
          adamStepCpu(wa, g, m, v, o);
          tg.dispose();
        }
        expectClose(await ta.read(), wa, { atol: 2e-6, label: 'adam w' });
        expectClose(await tm.read(), m, { atol: 1e-6, label: 'adam m' });
        expectClose(await tv.read(), v, { atol: 1e-7, label: 'adam v' });
        disposeAll([ta, tm, tv]);
      }
    });
  }

  it('SGD with dampening and without momentum; argument errors as the GPU ops', async ({ skip }) => {
    if (!dev) return skip();
    const rng = new Rng(5);
    for (const o of [{ lr: 0.1, momentum: 0.5, dampening: 0.3 }, { lr: 0.2 }]) {
      const w = rng.normals(50);
      const g = rng.normals(50);
      const buf = new Float32Array(50).fill(0.25);
      const [tw, tg, tb] = [dev.upload(w), dev.upload(g), dev.upload(buf)];
      nat.sgdStep(dev, tw, tg, tb, o);
      sgdStepCpu(w, g, buf, o);
      expectClose(await tw.read(), w, { atol: 1e-6 });
      disposeAll([tw, tg, tb]);
    }
    const [a, b] = [dev.zeros([4]), dev.zeros([5])];
    expect(() => nat.sgdStep(dev!, a, b, a, { lr: 1 })).toThrow(/grad has 5 elements/);
    expect(() => nat.sgdStep(dev!, a, a, a, { lr: 1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => nat.adamStep(dev!, a, a, a, a, { lr: 1, step: 0 })).toThrow(/step must be an integer/);
    expect(() => nat.adamStep(dev!, a, a, a, a, { lr: 1, step: 1, beta1: 1 })).toThrow(/betas/);
    disposeAll([a, b]);
  });
});

describe('native fitness mixture vs the f64 reference', () => {
  for (const K of [1, 3, 4, 7]) {
    for (const n of [1, 257, 100003]) {
      it(`K=${K} n=${n}: softmax, forward, backward, logit gradient`, async ({ skip }) => {
        if (!dev) return skip();
        const rng = new Rng(K * 1000 + n);
        const logits = rng.normals(K, 2);
        const outs = Array.from({ length: K }, () => rng.normals(n));
        const dy = rng.normals(n);
        const ref = mixtureCpu(outs, logits, dy);
        const tl = dev.upload(logits);
        const to = outs.map((o) => dev!.upload(o, [n]));
        const tdy = dev.upload(dy, [n]);
        const probs = nat.fitnessSoftmax(dev, tl);
        expectClose(await probs.read(), fitnessSoftmaxCpu(logits), { atol: 1e-6, label: 'probs' });
        const y = nat.mixForward(dev, to, probs);
        expectClose(await y.read(), ref.y, { atol: 1e-5, label: 'y' });
        const gDots = dev.zeros([K]);
        const dOuts = to.map((o, k) => {
          const d = dev!.empty([n]);
          nat.mixBackward(dev!, o, tdy, probs, k, d, gDots);
          return d;
        });
        for (let k = 0; k < K; k++) expectClose(await dOuts[k].read(), ref.dOuts![k], { atol: 1e-6, label: `dOut ${k}` });
        const g = nat.fitnessGrad(dev, probs, gDots);
        expectClose(await g.read(), ref.dLogits!, { atol: 1e-5 * Math.sqrt(n), rtol: 1e-5, label: 'dLogits' });
        // dot only and scale only
        const gOnly = dev.zeros([K]);
        nat.mixBackward(dev, to[0], tdy, probs, 0, null, gOnly);
        const dOnly = dev.empty([n]);
        nat.mixBackward(dev, to[K - 1], tdy, probs, K - 1, dOnly, null);
        expectClose(await dOnly.read(), ref.dOuts![K - 1], { atol: 1e-6, label: 'scale only' });
        const gd = await gDots.read();
        expectClose((await gOnly.read()).subarray(0, 1), [gd[0]], { atol: 1e-6 * Math.sqrt(n), label: 'dot only' });
        expectClose(await g.read(), fitnessGradCpu(await probs.read(), gd), { atol: 1e-6, label: 'grad at the same dots' });
        disposeAll([tl, ...to, tdy, probs, y, gDots, ...dOuts, g, gOnly, dOnly]);
      });
    }
  }

  it('mixAccumulate overwrite / add; errors as the GPU ops', async ({ skip }) => {
    if (!dev) return skip();
    const probs = dev.upload([0.25, 0.75]);
    const o = dev.upload([1, 2], [2]);
    const y = dev.upload([10, 20], [2]);
    nat.mixAccumulate(dev, y, o, probs, 1);
    expect(Array.from(await y.read())).toEqual([10.75, 21.5]);
    nat.mixAccumulate(dev, y, o, probs, 0, { overwrite: true });
    expect(Array.from(await y.read())).toEqual([0.25, 0.5]);
    expect(() => nat.mixAccumulate(dev!, y, y, probs, 0)).toThrow(/must not share its buffer/);
    expect(() => nat.mixAccumulate(dev!, y, o, probs, 2)).toThrow(/outside \[0, 2\)/);
    expect(() => nat.mixAccumulate(dev!, y, o, probs, 0, { wg: 3 })).toThrow(/power of two/);
    expect(() => nat.mixForward(dev!, [o, dev!.zeros([3])], probs)).toThrow(/candidate 1 has shape/);
    expect(() => nat.fitnessGrad(dev!, probs, dev!.zeros([3]))).toThrow(ShapeError);
    disposeAll([probs, o, y]);
  });

  it('matches the matmul reference on a mixture of Gram products (mixing is linear)', async ({ skip }) => {
    if (!dev) return skip();
    const rng = new Rng(31);
    const a = rng.normals(4 * 6);
    const b = rng.normals(4 * 6);
    const ta = nat.matmul(dev, dev.upload(a, [4, 6]), dev.upload(a, [4, 6]), { transB: true });
    const tb = nat.matmul(dev, dev.upload(b, [4, 6]), dev.upload(b, [4, 6]), { transB: true });
    const p = nat.fitnessSoftmax(dev, dev.upload([0, 0]));
    const y = await nat.mixForward(dev, [ta, tb], p).read();
    const ga = matmulCpu(a, [4, 6], a, [4, 6], { transB: true });
    const gb = matmulCpu(b, [4, 6], b, [4, 6], { transB: true });
    expectClose(
      y,
      ga.map((v, i) => 0.5 * (v + gb[i])),
      { atol: 1e-5 },
    );
  });
});
