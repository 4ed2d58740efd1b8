/**
 * Native layer ops against the TypeScript references of src/kernels: batch norm (with finite
 * differences), activations, pooling, matmul, linear, loss, element-wise ops and reductions, on the
 * WGSL tests' shape tables (layers-*.test.ts, matmul.test.ts) plus awkward CPU shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../../src/gpu/errors.js';
import { relu6BackwardCpu, relu6Cpu, reluBackwardCpu, reluCpu } from '../../../src/kernels/activation.js';
import { batchNormBackwardF64, batchNormForwardF64 } from '../../../src/kernels/batchnorm.js';
import { absCpu, addCpu, axpyCpu, mulCpu, scaleCpu } from '../../../src/kernels/elementwise.js';
import { linearBackwardCpu, linearCpu } from '../../../src/kernels/linear.js';
import { softmaxCrossEntropyCpu } from '../../../src/kernels/loss.js';
import { matmulCpu } from '../../../src/kernels/matmul.js';
import {
  avgPool2dBackwardCpu,
  avgPool2dCpu,
  globalAvgPoolBackwardCpu,
  globalAvgPoolCpu,
  type Pool2dParams,
} from '../../../src/kernels/pool.js';
import { colSumsCpu, rowSumsCpu, sumAbsProductCpu, sumCpu, sumSquaresCpu } from '../../../src/kernels/reduce.js';
import type { NativeDevice, NativeTensor } from '../../../src/native/device.js';
import * as nat from '../../../src/backend/cpu/index.js';
import { Rng } from '../../../src/util/rng.js';
import { expectClose } from '../../helpers/gpu.js';
import { dot, expectBatchNormMatchesCpu, expectGradMatchesFd, prod } from '../../helpers/layers.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';
import { BN_SHAPES, MATMUL_CASES, POOL_CASES, poolCaseName } from '../../helpers/cases.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

const disposeAll = (ts: Array<NativeTensor | null | undefined>) => ts.forEach((t) => t?.dispose());

describe('native batch norm vs the f64 reference', () => {
  // The WGSL test's shapes, then NB201 sizes and wide channels at tiny spatial sizes.
  const shapes: number[][] = [...BN_SHAPES, [8, 16, 32, 32], [4, 640, 2, 2], [64, 10], [5, 3, 300, 1]];
  for (const shape of shapes) {
    for (const affine of [true, false]) {
      it(`[${shape}] affine=${affine}`, async ({ skip }) => {
        if (!dev) return skip();
        const rng = new Rng(prod(shape) + (affine ? 1 : 0));
        const C = shape[1];
        const x = rng.normals(prod(shape), 2).map((v, i) => v + (i % 3) + 10); // non-zero, offset means
        const gamma = affine ? rng.normals(C).map((v) => 1 + 0.3 * v) : null;
        const beta = affine ? rng.normals(C, 0.5) : null;
        const dy = rng.normals(prod(shape));
        const tx = dev.upload(x, shape);
        const tg = gamma ? dev.upload(gamma, [C]) : null;
        const tb = beta ? dev.upload(beta, [C]) : null;
        const tdy = dev.upload(dy, shape);
        const f = nat.batchNormForward(dev, tx, tg, tb);
        const b = nat.batchNormBackward(dev, tdy, tx, f.mean, f.invStd, tg);
        await expectBatchNormMatchesCpu(f, b, { x, dy, shape, gamma, beta }, 1e-6);
        expect(f.mean.shape).toEqual([C]);
        disposeAll([tx, tg, tb, tdy, f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta]);
      });
    }
  }

  // eps 1e-3 (ProxylessNAS's) on values of variance ~2e-3, where it is a third of the normaliser.
  it.for([
    { eps: 1e-5, scale: 1.5 },
    { eps: 1e-3, scale: 0.04 },
  ])('gradients match finite differences of the f64 forward (eps $eps)', async ({ eps, scale }, { skip }) => {
    if (!dev) return skip();
    const shape = [3, 2, 2, 3];
    const C = 2;
    const rng = new Rng(11);
    const x = rng.normals(prod(shape), scale);
    const gamma = Float32Array.from([0.7, -1.3]);
    const beta = Float32Array.from([0.2, 0.1]);
    const dy = rng.normals(prod(shape));
    const tx = dev.upload(x, shape);
    const tg = dev.upload(gamma, [C]);
    const tb = dev.upload(beta, [C]);
    const tdy = dev.upload(dy, shape);
    const f = nat.batchNormForward(dev, tx, tg, tb, eps);
    const b = nat.batchNormBackward(dev, tdy, tx, f.mean, f.invStd, tg);
    const loss = (xv: ArrayLike<number>, g: ArrayLike<number>, bt: ArrayLike<number>) =>
      dot(dy, batchNormForwardF64(xv, shape, g, bt, eps).y);
    const h = 1e-5 * scale;
    expectGradMatchesFd((v) => loss(v, gamma, beta), x, await b.dx.read(), { h, atol: 2e-4, rtol: 1e-3, label: 'dx' });
    expectGradMatchesFd((v) => loss(x, v, beta), gamma, await b.dgamma.read(), { atol: 2e-4, rtol: 1e-3, label: 'dgamma' });
    expectGradMatchesFd((v) => loss(x, gamma, v), beta, await b.dbeta.read(), { atol: 2e-4, rtol: 1e-3, label: 'dbeta' });
    // And the native backward against the f64 backward at the same statistics.
    const ref = batchNormBackwardF64(dy, x, shape, await f.mean.read(), await f.invStd.read(), gamma);
    expectClose(await b.dx.read(), ref.dx, { atol: 1e-5, rtol: 1e-4 });
    disposeAll([tx, tg, tb, tdy, f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta]);
  });

  it('rejects bad shapes as the GPU op does', ({ skip }) => {
    if (!dev) return skip();
    const x = dev.zeros([2, 3, 4]);
    expect(() => nat.batchNormForward(dev!, x, null, null)).toThrow(ShapeError);
    const x4 = dev.zeros([2, 3, 2, 2]);
    const g = dev.zeros([4]);
    expect(() => nat.batchNormForward(dev!, x4, g, null)).toThrow(/gamma must be \[3\]/);
    expect(() => nat.batchNormForward(dev!, x4, null, null, 0)).toThrow(/eps must be > 0/);
    disposeAll([x, x4, g]);
  });
});

describe('native activations', () => {
  for (const n of [1, 5, 1000, 100_003]) {
    it(`relu / relu6 forward and backward, with the kinks at 0 and 6, n=${n + 5}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(4 + n);
      const x = Float32Array.from([0, 6, -0.5, 5.99, 6.01, ...rng.normals(n, 4)]);
      const dy = rng.normals(x.length);
      const tx = dev.upload(x);
      const tdy = dev.upload(dy);
      const outs = [nat.relu(dev, tx), nat.reluBackward(dev, tdy, tx), nat.relu6(dev, tx), nat.relu6Backward(dev, tdy, tx)];
      expect(Array.from(await outs[0].read())).toEqual(Array.from(reluCpu(x)));
      expect(Array.from(await outs[1].read())).toEqual(Array.from(reluBackwardCpu(dy, x)));
      expect(Array.from(await outs[2].read())).toEqual(Array.from(relu6Cpu(x)));
      const g6 = await outs[3].read();
      expect(Array.from(g6)).toEqual(Array.from(relu6BackwardCpu(dy, x)));
      expect([g6[0], g6[1]]).toEqual([0, 0]);
      expect(() => nat.reluBackward(dev!, tdy, outs[0].view([1, x.length]))).toThrow(ShapeError);
      disposeAll([tx, tdy, ...outs]);
    });
  }
});

describe('native pooling vs the f64 reference', () => {
  // The WGSL test's table, then NB201's avg_pool_3x3 at a real size.
  const cases: Array<[number[], Pool2dParams]> = [
    ...POOL_CASES,
    [[8, 16, 32, 32], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }],
  ];
  for (const [shape, p] of cases) {
    it(poolCaseName(shape, p), async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(prod(shape) + p.kernel);
      const x = rng.normals(prod(shape));
      const tx = dev.upload(x, shape);
      const y = nat.avgPool2d(dev, tx, p);
      expect(y.shape).toEqual(nat.avgPool2dOutShape(shape, p));
      expectClose(await y.read(), avgPool2dCpu(x, shape, p), { atol: 1e-5, label: 'y' });
      const dy = rng.normals(y.size);
      const tdy = dev.upload(dy, y.shape);
      const dx = nat.avgPool2dBackward(dev, tdy, shape, p);
      expectClose(await dx.read(), avgPool2dBackwardCpu(dy, shape, p), { atol: 1e-5, label: 'dx' });
      disposeAll([tx, y, tdy, dx]);
    });
  }

  it('global average pool and its backward; errors as the GPU op', async ({ skip }) => {
    if (!dev) return skip();
    for (const shape of [
      [2, 3, 4, 5],
      [1, 1, 1, 1],
      [64, 64, 8, 8],
    ]) {
      const rng = new Rng(prod(shape));
      const x = rng.normals(prod(shape));
      const tx = dev.upload(x, shape);
      const y = nat.globalAvgPool(dev, tx);
      expect(y.shape).toEqual([shape[0], shape[1]]);
      expectClose(await y.read(), globalAvgPoolCpu(x, shape), { atol: 1e-5 });
      const dy = rng.normals(y.size);
      const tdy = dev.upload(dy, y.shape);
      const dx = nat.globalAvgPoolBackward(dev, tdy, shape);
      expectClose(await dx.read(), globalAvgPoolBackwardCpu(dy, shape), { atol: 1e-6 });
      disposeAll([tx, y, tdy, dx]);
    }
    const x = dev.zeros([1, 2, 3, 3]);
    expect(() => nat.avgPool2d(dev!, x, { kernel: 3, stride: 1, pad: 2 })).toThrow(/exceeds half the kernel/);
    expect(() => nat.avgPool2d(dev!, x.view([2, 9]), { kernel: 1, stride: 1, pad: 0 })).toThrow(ShapeError);
    x.dispose();
  });
});

describe('native matmul vs the reference', () => {
  // The shared matmul cases, then the WRCor Gram product and a batch of tiny products.
  const cases: Array<[number, number, number, number, boolean, boolean]> = [
    ...MATMUL_CASES,
    [3, 64, 64, 2048, false, true],
    [50, 3, 5, 4, true, false],
  ];
  for (const [batch, M, N, K, tA, tB] of cases) {
    it(`b=${batch} ${M}x${N}x${K} tA=${tA} tB=${tB}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(M * 1000 + N * 10 + K);
      const aShape = batch === 1 ? (tA ? [K, M] : [M, K]) : tA ? [batch, K, M] : [batch, M, K];
      const bShape = batch === 1 ? (tB ? [N, K] : [K, N]) : tB ? [batch, N, K] : [batch, K, N];
      const a = rng.normals(batch * M * K);
      const b = rng.normals(batch * K * N);
      const ta = dev.upload(a, aShape);
      const tb = dev.upload(b, bShape);
      const c = nat.matmul(dev, ta, tb, { transA: tA, transB: tB });
      expect(c.shape).toEqual(batch === 1 ? [M, N] : [batch, M, N]);
      expectClose(await c.read(), matmulCpu(a, aShape, b, bShape, { transA: tA, transB: tB }), {
        atol: 1e-5 * Math.sqrt(K) * 4,
        label: 'C',
      });
      disposeAll([ta, tb, c]);
    });
  }

  it('broadcasts a 2-D operand over the batch and accumulates with alpha and beta', async ({ skip }) => {
    if (!dev) return skip();
    const rng = new Rng(5);
    const a = rng.normals(3 * 5 * 4);
    const w = rng.normals(4 * 6);
    const ta = dev.upload(a, [3, 5, 4]);
    const tw = dev.upload(w, [4, 6]);
    const out = dev.upload(new Float32Array(3 * 5 * 6).fill(1), [3, 5, 6]);
    nat.matmul(dev, ta, tw, { out, alpha: 2, beta: 0.5 });
    expectClose(
      await out.read(),
      matmulCpu(a, [3, 5, 4], w, [4, 6], { alpha: 2 }).map((v) => v + 0.5),
      { atol: 1e-4 },
    );
    // A batch of one broadcasts too, and K = 0 is an empty sum.
    const t1 = dev.upload(w, [1, 4, 6]);
    const c = nat.matmul(dev, ta, t1);
    expectClose(await c.read(), matmulCpu(a, [3, 5, 4], w, [4, 6]), { atol: 1e-4 });
    const e = nat.matmul(dev, dev.zeros([2, 0]), dev.zeros([0, 3]));
    expect(Array.from(await e.read())).toEqual([0, 0, 0, 0, 0, 0]);
    disposeAll([ta, tw, out, t1, c, e]);
  });

  it('rejects mismatched shapes as the GPU op does', ({ skip }) => {
    if (!dev) return skip();
    const a = dev.zeros([3, 4]);
    const b = dev.zeros([5, 2]);
    expect(() => nat.matmul(dev!, a, b)).toThrow(/inner dimensions differ/);
    expect(() => nat.matmul(dev!, a, a, { transB: true, beta: 1 })).toThrow(/needs an `out`/);
    expect(() => nat.matmul(dev!, dev!.zeros([2, 3, 4]), dev!.zeros([3, 4, 2]))).toThrow(/batch sizes 2 and 3 differ/);
    disposeAll([a, b]);
  });
});

describe('native linear and loss vs the references', () => {
  for (const [N, In, Out] of [
    [3, 4, 2],
    [64, 64, 10],
    [1, 1, 1],
    [17, 33, 5],
  ]) {
    it(`linear forward and backward N=${N} In=${In} Out=${Out}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(N * In * Out);
      const x = rng.normals(N * In);
      const w = rng.normals(Out * In);
      const b = rng.normals(Out);
      const dy = rng.normals(N * Out);
      const [tx, tw, tb, tdy] = [
        dev.upload(x, [N, In]),
        dev.upload(w, [Out, In]),
        dev.upload(b, [Out]),
        dev.upload(dy, [N, Out]),
      ];
      const y = nat.linear(dev, tx, tw, tb);
      expectClose(await y.read(), linearCpu(x, w, b, N, In, Out), { atol: 1e-4 });
      const g = nat.linearBackward(dev, tdy, tx, tw, true);
      const ref = linearBackwardCpu(dy, x, w, N, In, Out);
      expectClose(await g.dx.read(), ref.dx, { atol: 1e-4, label: 'dx' });
      expectClose(await g.dw.read(), ref.dw, { atol: 1e-4, label: 'dw' });
      expectClose(await g.db!.read(), ref.db, { atol: 1e-4, label: 'db' });
      expect(nat.linearBackward(dev, tdy, tx, tw, false).db).toBeNull();
      disposeAll([tx, tw, tb, tdy, y, g.dx, g.dw, g.db]);
    });
  }

  it('softmax cross-entropy, with NaN for bad labels', async ({ skip }) => {
    if (!dev) return skip();
    for (const [N, K] of [
      [3, 4],
      [64, 10],
      [5, 1000],
      [1, 1],
    ]) {
      const rng = new Rng(N + K);
      const logits = rng.normals(N * K, 3);
      const labels = Float32Array.from({ length: N }, (_, i) => (i * 7) % K);
      const r = nat.softmaxCrossEntropy(dev, dev.upload(logits, [N, K]), dev.upload(labels, [N]));
      const ref = softmaxCrossEntropyCpu(logits, labels, N, K);
      expectClose(await r.loss.read(), [ref.loss], { atol: 1e-5, rtol: 1e-5, label: 'loss' });
      expectClose(await r.dlogits.read(), ref.dlogits, { atol: 1e-6, label: 'dlogits' });
    }
    const bad = nat.softmaxCrossEntropy(dev, dev.upload([1, 2, 3, 4], [2, 2]), dev.upload([1, 2.5], [2]));
    expect(Number.isNaN((await bad.loss.read())[0])).toBe(true);
    const d = await bad.dlogits.read();
    expect([Number.isNaN(d[0]), Number.isNaN(d[2]), Number.isNaN(d[3])]).toEqual([false, true, true]);
    expect(() => nat.softmaxCrossEntropy(dev!, dev!.zeros([2, 3]), dev!.zeros([3]))).toThrow(/labels must be \[2\]/);
  });
});

describe('native element-wise ops and reductions vs the references', () => {
  // layers-ops.test.ts's sizes plus one past the threading threshold.
  for (const shape of [[1], [7], [3, 5, 7, 5], [1000], [2, 257], [300_001]]) {
    it(`add / mul / scale / abs / axpy / fill / addBiasRows on [${shape}]`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(prod(shape));
      const n = prod(shape);
      const a = rng.normals(n);
      const b = rng.normals(n);
      const [ta, tb] = [dev.upload(a, shape), dev.upload(b, shape)];
      const outs = [nat.add(dev, ta, tb), nat.mul(dev, ta, tb), nat.scale(dev, ta, -2.5), nat.abs(dev, ta)];
      const refs = [addCpu(a, b), mulCpu(a, b), scaleCpu(a, -2.5), absCpu(a)];
      for (let i = 0; i < outs.length; i++) expect(Array.from(await outs[i].read())).toEqual(Array.from(refs[i]));
      nat.axpy(dev, ta, tb, 0.75);
      const ya = a.slice();
      axpyCpu(ya, b, 0.75);
      expectClose(await ta.read(), ya, { atol: 1e-6 });
      nat.axpy(dev, tb, tb, 2); // aliased: b += 2 b
      expectClose(
        await tb.read(),
        b.map((v) => 3 * v),
        { atol: 1e-6 },
      );
      const cols = shape[shape.length - 1];
      const bias = rng.normals(cols);
      const tbias = dev.upload(bias, [cols]);
      nat.addBiasRows(dev, outs[0], tbias);
      expectClose(
        await outs[0].read(),
        addCpu(a, b).map((v, i) => v + bias[i % cols]),
        { atol: 1e-6 },
      );
      nat.fill(dev, outs[1], -3);
      expect((await outs[1].read()).every((v) => v === -3)).toBe(true);
      disposeAll([ta, tb, tbias, ...outs]);
    });
  }

  for (const n of [1, 5, 1023, 1024, 1025, 300_001]) {
    it(`sum / sumSquares / sumAbsProduct / rowSums / colSums of ${n} elements`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(n);
      const a = rng.normals(n).map((v) => v + 0.5);
      const b = rng.normals(n);
      const [ta, tb] = [dev.upload(a, [n]), dev.upload(b, [n])];
      const outs = [nat.sum(dev, ta, 0.5), nat.sumSquares(dev, ta), nat.sumAbsProduct(dev, ta, tb)];
      const tol = { atol: 1e-6 * Math.sqrt(n) + 1e-6, rtol: 1e-6 };
      expectClose(await outs[0].read(), [0.5 * sumCpu(a)], { ...tol, label: 'sum' });
      expectClose(await outs[1].read(), [sumSquaresCpu(a)], { ...tol, label: 'sumSquares' });
      expectClose(await outs[2].read(), [sumAbsProductCpu(a, b)], { ...tol, label: 'sumAbsProduct' });
      const cols = n % 5 === 0 ? 5 : 1;
      const rs = nat.rowSums(dev, ta, cols, 2);
      const cs = nat.colSums(dev, ta, cols, 3);
      expectClose(await rs.read(), rowSumsCpu(a, cols, 2), { atol: 1e-5 });
      expectClose(await cs.read(), colSumsCpu(a, cols, 3), { atol: 1e-5 * Math.sqrt(n), rtol: 1e-6 });
      disposeAll([ta, tb, rs, cs, ...outs]);
    });
  }

  it('dotPartials: one partial dot product per chunk of wg * items elements', async ({ skip }) => {
    if (!dev) return skip();
    for (const [n, wg, items] of [
      [1, 64, 32],
      [5000, 64, 32],
      [70001, 16, 4],
      [300_000, 64, 32],
    ]) {
      const rng = new Rng(n);
      const a = rng.normals(n);
      const b = rng.normals(n);
      const chunk = wg * items;
      const groups = Math.ceil(n / chunk);
      const out = dev.zeros([groups + 1]);
      nat.dotPartials(dev, dev.upload(a), dev.upload(b), out, wg, items);
      const ref = Array.from({ length: groups + 1 }, (_, g) => {
        let s = 0;
        for (let i = g * chunk; i < Math.min(n, (g + 1) * chunk); i++) s += a[i] * b[i];
        return s;
      });
      expectClose(await out.read(), ref, { atol: 1e-5 * Math.sqrt(chunk) });
    }
    expect(() => nat.dotPartials(dev!, dev!.zeros([3000]), dev!.zeros([3000]), dev!.zeros([1]))).toThrow(/needs 2/);
  });

  it('sumSlices, and errors as the GPU ops', async ({ skip }) => {
    if (!dev) return skip();
    const x = Float32Array.from({ length: 3 * 2 * 4 }, (_, i) => i);
    const t = dev.upload(x, [3, 2, 4]);
    const s = nat.sumSlices(dev, t, 3, [2, 4], 0.5);
    expect(Array.from(await s.read())).toEqual(Array.from({ length: 8 }, (_, i) => 0.5 * (i + (i + 8) + (i + 16))));
    expect(() => nat.sumSlices(dev!, t, 5, [2, 4])).toThrow(/are not 5 slices/);
    expect(() => nat.rowSums(dev!, t, 5)).toThrow(/5 columns do not divide/);
    expect(() => nat.add(dev!, t, s)).toThrow(ShapeError);
    expect(() => nat.scale(dev!, t, NaN)).toThrow(/s must be a finite number/);
    expect(() => nat.fill(dev!, t, NaN)).toThrow(RangeError);
    expect(() => nat.addBiasRows(dev!, t, s)).toThrow(/does not match the last dimension 4/);
    disposeAll([t, s]);
  });
});
