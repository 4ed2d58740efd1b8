import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardInputCpu,
  conv2dBackwardInputF64,
  conv2dBackwardWeight,
  conv2dBackwardWeightCpu,
  conv2dBackwardWeightF64,
  conv2dCpu,
  conv2dF64,
  conv2dOutShape,
  type ConvAlgo,
} from '../../src/kernels/conv2d.js';
import { hasF16 } from '../../src/kernels/f16.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { CONV_CASES, type ConvCase, convLabel, convWShape } from '../helpers/cases.js';
import { convProblem, expectConvPassesMatchCpu, f16ForwardErrors } from '../helpers/conv.js';
import { dot, expectGradMatchesFd, prod, withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const cases: ConvCase[] = [
  ...CONV_CASES,
  { x: [2, 3, 6, 7], cout: 5, k: 3, p: { stride: 1, pad: 2 } }, // padding > kernel / 2
  { x: [1, 2, 5, 5], cout: 3, k: 3, p: { stride: 2, pad: 3 } }, // padding > kernel, stride 2
  { x: [3, 8, 9, 7], cout: 6, k: 1, p: { stride: 2, pad: 0 } }, // 1x1 with stride
  { x: [2, 1, 11, 13], cout: 9, k: 3, p: { stride: 2, pad: 1 } }, // C = 1, odd sizes, stride 2
  { x: [2, 300, 1, 1], cout: 70, k: 1, p: { stride: 1, pad: 0 } }, // large C at 1x1 pixels
  { x: [1, 37, 3, 3], cout: 131, k: 3, p: { stride: 1, pad: 1 } }, // primes, > one 128-row block
  { x: [2, 6, 7, 5], cout: 9, k: 3, p: { stride: 2, pad: 1, groups: 3 } }, // grouped GEMM, stride 2, odd
  { x: [3, 8, 6, 6], cout: 4, k: 1, p: { stride: 1, pad: 0, groups: 4 } }, // grouped 1x1, one output per group
  { x: [2, 3, 5, 7], cout: 6, k: 3, p: { stride: 1, pad: 2, groups: 3 } }, // depth multiplier 2 (Cout = 2 Cin)
];

const ALGOS: ConvAlgo[] = ['tiled', 'broadcast'];
// One tile for the tiled core keeps shader compiles (seconds each on lavapipe) few; the other
// tile shapes (B loads stepping 2 and 4 rows of k, 8 x 8 outputs per thread) get their own test.
const TILE = { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 };
const optsFor = (algo: ConvAlgo) => (algo === 'tiled' ? { algo, tile: TILE } : { algo });

describe('conv2d vs CPU reference', () => {
  // The GEMM core (algo) only matters for groups = 1; grouped convolutions run once.
  const runs = ALGOS.flatMap((algo) =>
    cases.filter((c) => algo === 'tiled' || (c.p.groups ?? 1) === 1).map((c) => [algo, c] as const),
  );
  for (const [algo, c] of runs) {
    const name = (c.p.groups ?? 1) === 1 ? algo : 'grouped';
    it(`${name}: forward and both backward passes: ${convLabel(c)}`, async ({ skip }) => {
      if (!gpu) return skip();
      await expectConvPassesMatchCpu(gpu, c, optsFor(algo), prod(c.x) * 31 + c.k);
    });
  }

  for (const algo of ALGOS)
    it(`${algo}: NB201-size layer (batch 4, 16 channels, 32x32, 3x3) incl. split-K weight gradient`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(11);
      const xShape = [4, 16, 32, 32];
      const wShape = [16, 16, 3, 3];
      const p = { stride: 1, pad: 1 };
      const x = rng.normals(prod(xShape));
      const w = rng.normals(prod(wShape), 0.2);
      const dy = rng.normals(prod(xShape));
      const [gx, gw, gdy] = [gpu.upload(x, xShape), gpu.upload(w, wShape), gpu.upload(dy, xShape)];
      const o = optsFor(algo);
      const gy = conv2d(gpu, gx, gw, p, o);
      const gdx = conv2dBackwardInput(gpu, gdy, gw, xShape, p, o);
      const gdw = conv2dBackwardWeight(gpu, gx, gdy, wShape, p, o);
      expectClose(await gy.read(), conv2dCpu(x, xShape, w, wShape, p), { atol: 1e-3, label: 'y' });
      expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, xShape, p), { atol: 1e-3, label: 'dx' });
      expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, xShape, dy, wShape, p), { atol: 2e-3, rtol: 1e-4, label: 'dw' });
      for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
    });

  it('tiled: other tile shapes (B loads stepping 2 and 4 rows of k, 8 x 8 outputs) and bad tiles', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(14);
    const xShape = [2, 5, 7, 9];
    const wShape = [7, 5, 3, 3];
    const p = { stride: 2, pad: 1 };
    const yShape = conv2dOutShape(xShape, wShape, p);
    const x = rng.normals(prod(xShape));
    const w = rng.normals(prod(wShape));
    const dy = rng.normals(prod(yShape));
    const [gx, gw, gdy] = [gpu.upload(x, xShape), gpu.upload(w, wShape), gpu.upload(dy, yShape)];
    // Each tiled pipeline costs seconds to compile on lavapipe: one kernel per tile shape.
    const gy = conv2d(gpu, gx, gw, p, { algo: 'tiled', tile: { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 } });
    const gdx = conv2dBackwardInput(gpu, gdy, gw, xShape, p, { algo: 'tiled', tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 } });
    const gdw = conv2dBackwardWeight(gpu, gx, gdy, wShape, p, { algo: 'tiled', tile: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } });
    expectClose(await gy.read(), conv2dCpu(x, xShape, w, wShape, p), { atol: 1e-3, label: 'y' });
    expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, xShape, p), { atol: 1e-3, label: 'dx' });
    expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, xShape, dy, wShape, p), { atol: 1e-3, label: 'dw' });
    expect(() => conv2d(gpu!, gx, gw, p, { algo: 'tiled', tile: { BM: 16, BN: 64, BK: 16, TM: 6, TN: 4 } })).toThrow(/TM=6/);
    // Every thread loads B from one column: 2 x 16 threads cannot cover 64 columns.
    expect(() => conv2d(gpu!, gx, gw, p, { algo: 'tiled', tile: { BM: 8, BN: 64, BK: 16, TM: 4, TN: 4 } })).toThrow(
      /multiple of BN/,
    );
    const n = gpu.adapter.limits.maxComputeInvocationsPerWorkgroup;
    expect(() => conv2d(gpu!, gx, gw, p, { algo: 'tiled', tile: { BM: 64, BN: n / 2, BK: 16, TM: 4, TN: 4 } })).toThrow(
      /invocations/,
    );
    for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
  });

  it('f16 forward (f16 operands, f32 accumulation) stays within the f16 error bound where shader-f16 exists', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const f16Cases: ConvCase[] = [
      { x: [2, 3, 7, 5], cout: 4, k: 3, p: { stride: 1, pad: 1 } },
      { x: [3, 5, 7, 7], cout: 7, k: 3, p: { stride: 2, pad: 1 } },
      { x: [2, 33, 6, 5], cout: 70, k: 3, p: { stride: 1, pad: 1 } },
      { x: [2, 300, 1, 1], cout: 70, k: 1, p: { stride: 1, pad: 0 } },
    ];
    if (!hasF16(gpu)) {
      const x = gpu.zeros([1, 1, 3, 3]);
      expect(() => conv2d(gpu!, x, x, { stride: 1, pad: 0 }, { precision: 'f16' })).toThrow(/shader-f16/);
      x.dispose();
      return skip();
    }
    for (const c of f16Cases) {
      const { wShape, x, w } = convProblem(c, prod(c.x) + 5);
      const [gx, gw] = [gpu.upload(x, c.x), gpu.upload(w, wShape)];
      const gy = conv2d(gpu, gx, gw, c.p, { precision: 'f16', tile: TILE });
      const { bad, rounded } = f16ForwardErrors(await gy.read(), c, x, w);
      expect(bad, convLabel(c)).toBe(0);
      expect(rounded, `${convLabel(c)}: the operands were not rounded to f16`).toBeGreaterThan(0);
      for (const t of [gx, gw, gy]) t.dispose();
    }
  });

  it('broadcast: folds the column-tile grid into z when it exceeds the per-dimension limit', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const rng = new Rng(13);
    // 1x1 conv over 8192 pixels: 16 column tiles of 512 -> a [4, 1, 4] grid with a limit of 4.
    const xShape = [2, 1, 64, 64];
    const wShape = [3, 1, 1, 1];
    const p = { stride: 1, pad: 0 };
    const x = rng.normals(prod(xShape));
    const w = rng.normals(prod(wShape));
    const dy = rng.normals(2 * 3 * 64 * 64);
    await withWorkgroupLimit(g, 4, async () => {
      const [gx, gw, gdy] = [g.upload(x, xShape), g.upload(w, wShape), g.upload(dy, [2, 3, 64, 64])];
      const gy = conv2d(g, gx, gw, p, { algo: 'broadcast' });
      const gdx = conv2dBackwardInput(g, gdy, gw, xShape, p, { algo: 'broadcast' });
      expectClose(await gy.read(), conv2dCpu(x, xShape, w, wShape, p), { atol: 1e-4, label: 'y' });
      expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, xShape, p), { atol: 1e-4, label: 'dx' });
      for (const t of [gx, gw, gdy, gy, gdx]) t.dispose();
    });
  });

  it('tiled: folds the column-tile grid into z when it exceeds the per-dimension limit', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const rng = new Rng(12);
    const xShape = [3, 4, 13, 11];
    const wShape = [5, 4, 3, 3];
    const p = { stride: 1, pad: 1 };
    const x = rng.normals(prod(xShape));
    const w = rng.normals(prod(wShape));
    const dy = rng.normals(prod([3, 5, 13, 11]));
    await withWorkgroupLimit(g, 4, async () => {
      const [gx, gw, gdy] = [g.upload(x, xShape), g.upload(w, wShape), g.upload(dy, [3, 5, 13, 11])];
      const opts = optsFor('tiled');
      const gy = conv2d(g, gx, gw, p, opts);
      const gdx = conv2dBackwardInput(g, gdy, gw, xShape, p, opts);
      const gdw = conv2dBackwardWeight(g, gx, gdy, wShape, p, opts);
      expectClose(await gy.read(), conv2dCpu(x, xShape, w, wShape, p), { atol: 1e-3, label: 'y' });
      expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, xShape, p), { atol: 1e-3, label: 'dx' });
      expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, xShape, dy, wShape, p), { atol: 1e-3, label: 'dw' });
      for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
    });
    // The generic grouped kernels fold their 1-D grids over y (36 weight workgroups, 7 input ones).
    const dShape = [4, 1, 3, 3];
    const dp = { stride: 3, pad: 1, groups: 4 };
    const dyShape = conv2dOutShape(xShape, dShape, dp);
    const wdw = rng.normals(prod(dShape));
    const dyd = rng.normals(prod(dyShape));
    await withWorkgroupLimit(g, 6, async () => {
      const [gx, gw, gdy] = [g.upload(x, xShape), g.upload(wdw, dShape), g.upload(dyd, dyShape)];
      const gy = conv2d(g, gx, gw, dp);
      const gdx = conv2dBackwardInput(g, gdy, gw, xShape, dp);
      const gdw = conv2dBackwardWeight(g, gx, gdy, dShape, dp);
      expectClose(await gy.read(), conv2dCpu(x, xShape, wdw, dShape, dp), { atol: 1e-4, label: 'grouped y' });
      expectClose(await gdx.read(), conv2dBackwardInputCpu(dyd, wdw, dShape, xShape, dp), { atol: 1e-4, label: 'grouped dx' });
      expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, xShape, dyd, dShape, dp), { atol: 1e-3, label: 'grouped dw' });
      for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
    });
  });

  it('one pipeline per kernel and tile/width serves every shape (shapes live in uniforms)', async ({ skip }) => {
    if (!gpu) return skip();
    const run = (n: number, c: number, hw: number, k: number, stride: number) => {
      const x = gpu!.zeros([n, c, hw, hw]);
      const w = gpu!.zeros([c, c, k, k]);
      const p = { stride, pad: (k - 1) / 2 };
      for (const algo of ALGOS) {
        const y = conv2d(gpu!, x, w, p, optsFor(algo));
        conv2dBackwardInput(gpu!, y, w, x.shape, p, optsFor(algo)).dispose();
        conv2dBackwardWeight(gpu!, x, y, w.shape, p, optsFor(algo)).dispose();
        y.dispose();
      }
      for (const t of [x, w]) t.dispose();
    };
    run(1, 8, 5, 3, 1);
    await gpu.sync();
    const before = gpu.pipelineCount;
    run(2, 8, 7, 1, 2);
    run(1, 12, 9, 5, 1);
    run(3, 16, 6, 3, 4);
    await gpu.sync();
    expect(gpu.pipelineCount).toBe(before);
  });

  it('handles an empty batch and zero input channels', async ({ skip }) => {
    if (!gpu) return skip();
    for (const algo of ALGOS) {
      const x0 = gpu.zeros([0, 3, 5, 5]);
      const w = gpu.upload(new Float32Array(4 * 3 * 9).fill(1), [4, 3, 3, 3]);
      const p = { stride: 1, pad: 1 };
      const y0 = conv2d(gpu, x0, w, p, optsFor(algo));
      expect(y0.shape).toEqual([0, 4, 5, 5]);
      const dw = conv2dBackwardWeight(gpu, x0, y0, [4, 3, 3, 3], p, optsFor(algo));
      expect(Array.from(await dw.read()).every((v) => v === 0)).toBe(true);
      const xc = gpu.zeros([1, 0, 5, 5]);
      const y1 = conv2d(gpu, xc, gpu.zeros([4, 0, 3, 3]), p, optsFor(algo));
      expect(Array.from(await y1.read()).every((v) => v === 0)).toBe(true);
      for (const t of [x0, w, y0, dw, xc, y1]) t.dispose();
    }
  });

  it('rejects bad shapes and parameters', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.zeros([1, 4, 5, 5]);
    const w = gpu.zeros([2, 3, 3, 3]);
    const wd = gpu.zeros([4, 1, 3, 3]);
    expect(() => conv2d(gpu!, x, w, { stride: 1, pad: 1 })).toThrow(ShapeError);
    expect(() => conv2d(gpu!, x, wd, { stride: 1, pad: 1, groups: 3 })).toThrow(/groups 3 must divide/);
    expect(() => conv2d(gpu!, x, wd, { stride: 0, pad: 1, groups: 4 })).toThrow(/stride/);
    expect(() => conv2d(gpu!, x, wd, { stride: 1, pad: -1, groups: 4 })).toThrow(/pad/);
    expect(() => conv2d(gpu!, gpu!.zeros([1, 4, 2, 2]), wd, { stride: 1, pad: 0, groups: 4 })).toThrow(/does not fit/);
    expect(() => conv2dBackwardInput(gpu!, x, wd, [1, 4, 5, 5], { stride: 2, pad: 1, groups: 4 })).toThrow(/dy is/);
    expect(() => conv2dOutShape([4, 5, 5], [4, 1, 3, 3], { stride: 1, pad: 1 })).toThrow(ShapeError);
    for (const t of [x, w, wd]) t.dispose();
  });
});

describe('conv2d CPU backward vs finite differences (f64)', () => {
  const tiny: ConvCase[] = [
    { x: [2, 3, 5, 4], cout: 2, k: 3, p: { stride: 1, pad: 1 } },
    { x: [1, 2, 6, 5], cout: 3, k: 3, p: { stride: 2, pad: 1 } },
    { x: [1, 2, 5, 5], cout: 2, k: 1, p: { stride: 2, pad: 0 } },
    { x: [2, 3, 5, 5], cout: 3, k: 3, p: { stride: 2, pad: 1, groups: 3 } },
    { x: [1, 2, 6, 6], cout: 2, k: 5, p: { stride: 2, pad: 2, groups: 2 } },
    { x: [1, 4, 4, 4], cout: 2, k: 3, p: { stride: 1, pad: 2, groups: 2 } },
  ];
  for (const c of tiny) {
    it(convLabel(c), () => {
      const rng = new Rng(7 + prod(c.x));
      const wShape = convWShape(c);
      const x = Float64Array.from(rng.normals(prod(c.x)));
      const w = Float64Array.from(rng.normals(prod(wShape)));
      const dy = Float64Array.from(rng.normals(prod(conv2dOutShape(c.x, wShape, c.p))));
      const lossX = (xv: Float64Array) => dot(dy, conv2dF64(xv, c.x, w, wShape, c.p));
      const lossW = (wv: Float64Array) => dot(dy, conv2dF64(x, c.x, wv, wShape, c.p));
      expectGradMatchesFd(lossX, x, conv2dBackwardInputF64(dy, w, wShape, c.x, c.p), { label: 'dx' });
      expectGradMatchesFd(lossW, w, conv2dBackwardWeightF64(x, c.x, dy, wShape, c.p), { label: 'dw' });
    });
  }
});
