import { beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, ShapeError } from '../../src/gpu/index.js';
import {
  calibratePeak,
  fmaBurn,
  fmaBurnCpu,
  fmaBurnFlops,
  scaleCopy,
  scaleCopyBytes,
  scaleCopyCpu,
} from '../../src/bench/calibrate.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('calibrate_flops.wgsl (FMA chains) vs CPU reference', () => {
  const cases: Array<[number, number, number?]> = [
    [1, 0],
    [1, 1],
    [257, 7],
    [1000, 64, 0.5],
    [4099, 33, 0.9999],
  ];
  for (const [n, iters, m] of cases) {
    it(`n=${n} iters=${iters}${m ? ` m=${m}` : ''}`, async ({ skip }) => {
      if (!gpu) return skip();
      const x = new Rng(n + iters).normals(n, 3);
      const gx = gpu.upload(x, [n]);
      const gy = fmaBurn(gpu, gx, { iters, m });
      // 16 recurrences summed: f32 rounding of each step, bounded by the contraction.
      expectClose(await gy.read(), fmaBurnCpu(x, { iters, m }), { atol: 1e-4, rtol: 1e-5, label: 'Y' });
      gx.dispose();
      gy.dispose();
    });
  }

  it('counts 32 FLOPs per thread-iteration and rejects bad parameters', async ({ skip }) => {
    expect(fmaBurnFlops(10, 3)).toBe(960);
    if (!gpu) return skip();
    const x = gpu.zeros([4]);
    expect(() => fmaBurn(gpu!, x, { iters: -1 })).toThrow(/iters/);
    expect(() => fmaBurn(gpu!, x, { iters: 2.5 })).toThrow(/iters/);
    expect(() => fmaBurn(gpu!, x, { iters: 1, m: 1.5 })).toThrow(/bounded/);
    const wrong = gpu.zeros([5]);
    expect(() => fmaBurn(gpu!, x, { iters: 1 }, wrong)).toThrow(ShapeError);
    x.dispose();
    wrong.dispose();
  });
});

describe('calibrate_bandwidth.wgsl (scale copy) vs CPU reference', () => {
  for (const n of [4, 8, 1028, 4 * 70001]) {
    it(`n=${n}`, async ({ skip }) => {
      if (!gpu) return skip();
      const x = new Rng(n).normals(n);
      const gx = gpu.upload(x, [n]);
      const gy = scaleCopy(gpu, gx, -1.5);
      expectClose(await gy.read(), scaleCopyCpu(x, -1.5), { atol: 0, rtol: 1e-7, label: 'Y' });
      gx.dispose();
      gy.dispose();
    });
  }

  it('needs whole vec4s and a matching output', async ({ skip }) => {
    expect(scaleCopyBytes(10)).toBe(80);
    if (!gpu) return skip();
    const odd = gpu.zeros([6]);
    expect(() => scaleCopy(gpu!, odd, 1)).toThrow(ShapeError);
    expect(() => scaleCopy(gpu!, odd, 1)).toThrow(/multiple of 4/);
    const x = gpu.zeros([8]);
    expect(() => scaleCopy(gpu!, x, 1, odd)).toThrow(ShapeError);
    odd.dispose();
    x.dispose();
  });
});

describe('calibratePeak', () => {
  it('returns finite, positive FLOP/s and bandwidth (values not asserted)', async ({ skip }) => {
    if (!gpu) return skip();
    const c = await calibratePeak(gpu, { targetMs: 1, repeats: 1 });
    expect(c.source).toBe('calibrated');
    expect(c.flopsPerS).toBeGreaterThan(0);
    expect(Number.isFinite(c.flopsPerS)).toBe(true);
    expect(c.bytesPerS).toBeGreaterThan(0);
    expect(Number.isFinite(c.bytesPerS)).toBe(true);
    expect(c.fma.iters).toBeGreaterThanOrEqual(16);
    expect(c.copy.bytesPerBuffer).toBeGreaterThan(0);
  });
});
