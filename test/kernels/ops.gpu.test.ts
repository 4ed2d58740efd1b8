import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  relu,
  relu6,
  relu6Backward,
  relu6BackwardCpu,
  relu6Cpu,
  reluBackward,
  reluBackwardCpu,
  reluCpu,
} from '../../src/kernels/activation.js';
import {
  abs,
  absCpu,
  add,
  addBiasRows,
  addCpu,
  axpy,
  axpyCpu,
  fill,
  mul,
  mulCpu,
  scale,
  scaleCpu,
} from '../../src/kernels/elementwise.js';
import { linear, linearBackward, linearBackwardCpu, linearBackwardF64, linearCpu, linearF64 } from '../../src/kernels/linear.js';
import { softmaxCrossEntropy, softmaxCrossEntropyCpu, softmaxCrossEntropyF64 } from '../../src/kernels/loss.js';
import {
  colSums,
  colSumsCpu,
  rowSums,
  rowSumsCpu,
  sum,
  sumAbsProduct,
  sumAbsProductCpu,
  sumCpu,
  sumSlices,
  sumSquares,
  sumSquaresCpu,
} from '../../src/kernels/reduce.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { dot, expectGradMatchesFd, withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const sizes: number[][] = [[1], [7], [3, 5, 7, 5], [1000], [2, 257]];

describe('element-wise ops', () => {
  for (const shape of sizes) {
    it(`add/mul/scale/abs/axpy/fill on [${shape}]`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(shape.reduce((a, b) => a * b));
      const n = shape.reduce((a, b) => a * b);
      const a = rng.normals(n);
      const b = rng.normals(n);
      const ga = gpu.upload(a, shape);
      const gb = gpu.upload(b, shape);
      const outs = [add(gpu, ga, gb), mul(gpu, ga, gb), scale(gpu, ga, -2.5), abs(gpu, ga)];
      expectClose(await outs[0].read(), addCpu(a, b), { label: 'add' });
      expectClose(await outs[1].read(), mulCpu(a, b), { label: 'mul' });
      expectClose(await outs[2].read(), scaleCpu(a, -2.5), { label: 'scale' });
      expectClose(await outs[3].read(), absCpu(a), { label: 'abs' });
      axpy(gpu, ga, gb, 0.75);
      const ref = Float32Array.from(a);
      axpyCpu(ref, b, 0.75);
      expectClose(await ga.read(), ref, { label: 'axpy' });
      axpy(gpu, ga, ga, 1); // aliasing: y += y
      expectClose(
        await ga.read(),
        ref.map((v) => 2 * v),
        { label: 'axpy aliased' },
      );
      fill(gpu, gb, 3.5);
      expectClose(await gb.read(), new Float32Array(n).fill(3.5), { label: 'fill' });
      for (const t of [ga, gb, ...outs]) t.dispose();
    });
  }

  it('adds a row bias in place', async ({ skip }) => {
    if (!gpu) return skip();
    const y = gpu.upload([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = gpu.upload([10, 20, 30], [3]);
    addBiasRows(gpu, y, b);
    expectClose(await y.read(), [11, 22, 33, 14, 25, 36]);
    expect(() => addBiasRows(gpu!, y, gpu!.zeros([2]))).toThrow(ShapeError);
    y.dispose();
    b.dispose();
  });

  it('rejects mismatched shapes and bad scalars', async ({ skip }) => {
    if (!gpu) return skip();
    const a = gpu.zeros([2, 3]);
    const b = gpu.zeros([3, 2]);
    expect(() => add(gpu!, a, b)).toThrow(ShapeError);
    expect(() => mul(gpu!, a, b)).toThrow(/shapes differ/);
    expect(() => axpy(gpu!, a, b)).toThrow(ShapeError);
    expect(() => scale(gpu!, a, NaN)).toThrow(RangeError);
    a.dispose();
    b.dispose();
  });
});

describe('activations', () => {
  it('relu / relu6 forward and backward, with the kinks at 0 and 6', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(4);
    const x = Float32Array.from([0, 6, -0.5, 5.99, 6.01, ...rng.normals(1000, 4)]);
    const dy = rng.normals(x.length);
    const gx = gpu.upload(x, [x.length]);
    const gdy = gpu.upload(dy, [x.length]);
    const outs = [relu(gpu, gx), reluBackward(gpu, gdy, gx), relu6(gpu, gx), relu6Backward(gpu, gdy, gx)];
    expectClose(await outs[0].read(), reluCpu(x), { label: 'relu' });
    expectClose(await outs[1].read(), reluBackwardCpu(dy, x), { label: 'relu bwd' });
    expectClose(await outs[2].read(), relu6Cpu(x), { label: 'relu6' });
    expectClose(await outs[3].read(), relu6BackwardCpu(dy, x), { label: 'relu6 bwd' });
    const g = await outs[3].read();
    expect([g[0], g[1]]).toEqual([0, 0]); // PyTorch: no gradient at x = 0 or x = 6
    expect(() => reluBackward(gpu!, gdy, gpu!.zeros([3]))).toThrow(ShapeError);
    for (const t of [gx, gdy, ...outs]) t.dispose();
  });

  it('CPU backward matches finite differences away from the kinks', () => {
    const x = Float64Array.from([-2, -0.3, 0.4, 3, 5.5, 6.7, 9]);
    const dy = Float64Array.from([0.3, -1, 2, 0.5, -0.7, 1.1, 0.2]);
    expectGradMatchesFd((v) => dot(dy, reluCpu(v)), x, reluBackwardCpu(dy, x), { h: 1e-2, atol: 1e-4, label: 'relu' });
    expectGradMatchesFd((v) => dot(dy, relu6Cpu(v)), x, relu6BackwardCpu(dy, x), { h: 1e-2, atol: 1e-4, label: 'relu6' });
  });
});

describe('reductions', () => {
  for (const n of [1, 5, 1023, 1024, 1025, 300_001]) {
    it(`sum / sumSquares / sumAbsProduct of ${n} elements`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(n);
      const a = rng.normals(n);
      const b = rng.normals(n);
      const ga = gpu.upload(a, [n]);
      const gb = gpu.upload(b, [n]);
      const outs = [sum(gpu, ga), sumSquares(gpu, ga), sumAbsProduct(gpu, ga, gb)];
      for (const o of outs) expect(o.shape).toEqual([1]);
      const tol = { atol: 1e-5 * Math.sqrt(n) + 1e-6, rtol: 1e-5 };
      expectClose(await outs[0].read(), [sumCpu(a)], { ...tol, label: 'sum' });
      expectClose(await outs[1].read(), [sumSquaresCpu(a)], { ...tol, label: 'sumSquares' });
      expectClose(await outs[2].read(), [sumAbsProductCpu(a, b)], { ...tol, label: 'sumAbsProduct' });
      for (const t of [ga, gb, ...outs]) t.dispose();
    });
  }

  it('folds grids past the per-dimension workgroup limit', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const rng = new Rng(9);
    const n = 13_000; // 13 workgroups with a limit of 4 -> a [4, 4] grid, then a second stage
    const a = rng.normals(n);
    await withWorkgroupLimit(g, 4, async () => {
      const ga = g.upload(a, [n]);
      const s = sumSquares(g, ga);
      expectClose(await s.read(), [sumSquaresCpu(a)], { atol: 1e-2, rtol: 1e-5 });
      const rs = rowSums(g, ga, 1000);
      expectClose(await rs.read(), rowSumsCpu(a, 1000), { atol: 1e-3 });
      for (const t of [ga, s, rs]) t.dispose();
    });
  });

  it('row sums, column sums and slice sums', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(10);
    const x = rng.normals(6 * 300);
    const gx = gpu.upload(x, [6, 300]);
    const rs = rowSums(gpu, gx, 300, 0.5);
    const cs = colSums(gpu, gx, 300, 2);
    const ss = sumSlices(gpu, gx, 3, [2, 300]);
    expectClose(await rs.read(), rowSumsCpu(x, 300, 0.5), { atol: 1e-4, label: 'rows' });
    expectClose(await cs.read(), colSumsCpu(x, 300, 2), { atol: 1e-4, label: 'cols' });
    const ref = new Float32Array(600);
    for (let s = 0; s < 3; s++) for (let i = 0; i < 600; i++) ref[i] += x[s * 600 + i];
    expectClose(await ss.read(), ref, { atol: 1e-5, label: 'slices' });
    expect(() => rowSums(gpu!, gx, 7)).toThrow(ShapeError);
    expect(() => sumSlices(gpu!, gx, 4, [2, 300])).toThrow(ShapeError);
    expect(() => sumAbsProduct(gpu!, gx, rs)).toThrow(ShapeError);
    for (const t of [gx, rs, cs, ss]) t.dispose();
  });

  it('sum of an empty tensor is 0', async ({ skip }) => {
    if (!gpu) return skip();
    const e = gpu.empty([0]);
    const s = sum(gpu, e);
    expect(Array.from(await s.read())).toEqual([0]);
    e.dispose();
    s.dispose();
  });
});

describe('softmax cross-entropy', () => {
  for (const [N, K] of [
    [1, 1],
    [5, 10],
    [3, 1000],
    [67, 3],
  ]) {
    it(`N=${N} K=${K}`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(N * K);
      const logits = rng.normals(N * K, 3);
      const labels = Float32Array.from({ length: N }, () => rng.int(K));
      const gl = gpu.upload(logits, [N, K]);
      const gy = gpu.upload(labels, [N]);
      const { loss, dlogits } = softmaxCrossEntropy(gpu, gl, gy);
      const ref = softmaxCrossEntropyCpu(logits, labels, N, K);
      expect(loss.shape).toEqual([1]);
      expectClose(await loss.read(), [ref.loss], { atol: 1e-5, rtol: 1e-5, label: 'loss' });
      expectClose(await dlogits.read(), ref.dlogits, { atol: 1e-6, label: 'dlogits' });
      for (const t of [gl, gy, loss, dlogits]) t.dispose();
    });
  }

  it('is stable for large logits and NaN for a bad label', async ({ skip }) => {
    if (!gpu) return skip();
    const gl = gpu.upload([1000, 0, -1000, 500, 501, 502], [2, 3]);
    const gy = gpu.upload([0, 2], [2]);
    const r = softmaxCrossEntropy(gpu, gl, gy);
    const ref = softmaxCrossEntropyCpu([1000, 0, -1000, 500, 501, 502], [0, 2], 2, 3);
    expectClose(await r.loss.read(), [ref.loss], { atol: 1e-5 });
    const bad = gpu.upload([0, 3], [2]);
    const rb = softmaxCrossEntropy(gpu, gl, bad);
    expect(Number.isNaN((await rb.loss.read())[0])).toBe(true);
    expect(() => softmaxCrossEntropy(gpu!, gl, gpu!.zeros([3]))).toThrow(ShapeError);
    for (const t of [gl, gy, bad, r.loss, r.dlogits, rb.loss, rb.dlogits]) t.dispose();
  });

  it('CPU gradient matches finite differences', () => {
    const rng = new Rng(2);
    const logits = Float64Array.from(rng.normals(12, 2));
    const labels = [1, 0, 3];
    const { dlogits } = softmaxCrossEntropyF64(logits, labels, 3, 4);
    expectGradMatchesFd((l) => softmaxCrossEntropyF64(l, labels, 3, 4).loss, logits, dlogits, { label: 'dlogits' });
  });
});

describe('linear', () => {
  for (const [N, In, Out, bias] of [
    [1, 1, 1, true],
    [5, 16, 10, true],
    [7, 33, 3, false],
    [64, 64, 10, true],
  ] as Array<[number, number, number, boolean]>) {
    it(`N=${N} In=${In} Out=${Out} bias=${bias}`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(N + In * Out);
      const x = rng.normals(N * In);
      const w = rng.normals(Out * In, 0.3);
      const b = bias ? rng.normals(Out) : null;
      const dy = rng.normals(N * Out);
      const gx = gpu.upload(x, [N, In]);
      const gw = gpu.upload(w, [Out, In]);
      const gb = b ? gpu.upload(b, [Out]) : null;
      const gdy = gpu.upload(dy, [N, Out]);
      const y = linear(gpu, gx, gw, gb);
      const g = linearBackward(gpu, gdy, gx, gw, bias);
      expect(y.shape).toEqual([N, Out]);
      expectClose(await y.read(), linearCpu(x, w, b, N, In, Out), { atol: 1e-4, label: 'y' });
      const ref = linearBackwardCpu(dy, x, w, N, In, Out);
      expectClose(await g.dx.read(), ref.dx, { atol: 1e-4, label: 'dx' });
      expectClose(await g.dw.read(), ref.dw, { atol: 1e-4, label: 'dw' });
      if (bias) expectClose(await g.db!.read(), ref.db, { atol: 1e-4, label: 'db' });
      else expect(g.db).toBeNull();
      for (const t of [gx, gw, gb, gdy, y, g.dx, g.dw, g.db]) t?.dispose();
    });
  }

  it('rejects mismatched shapes', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.zeros([2, 3]);
    const w = gpu.zeros([4, 5]);
    expect(() => linear(gpu!, x, w, null)).toThrow(ShapeError);
    expect(() => linear(gpu!, x, gpu!.zeros([4, 3]), gpu!.zeros([3]))).toThrow(/bias/);
    x.dispose();
    w.dispose();
  });

  it('CPU backward matches finite differences', () => {
    const rng = new Rng(8);
    const [N, In, Out] = [3, 4, 2];
    const x = Float64Array.from(rng.normals(N * In));
    const w = Float64Array.from(rng.normals(Out * In));
    const b = Float64Array.from(rng.normals(Out));
    const dy = Float64Array.from(rng.normals(N * Out));
    const g = linearBackwardF64(dy, x, w, N, In, Out);
    expectGradMatchesFd((v) => dot(dy, linearF64(v, w, b, N, In, Out)), x, g.dx, { label: 'dx' });
    expectGradMatchesFd((v) => dot(dy, linearF64(x, v, b, N, In, Out)), w, g.dw, { label: 'dw' });
    expectGradMatchesFd((v) => dot(dy, linearF64(x, w, v, N, In, Out)), b, g.db, { label: 'db' });
  });
});
