import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  avgPool2d,
  avgPool2dBackward,
  avgPool2dBackwardCpu,
  avgPool2dBackwardF64,
  avgPool2dCpu,
  avgPool2dF64,
  avgPool2dOutShape,
  globalAvgPool,
  globalAvgPoolBackward,
  globalAvgPoolBackwardCpu,
  globalAvgPoolCpu,
} from '../../src/kernels/pool.js';
import { Rng } from '../../src/util/rng.js';
import { POOL_CASES, poolCaseName } from '../helpers/cases.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { dot, expectGradMatchesFd, prod, withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('avg pool vs CPU reference', () => {
  for (const [shape, p] of POOL_CASES) {
    it(poolCaseName(shape, p), async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(prod(shape) + p.kernel);
      const x = rng.normals(prod(shape));
      const outShape = avgPool2dOutShape(shape, p);
      const dy = rng.normals(prod(outShape));
      const gx = gpu.upload(x, shape);
      const gdy = gpu.upload(dy, outShape);
      const gy = avgPool2d(gpu, gx, p);
      const gdx = avgPool2dBackward(gpu, gdy, shape, p);
      expect(gy.shape).toEqual(outShape);
      expectClose(await gy.read(), avgPool2dCpu(x, shape, p), { atol: 1e-5, label: 'y' });
      expectClose(await gdx.read(), avgPool2dBackwardCpu(dy, shape, p), { atol: 1e-5, label: 'dx' });
      for (const t of [gx, gdy, gy, gdx]) t.dispose();
    });
  }

  it('matches PyTorch divisors on a hand-checked 3x3 case', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.upload([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const excl = await avgPool2d(gpu, x, { kernel: 3, stride: 1, pad: 1, countIncludePad: false }).read();
    const incl = await avgPool2d(gpu, x, { kernel: 3, stride: 1, pad: 1 }).read();
    // Corner: (1+2+4+5)/4 excluding padding, /9 including it; centre: 45/9.
    expectClose([excl[0], excl[4]], [3, 5], { atol: 1e-6 });
    expectClose([incl[0], incl[4]], [12 / 9, 5], { atol: 1e-6 });
    x.dispose();
  });

  it('global average pool and its backward (incl. folded grids)', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    for (const shape of [
      [2, 3, 5, 7],
      [1, 1, 1, 1],
      [3, 7, 32, 17],
    ]) {
      const rng = new Rng(prod(shape));
      const x = rng.normals(prod(shape));
      const dy = rng.normals(shape[0] * shape[1]);
      await withWorkgroupLimit(g, 8, async () => {
        const gx = g.upload(x, shape);
        const gdy = g.upload(dy, [shape[0], shape[1]]);
        const gy = globalAvgPool(g, gx);
        const gdx = globalAvgPoolBackward(g, gdy, shape);
        expect(gy.shape).toEqual([shape[0], shape[1]]);
        expectClose(await gy.read(), globalAvgPoolCpu(x, shape), { atol: 1e-5, label: 'gap y' });
        expectClose(await gdx.read(), globalAvgPoolBackwardCpu(dy, shape), { atol: 1e-6, label: 'gap dx' });
        for (const t of [gx, gdy, gy, gdx]) t.dispose();
      });
    }
  });

  it('rejects bad parameters and shapes', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.zeros([1, 2, 4, 4]);
    expect(() => avgPool2d(gpu!, x, { kernel: 3, stride: 1, pad: 2 })).toThrow(/exceeds half the kernel/);
    expect(() => avgPool2d(gpu!, x, { kernel: 5, stride: 1, pad: 0 })).toThrow(ShapeError);
    expect(() => avgPool2d(gpu!, x, { kernel: 2, stride: 0, pad: 0 })).toThrow(/stride/);
    expect(() => avgPool2dBackward(gpu!, x, [1, 2, 4, 4], { kernel: 2, stride: 2, pad: 0 })).toThrow(/dy is/);
    expect(() => globalAvgPool(gpu!, gpu!.zeros([2, 4]))).toThrow(/NCHW/);
    expect(() => globalAvgPoolBackward(gpu!, gpu!.zeros([2, 3]), [1, 2, 4, 4])).toThrow(ShapeError);
    x.dispose();
  });
});

describe('avg pool CPU backward vs finite differences (f64)', () => {
  for (const [shape, p] of [POOL_CASES[0], POOL_CASES[1], POOL_CASES[4], POOL_CASES[8]]) {
    it(poolCaseName(shape, p), () => {
      const rng = new Rng(3);
      const x = Float64Array.from(rng.normals(prod(shape)));
      const dy = Float64Array.from(rng.normals(prod(avgPool2dOutShape(shape, p))));
      expectGradMatchesFd((xv) => dot(dy, avgPool2dF64(xv, shape, p)), x, avgPool2dBackwardF64(dy, shape, p), { label: 'dx' });
    });
  }
});
