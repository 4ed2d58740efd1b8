/**
 * The layers composed by hand into a tiny network (conv -> BN -> ReLU -> avg pool -> conv -> BN ->
 * add -> ReLU -> global pool -> linear -> cross-entropy): GPU gradients vs finite differences of
 * the same network built from the f64 CPU references.
 */
import { beforeAll, describe, it } from 'vitest';
import type { Gpu, GpuTensor } from '../../src/gpu/index.js';
import { relu, reluBackward } from '../../src/kernels/activation.js';
import { batchNormBackward, batchNormForward, batchNormForwardF64 } from '../../src/kernels/batchnorm.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dF64 } from '../../src/kernels/conv2d.js';
import { add } from '../../src/kernels/elementwise.js';
import { linear, linearBackward, linearF64 } from '../../src/kernels/linear.js';
import { softmaxCrossEntropy, softmaxCrossEntropyF64 } from '../../src/kernels/loss.js';
import { avgPool2d, avgPool2dBackward, avgPool2dF64, globalAvgPool, globalAvgPoolBackward } from '../../src/kernels/pool.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { expectGradMatchesFd, prod } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const N = 3;
const XS = [N, 3, 9, 9];
const W1 = [4, 3, 3, 3];
const W2 = [4, 4, 3, 3];
const P1 = { stride: 2, pad: 1 };
const P2 = { stride: 1, pad: 1 };
const POOL = { kernel: 3, stride: 1, pad: 1, countIncludePad: false };
const K = 5;
const LABELS = [1, 4, 0];

function relu64(x: Float64Array): Float64Array {
  return x.map((v) => Math.max(v, 0));
}

function lossCpu(
  x: ArrayLike<number>,
  w1: ArrayLike<number>,
  w2: ArrayLike<number>,
  g: ArrayLike<number>,
  fc: ArrayLike<number>,
): number {
  const a = conv2dF64(x, XS, w1, W1, P1);
  const aShape = [N, 4, 5, 5];
  const b = relu64(batchNormForwardF64(a, aShape, g, new Float64Array(4)).y);
  const c = avgPool2dF64(b, aShape, POOL);
  const d = batchNormForwardF64(conv2dF64(c, aShape, w2, W2, P2), aShape, null, null).y;
  const e = relu64(d.map((v, i) => v + b[i]));
  const pooled = new Float64Array(N * 4);
  for (let i = 0; i < N * 4; i++) for (let j = 0; j < 25; j++) pooled[i] += e[i * 25 + j] / 25;
  return softmaxCrossEntropyF64(linearF64(pooled, fc, null, N, 4, K), LABELS, N, K).loss;
}

describe('layers composed into a tiny network', () => {
  it('GPU backward matches finite differences of the CPU network', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const rng = new Rng(21);
    const x = rng.normals(prod(XS));
    const w1 = rng.normals(prod(W1), 0.5);
    const w2 = rng.normals(prod(W2), 0.3);
    const gam = rng.normals(4).map((v) => 1 + 0.2 * v);
    const fc = rng.normals(K * 4);
    const t = (d: Float32Array, s: number[]) => g.upload(d, s);
    const [gx, gw1, gw2, gg, gfc] = [t(x, XS), t(w1, W1), t(w2, W2), t(gam, [4]), t(fc, [K, 4])];
    const zeroBeta = g.zeros([4]);
    const labels = g.upload(LABELS, [N]);
    // forward
    const a = conv2d(g, gx, gw1, P1);
    const bn1 = batchNormForward(g, a, gg, zeroBeta);
    const b = relu(g, bn1.y);
    const c = avgPool2d(g, b, POOL);
    const c2 = conv2d(g, c, gw2, P2);
    const bn2 = batchNormForward(g, c2, null, null);
    const s = add(g, bn2.y, b);
    const e = relu(g, s);
    const pooled = globalAvgPool(g, e);
    const logits = linear(g, pooled, gfc, null);
    const { loss, dlogits } = softmaxCrossEntropy(g, logits, labels);
    // backward
    const lb = linearBackward(g, dlogits, pooled, gfc, false);
    const de = globalAvgPoolBackward(g, lb.dx, e.shape);
    const ds = reluBackward(g, de, s);
    const bb2 = batchNormBackward(g, ds, c2, bn2.mean, bn2.invStd, null);
    const dw2 = conv2dBackwardWeight(g, c, bb2.dx, W2, P2);
    const dc = conv2dBackwardInput(g, bb2.dx, gw2, c.shape, P2);
    const dbPool = avgPool2dBackward(g, dc, b.shape, POOL);
    const db = add(g, dbPool, ds); // residual: b feeds both the pool branch and the sum
    const dbn1 = reluBackward(g, db, bn1.y);
    const bb1 = batchNormBackward(g, dbn1, a, bn1.mean, bn1.invStd, gg);
    const dw1 = conv2dBackwardWeight(g, gx, bb1.dx, W1, P1);

    expectClose(await loss.read(), [lossCpu(x, w1, w2, gam, fc)], { atol: 1e-5, rtol: 1e-4, label: 'loss' });
    const opts = { h: 1e-4, atol: 2e-4, rtol: 2e-3 };
    expectGradMatchesFd((v) => lossCpu(x, v, w2, gam, fc), w1, await dw1.read(), { ...opts, label: 'dw1' });
    expectGradMatchesFd((v) => lossCpu(x, w1, v, gam, fc), w2, await dw2.read(), { ...opts, label: 'dw2' });
    expectGradMatchesFd((v) => lossCpu(x, w1, w2, v, fc), gam, await bb1.dgamma.read(), { ...opts, label: 'dgamma' });
    expectGradMatchesFd((v) => lossCpu(x, w1, w2, gam, v), fc, await lb.dw.read(), { ...opts, label: 'dfc' });
    const all: GpuTensor[] = [
      gx,
      gw1,
      gw2,
      gg,
      gfc,
      zeroBeta,
      labels,
      a,
      bn1.y,
      bn1.mean,
      bn1.invStd,
      b,
      c,
      c2,
      bn2.y,
      bn2.mean,
      bn2.invStd,
      s,
      e,
      pooled,
      logits,
      loss,
      dlogits,
      lb.dx,
      lb.dw,
      de,
      ds,
      bb2.dx,
      bb2.dgamma,
      bb2.dbeta,
      dw2,
      dc,
      dbPool,
      db,
      dbn1,
      bb1.dx,
      bb1.dgamma,
      bb1.dbeta,
      dw1,
    ];
    for (const tt of all) tt.dispose();
  });
});
