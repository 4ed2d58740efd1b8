/**
 * The CPU backend's fused batch norm + ReLU6 (the batchNormRelu6 ops, the MBConv pair): against the native
 * ops it replaces (batchNormForward -> relu6 -> relu6Backward -> batchNormBackward), against the
 * f64 references, and through the tape (Tape.batchNormRelu6 equals batchNorm then relu on a small
 * network's gradients). Shapes include channels that are not a multiple of 8 or 16, 1x1 spatial
 * planes, batch 1 and [N, C] input; eps 1e-5 and a net.config's 1e-3 (on values of variance ~1e-3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, cpuBackend } from '../../../src/backend/index.js';
import { relu6BackwardCpu, relu6Cpu } from '../../../src/kernels/activation.js';
import { batchNormBackwardF64, batchNormForwardF64 } from '../../../src/kernels/batchnorm.js';
import * as nat from '../../../src/backend/cpu/index.js';
import type { NativeDevice, NativeTensor } from '../../../src/native/device.js';
import { ParamStore } from '../../../src/nn/init.js';
import { Tape } from '../../../src/nn/tape.js';
import { Rng } from '../../../src/util/rng.js';
import { expectClose } from '../../helpers/gpu.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const disposeAll = (ts: Array<NativeTensor | null>) => ts.forEach((t) => t?.dispose());

describe('native batchNormRelu6 vs the ops it fuses and the f64 references', () => {
  const shapes: number[][] = [
    [1, 5, 1, 1],
    [3, 17, 1, 1],
    [1, 13, 9, 9],
    [2, 3, 7, 5],
    [4, 24, 8, 8],
    [6, 4],
    [32, 20, 16, 16],
    // Planes of <= 64 pixels take bnForwardSmall / bnBackwardSmall (ops_norm.cpp): MBConv's 2x2 and
    // 4x4 stages, odd channel counts, and a channel range split over the device's 2 threads.
    [32, 36, 2, 2],
    [3, 19, 4, 4],
    [2, 7, 1, 3],
    [16, 300, 4, 4],
  ];
  for (const shape of shapes) {
    for (const [affine, eps, scale] of [
      [true, 1e-5, 1],
      [false, 1e-5, 1],
      [true, 1e-3, 0.015],
    ] as const) {
      it(`[${shape}] affine=${affine} eps=${eps}`, async ({ skip }) => {
        if (!dev) return skip();
        const rng = new Rng(prod(shape) * 2 + (affine ? 1 : 0));
        const C = shape[1];
        // Spread so that both clamps of ReLU6 are hit: gamma ~3, beta ~2.
        const x = rng.normals(prod(shape), 2).map((v, i) => scale * (v + (i % 5) - 1));
        const gamma = affine ? rng.normals(C).map((v) => 3 + v) : null;
        const beta = affine ? rng.normals(C).map((v) => 2 + v) : null;
        const dz = rng.normals(prod(shape));
        const tx = dev.upload(x, shape);
        const tg = gamma ? dev.upload(gamma, [C]) : null;
        const tb = beta ? dev.upload(beta, [C]) : null;
        const tdz = dev.upload(dz, shape);

        const f = nat.batchNormRelu6Forward(dev, tx, tg, tb, eps);
        const b = nat.batchNormRelu6Backward(dev, tdz, tx, f.mean, f.invStd, tg, tb);
        // The composition of the separate native ops.
        const bn = nat.batchNormForward(dev, tx, tg, tb, eps);
        const z = nat.relu6(dev, bn.y);
        const dy = nat.relu6Backward(dev, tdz, bn.y);
        const bb = nat.batchNormBackward(dev, dy, tx, bn.mean, bn.invStd, tg);

        expectClose(await f.mean.read(), await bn.mean.read(), { atol: 0, rtol: 0, label: 'mean' });
        expectClose(await f.invStd.read(), await bn.invStd.read(), { atol: 0, rtol: 0, label: 'invStd' });
        expectClose(await f.z.read(), await z.read(), { atol: 1e-6, rtol: 1e-6, label: 'z' });
        const m = prod(shape) / C;
        expectClose(await b.dx.read(), await bb.dx.read(), { atol: 1e-5, rtol: 1e-5, label: 'dx' });
        expectClose(await b.dgamma.read(), await bb.dgamma.read(), { atol: 1e-6 * m, rtol: 1e-5, label: 'dgamma' });
        expectClose(await b.dbeta.read(), await bb.dbeta.read(), { atol: 1e-6 * m, rtol: 1e-5, label: 'dbeta' });

        // And against f64: the forward fully, the backward with the mask the native BN output
        // gives (an element within rounding of a clamp may fall on either side).
        const ref = batchNormForwardF64(x, shape, gamma, beta, eps);
        expectClose(await f.z.read(), relu6Cpu(ref.y), { atol: 1e-4, label: 'z vs f64' });
        const refB = batchNormBackwardF64(relu6BackwardCpu(dz, await bn.y.read()), x, shape, ref.mean, ref.invStd, gamma);
        expectClose(await b.dx.read(), refB.dx, { atol: 1e-4, rtol: 1e-3, label: 'dx vs f64' });
        expectClose(await b.dgamma.read(), refB.dgamma, { atol: 1e-5 * m, label: 'dgamma vs f64' });
        expectClose(await b.dbeta.read(), refB.dbeta, { atol: 1e-5 * m, label: 'dbeta vs f64' });
        expect(f.z.shape).toEqual(shape);
        disposeAll([
          tx,
          tg,
          tb,
          tdz,
          f.z,
          f.mean,
          f.invStd,
          b.dx,
          b.dgamma,
          b.dbeta,
          bn.y,
          bn.mean,
          bn.invStd,
          z,
          dy,
          bb.dx,
          bb.dgamma,
          bb.dbeta,
        ]);
        expect(dev.stats().bytesInUse).toBe(0);
      });
    }
  }

  it('refuses mismatched shapes and foreign tensors with the shared messages', ({ skip }) => {
    if (!dev) return skip();
    const be = cpuBackend(dev);
    const x = dev.zeros([2, 3, 4, 4]);
    const g = dev.zeros([4]);
    expect(() => be.ops.batchNormRelu6Forward(x, g, null)).toThrow(/gamma must be \[3\]/);
    const dz = dev.zeros([2, 3, 4, 5]);
    expect(() => be.ops.batchNormRelu6Backward(dz, x, g, g, null, null)).toThrow(/batchNormRelu6Backward/);
    expect(() => be.ops.batchNormRelu6Forward({ shape: [2, 3, 4, 4], size: 96, read: () => null } as never, null, null)).toThrow(
      /does not belong/,
    );
    disposeAll([x, g, dz]);
  });
});

describe('Tape.batchNormRelu6', () => {
  /** conv -> BN + ReLU6 -> conv -> BN -> sum of a fixed projection: every parameter's gradient. */
  async function grads(be: Backend, recordRelus: boolean, eps = 1e-5, scale = 3): Promise<Float32Array[]> {
    const store = new ParamStore(be, new Rng(3));
    const w1 = store.weight('w1', [13, 3, 3, 3]);
    const g1 = store.constant('g1', 'bn_gamma', 13, 1.5);
    const b1 = store.constant('b1', 'bn_beta', 13, 0.5);
    const w2 = store.weight('w2', [13, 1, 3, 3]);
    const g2 = store.constant('g2', 'bn_gamma', 13, 1);
    const b2 = store.constant('b2', 'bn_beta', 13, 0);
    const rng = new Rng(5);
    const x = be.upload(rng.normals(2 * 3 * 6 * 6, scale), [2, 3, 6, 6]);
    const proj = be.upload(rng.normals(2 * 13 * 6 * 6), [2, 13, 6, 6]);
    const t = new Tape(be, { recordRelus });
    try {
      const h = t.batchNormRelu6(
        t.conv(t.input(x), w1, { stride: 1, pad: 1, groups: 1 }),
        g1,
        b1,
        { block: 0, module: 0 },
        'bn1',
        'r1',
        eps,
      );
      const y = t.batchNormRelu6(
        t.conv(h, w2, { stride: 1, pad: 1, groups: 13 }),
        g2,
        b2,
        { block: 0, module: 0 },
        'bn2',
        'r2',
        eps,
      );
      t.backward(y, proj);
      expect(t.relus.length).toBe(recordRelus ? 2 : 0);
      return await Promise.all(store.params.map((p) => p.grad!.read()));
    } finally {
      t.dispose();
      x.dispose();
      proj.dispose();
      store.dispose();
    }
  }

  it('the fused path gives the gradients of batchNorm then relu', async ({ skip }) => {
    if (!dev) return skip();
    const be = cpuBackend(dev);
    const a = await grads(be, false);
    const b = await grads(be, true); // ReLU records need the BN output: the composed path
    a.forEach((g, i) => expectClose(g, b[i], { atol: 1e-5, rtol: 1e-4, label: `param ${i}` }));
    expect(dev.stats().bytesInUse).toBe(0);
  });

  it("passes the network's eps to the fused op: at 1e-3 it gives the composed gradients, not those at 1e-5", async ({ skip }) => {
    if (!dev) return skip();
    const be = cpuBackend(dev);
    // Small inputs (conv outputs of variance ~1e-3), where eps 1e-3 changes the normaliser a lot.
    const a = await grads(be, false, 1e-3, 0.01);
    const b = await grads(be, true, 1e-3, 0.01);
    const at5 = await grads(be, true, 1e-5, 0.01);
    a.forEach((g, i) => expectClose(g, b[i], { atol: 1e-5, rtol: 1e-4, label: `param ${i}` }));
    const gap = (u: Float32Array, v: Float32Array) => Math.max(...u.map((e, j) => Math.abs(e - v[j])));
    expect(Math.max(...b.map((g, i) => gap(g, at5[i])))).toBeGreaterThan(
      1e-2 *
        Math.max(
          ...b.map((g) =>
            gap(
              g,
              g.map(() => 0),
            ),
          ),
        ),
    );
    expect(dev.stats().bytesInUse).toBe(0);
  });
});
