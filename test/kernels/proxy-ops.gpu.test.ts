import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { accumulateAbs, accumulateAbsCpu, signCodes, signCodesCpu, signCodesInPlace } from '../../src/kernels/proxy-ops.js';
import { logAbsDet, symmetricEigenvalues } from '../../src/proxies/linalg.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('proxy_ops.wgsl vs CPU reference', () => {
  for (const n of [1, 7, 256, 1000, 70001]) {
    it(`accumulate_abs and sign_codes, n=${n}`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(n);
      const k = rng.normals(n);
      const c = rng.normals(n);
      c[0] = 0; // sign of exactly zero is -1 (x > 0 is the ReLU's active set)
      const gk = gpu.upload(k, [n]);
      const gc = gpu.upload(c, [n]);
      accumulateAbs(gpu, gk, gc, 4);
      const ref = k.slice();
      accumulateAbsCpu(ref, c, 4);
      expectClose(await gk.read(), ref, { atol: 1e-6 });
      const s = signCodes(gpu, gc);
      expect(Array.from(await s.read())).toEqual(Array.from(signCodesCpu(c)));
      signCodesInPlace(gpu, gc);
      expect(Array.from(await gc.read())).toEqual(Array.from(signCodesCpu(c)));
      for (const t of [gk, gc, s]) t.dispose();
    });
  }
});

describe('f64 linear algebra for proxy matrices', () => {
  it('logAbsDet on hand-computed matrices', () => {
    expect(logAbsDet([2, 0, 0, 3], 2)).toBeCloseTo(Math.log(6), 12);
    expect(logAbsDet([0, 1, 1, 0], 2)).toBeCloseTo(0, 12); // det = -1 needs pivoting
    expect(logAbsDet([1, 2, 2, 4], 2)).toBe(-Infinity);
    expect(logAbsDet([4, 2, 1, 2, 5, 3, 1, 3, 6], 3)).toBeCloseTo(Math.log(4 * 21 - 2 * 9 + 1 * 1), 10);
  });

  it('symmetric eigenvalues match known spectra', () => {
    expectClose(symmetricEigenvalues([2, 1, 1, 2], 2), [1, 3], { atol: 1e-10 });
    const ev = symmetricEigenvalues([4, 1, 0, 1, 3, 1, 0, 1, 2], 3);
    expectClose([ev[0] + ev[1] + ev[2]], [9], { atol: 1e-9 }); // trace
    expect(Math.exp(logAbsDet([4, 1, 0, 1, 3, 1, 0, 1, 2], 3))).toBeCloseTo(ev[0] * ev[1] * ev[2], 8);
  });
});
