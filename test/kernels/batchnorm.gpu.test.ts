import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  batchNormBackward,
  batchNormBackwardF64,
  batchNormBackwardPlanned,
  batchNormForward,
  batchNormForwardF64,
  batchNormForwardPlanned,
  batchNormRelu6Backward,
  batchNormRelu6Forward,
  type BnPlan,
} from '../../src/kernels/batchnorm.js';
import { relu6, relu6Backward } from '../../src/kernels/activation.js';
import { add } from '../../src/kernels/elementwise.js';
import { Rng } from '../../src/util/rng.js';
import { BN_SHAPES } from '../helpers/cases.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { dot, expectBatchNormMatchesCpu, expectGradMatchesFd, prod } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const shapes: number[][] = [
  ...BN_SHAPES,
  // More than 16384 elements per channel: several statistics workgroups (S > 1), then the
  // per-plane merge; N * H * W not a multiple of the workgroup size.
  [3, 2, 77, 75], // S = 2
  [5, 1, 61, 59], // C = 1, S = 2
  [16500, 2], // H * W = 1, S = 2
  [1, 1, 300, 300], // S = 6, one plane per channel
];

describe('batch norm vs CPU reference', () => {
  for (const shape of shapes) {
    for (const affine of [true, false]) {
      it(`[${shape}] affine=${affine}`, async ({ skip }) => {
        if (!gpu) return skip();
        const rng = new Rng(prod(shape) + (affine ? 1 : 0));
        const C = shape[1];
        const x = rng.normals(prod(shape), 2).map((v, i) => v + (i % 3)); // non-zero means
        const gamma = affine ? rng.normals(C).map((v) => 1 + 0.3 * v) : null;
        const beta = affine ? rng.normals(C, 0.5) : null;
        const dy = rng.normals(prod(shape));
        const gx = gpu.upload(x, shape);
        const gg = gamma ? gpu.upload(gamma, [C]) : null;
        const gb = beta ? gpu.upload(beta, [C]) : null;
        const gdy = gpu.upload(dy, shape);
        const f = batchNormForward(gpu, gx, gg, gb);
        const b = batchNormBackward(gpu, gdy, gx, f.mean, f.invStd, gg);
        await expectBatchNormMatchesCpu(f, b, { x, dy, shape, gamma, beta });
        expect(f.mean.shape).toEqual([C]);
        expect(b.dgamma.shape).toEqual([C]);
        for (const t of [gx, gg, gb, gdy, f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta]) t?.dispose();
      });
    }
  }

  // [4, 2, 48, 48]: 9216 per channel, one statistics workgroup; [8, 2, 48, 48]: 18432, two, Chan-merged.
  for (const shape of [
    [4, 2, 48, 48],
    [8, 2, 48, 48],
  ]) {
    it(`variance stays accurate for a large mean (two-pass / Chan merge, no E[x^2] - E[x]^2) [${shape}]`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(3);
      const x = rng.normals(prod(shape), 0.01).map((v) => v + 1000);
      const gx = gpu.upload(x, shape);
      const f = batchNormForward(gpu, gx, null, null);
      const ref = batchNormForwardF64(x, shape, null, null);
      // Naive E[x^2] - E[x]^2 in f32 loses all digits here (1e6 vs 1e-4).
      expectClose(await f.invStd.read(), ref.invStd, { rtol: 1e-3, atol: 0, label: 'invStd' });
      expectClose(await f.y.read(), ref.y, { atol: 2e-2, label: 'y' });
      for (const t of [gx, f.y, f.mean, f.invStd]) t.dispose();
    });
  }

  it('honours eps', async ({ skip }) => {
    if (!gpu) return skip();
    const x = [1, 1, 1, 1]; // zero variance: invStd = 1/sqrt(eps)
    const gx = gpu.upload(x, [4, 1, 1, 1]);
    const f = batchNormForward(gpu, gx, null, null, 0.25);
    expectClose(await f.invStd.read(), [2], { atol: 1e-6 });
    expectClose(await f.y.read(), [0, 0, 0, 0], { atol: 1e-6 });
    for (const t of [gx, f.y, f.mean, f.invStd]) t.dispose();
  });

  it('rejects bad shapes', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.zeros([2, 3, 4, 4]);
    const g4 = gpu.zeros([4]);
    expect(() => batchNormForward(gpu!, x, g4, null)).toThrow(ShapeError);
    expect(() => batchNormForward(gpu!, gpu!.zeros([2, 3, 4]), null, null)).toThrow(/expected \[N, C, H, W\]/);
    expect(() => batchNormBackward(gpu!, gpu!.zeros([2, 3, 4, 5]), x, g4, g4, null)).toThrow(ShapeError);
    for (const t of [x, g4]) t.dispose();
  });
});

describe('batch norm dispatch plans', () => {
  const bits = async (t: { read(): Promise<Float32Array> }) => new Uint32Array((await t.read()).buffer);
  // [shape, dispatches per pass under 'auto']: one kernel per channel while a channel fits one
  // statistics workgroup (<= 16384 elements), else partials and the per-plane merge (two).
  const cases: Array<[number[], number]> = [
    [[1, 3, 1, 1], 1], // one element per channel: zero variance
    [[2, 70], 1], // more channels than a workgroup has threads
    [[2, 3, 7, 5], 1],
    [[2, 2, 64, 41], 1],
    [[1, 1, 128, 128], 1], // 16384: the largest single-kernel channel
    [[5, 1, 29, 113], 2], // 16385: two statistics workgroups
    [[3, 2, 77, 75], 2],
  ];
  for (const [shape, dispatches] of cases) {
    for (const affine of [true, false]) {
      it(`[${shape}] affine=${affine}: ${dispatches} dispatch(es) per pass, the bits of the two-kernel plan`, async ({
        skip,
      }) => {
        if (!gpu) return skip();
        const g = gpu;
        const rng = new Rng(7 * prod(shape) + (affine ? 1 : 0));
        const C = shape[1];
        const gx = g.upload(
          rng.normals(prod(shape), 3).map((v, i) => v + (i % 5)),
          shape,
        );
        const gdy = g.upload(rng.normals(prod(shape)), shape);
        const gg = affine
          ? g.upload(
              rng.normals(C).map((v) => 1 + 0.3 * v),
              [C],
            )
          : null;
        const gb = affine ? g.upload(rng.normals(C, 0.5), [C]) : null;
        const gres = g.upload(rng.normals(prod(shape)), shape);
        const run = async (plan: BnPlan) => {
          const d0 = g.dispatchCount;
          const f = batchNormForwardPlanned(g, gx, gg, gb, 1e-5, plan);
          const d1 = g.dispatchCount;
          const b = batchNormBackwardPlanned(g, gdy, gx, f.mean, f.invStd, gg, plan);
          const d2 = g.dispatchCount;
          // With a residual: the same dispatches, and the bits of the batch norm then add(residual, y).
          const fr = batchNormForwardPlanned(g, gx, gg, gb, 1e-5, plan, gres);
          const counts = [d1 - d0, d2 - d1, g.dispatchCount - d2];
          const sum = add(g, gres, f.y);
          const outs = [f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta, fr.y, fr.mean, fr.invStd, sum];
          const read = await Promise.all(outs.map(bits));
          for (const t of outs) t.dispose();
          expect(read[6], 'y + residual').toEqual(read[9]);
          expect([read[7], read[8]], 'statistics with a residual').toEqual([read[1], read[2]]);
          return { counts, read };
        };
        const auto = await run('auto');
        const split = await run('split');
        expect(auto.counts).toEqual([dispatches, dispatches, dispatches]);
        expect(split.counts).toEqual([2, 2, 2]);
        ['y', 'mean', 'invStd', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => expect(auto.read[i], name).toEqual(split.read[i]));
        for (const t of [gx, gdy, gg, gb, gres]) t?.dispose();
      });
    }
  }
});

describe("relu6(batch norm) in the batch norm's passes (the MBConv pair)", () => {
  // The composition it replaces (batch norm, relu6; relu6Backward, batch norm backward), bit for
  // bit, under both plans; both clamps hit (gamma ~3, beta ~2); every affine combination.
  const bits = async (t: { read(): Promise<Float32Array> }) => new Uint32Array((await t.read()).buffer);
  const cases: Array<[number[], number]> = [
    [[1, 3, 1, 1], 1],
    [[2, 70], 1],
    [[2, 3, 7, 5], 1],
    [[3, 5, 1, 1], 1],
    [[1, 1, 128, 128], 1],
    [[5, 1, 29, 113], 2],
    [[3, 2, 77, 75], 2],
  ];
  const affines: Array<[boolean, boolean]> = [
    [true, true],
    [false, false],
    [true, false],
    [false, true],
  ];
  for (const [shape, dispatches] of cases) {
    for (const [withGamma, withBeta] of affines) {
      it(`[${shape}] gamma=${withGamma} beta=${withBeta}: the composition's bits, ${dispatches} dispatch(es) forward`, async ({
        skip,
      }) => {
        if (!gpu) return skip();
        const g = gpu;
        const rng = new Rng(11 * prod(shape) + (withGamma ? 1 : 0) + (withBeta ? 2 : 0));
        const C = shape[1];
        const gx = g.upload(
          rng.normals(prod(shape), 2).map((v, i) => v + (i % 5) - 1),
          shape,
        );
        const gdz = g.upload(rng.normals(prod(shape)), shape);
        const gg = withGamma
          ? g.upload(
              rng.normals(C).map((v) => 3 + v),
              [C],
            )
          : null;
        const gb = withBeta
          ? g.upload(
              rng.normals(C).map((v) => 2 + v),
              [C],
            )
          : null;
        const composed = async (plan: BnPlan) => {
          const f = batchNormForwardPlanned(g, gx, gg, gb, 1e-3, plan);
          const z = relu6(g, f.y);
          const dy = relu6Backward(g, gdz, f.y);
          const b = batchNormBackwardPlanned(g, dy, gx, f.mean, f.invStd, gg, plan);
          const outs = [z, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta];
          const read = await Promise.all(outs.map(bits));
          for (const t of [...outs, f.y, dy]) t.dispose();
          return read;
        };
        const fused = async (plan: BnPlan) => {
          const d0 = g.dispatchCount;
          const f =
            plan === 'auto'
              ? batchNormRelu6Forward(g, gx, gg, gb, 1e-3)
              : (({ y, mean, invStd }) => ({ z: y, mean, invStd }))(
                  batchNormForwardPlanned(g, gx, gg, gb, 1e-3, plan, null, true),
                );
          const d1 = g.dispatchCount;
          const b =
            plan === 'auto'
              ? batchNormRelu6Backward(g, gdz, gx, f.mean, f.invStd, gg, gb)
              : batchNormBackwardPlanned(g, gdz, gx, f.mean, f.invStd, gg, plan, { beta: gb });
          const counts = [d1 - d0, g.dispatchCount - d1];
          const outs = [f.z, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta];
          const read = await Promise.all(outs.map(bits));
          for (const t of outs) t.dispose();
          return { counts, read };
        };
        const want = await composed('split');
        expect(await composed('auto')).toEqual(want);
        const auto = await fused('auto');
        const split = await fused('split');
        // One kernel per channel backward needs 9 storage buffers; with fewer the two-kernel plan runs.
        const nine = (g.adapter.limits.maxStorageBuffersPerShaderStage ?? 8) >= 9;
        expect(auto.counts).toEqual([dispatches, nine ? dispatches : 2]);
        expect(split.counts).toEqual([2, 2]);
        ['z', 'mean', 'invStd', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => {
          expect(auto.read[i], name).toEqual(want[i]);
          expect(split.read[i], name).toEqual(want[i]);
        });
        // Both clamps were hit (6 with gamma and beta), and some values lie between: the mask matters.
        const z = new Float32Array(want[0].buffer);
        if (prod(shape) >= 30) {
          expect([z.some((v) => v === 0), z.some((v) => v > 0 && v < 6)]).toEqual([true, true]);
          if (withGamma && withBeta) expect(z.some((v) => v === 6)).toBe(true);
        }
        for (const t of [gx, gdz, gg, gb]) t?.dispose();
      });
    }
  }
});

describe('batch norm CPU backward vs finite differences (f64)', () => {
  // eps 1e-3 (ProxylessNAS's) on values of variance ~1e-3, where it is half the normaliser: the
  // backward's saved invStd carries the eps, so its gradient is that of the forward at that eps.
  for (const [shape, affine, eps, scale] of [
    [[2, 3, 2, 3], true, 1e-5, 1],
    [[3, 2, 1, 1], false, 1e-5, 1],
    [[1, 2, 3, 2], true, 1e-5, 1],
    [[2, 3, 2, 3], true, 1e-3, 0.03],
    [[3, 2, 1, 1], false, 1e-3, 0.03],
  ] as Array<[number[], boolean, number, number]>) {
    it(`[${shape}] affine=${affine} eps=${eps}`, () => {
      const rng = new Rng(prod(shape));
      const C = shape[1];
      const x = Float64Array.from(rng.normals(prod(shape), scale));
      const gamma = affine ? Float64Array.from(rng.normals(C)) : null;
      const beta = affine ? Float64Array.from(rng.normals(C)) : null;
      const dy = Float64Array.from(rng.normals(prod(shape)));
      const f = batchNormForwardF64(x, shape, gamma, beta, eps);
      const b = batchNormBackwardF64(dy, x, shape, f.mean, f.invStd, gamma);
      const h = 1e-5 * scale;
      const loss = (xv: ArrayLike<number>, g: ArrayLike<number> | null, bv: ArrayLike<number> | null) =>
        dot(dy, batchNormForwardF64(xv, shape, g, bv, eps).y);
      expectGradMatchesFd((xv) => loss(xv, gamma, beta), x, b.dx, { h, label: 'dx' });
      if (gamma && beta) {
        expectGradMatchesFd((g) => loss(x, g, beta), gamma, b.dgamma, { label: 'dgamma' });
        expectGradMatchesFd((bv) => loss(x, gamma, bv), beta, b.dbeta, { label: 'dbeta' });
      }
    });
  }
});
