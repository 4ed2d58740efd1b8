import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import { correlation, correlationCpu, correlationOffDiagInPlace, GRAM_K_CHUNK } from '../../src/kernels/correlation.js';
import { Rng } from '../../src/util/rng.js';
import { CORRELATION_SHAPES } from '../helpers/cases.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('batched Pearson correlation (correlation.wgsl + matmul.wgsl)', () => {
  const shapes: Array<[number, number, number]> = [
    ...CORRELATION_SHAPES,
    // Split along D: several partial Grams (one of them short), N = 64 as in NB201 scoring.
    [2, 64, 2 * GRAM_K_CHUNK + 37],
    [1, 5, GRAM_K_CHUNK + 1],
  ];
  for (const [B, N, D] of shapes) {
    it(`B=${B} N=${N} D=${D} matches the f64 reference`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(B * 7 + N * 3 + D);
      // Offset the rows so centring matters.
      const x = rng.normals(B * N * D).map((v, i) => v + (((i / D) | 0) % 5));
      const gx = gpu.upload(x, [B, N, D]);
      const c = correlation(gpu, gx);
      expect(c.shape).toEqual([B, N, N]);
      expectClose(await c.read(), correlationCpu(x, B, N, D), { atol: 2e-5, label: 'C' });
      gx.dispose();
      c.dispose();
    });
  }

  it('a matrix comes out the same bit for bit whatever else shares its dispatch (split-D does not depend on B)', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const [N, D] = [64, 3 * GRAM_K_CHUNK + 5];
    const rng = new Rng(8);
    const x = rng.normals(3 * N * D);
    const all = gpu.upload(x, [3, N, D]);
    const cAll = gpu.empty([3, N, N]);
    correlationOffDiagInPlace(gpu, all, cAll);
    const got = await cAll.read();
    for (let b = 0; b < 3; b++) {
      const one = gpu.upload(x.subarray(b * N * D, (b + 1) * N * D), [1, N, D]);
      const c1 = gpu.empty([1, N, N]);
      correlationOffDiagInPlace(gpu, one, c1);
      expect(Array.from(await c1.read())).toEqual(Array.from(got.subarray(b * N * N, (b + 1) * N * N)));
      one.dispose();
      c1.dispose();
    }
    // Off-diagonal entries are the correlations.
    const ref = correlationCpu(x, 3, N, D);
    const off = Array.from(got, (v, i) => ((i % (N * N)) % (N + 1) === 0 ? ref[i] : v));
    expectClose(off, ref, { atol: 2e-5 });
    all.dispose();
    cAll.dispose();
  });

  it('hand-computed 3x4 case: perfectly correlated, anti-correlated and orthogonal rows', async ({ skip }) => {
    if (!gpu) return skip();
    const x = Float32Array.from([1, 2, 3, 4, /**/ 8, 6, 4, 2, /**/ 1, -1, -1, 1]);
    const c = correlation(gpu, gpu.upload(x, [3, 4]));
    expectClose(await c.read(), [1, -1, 0, -1, 1, 0, 0, 0, 1], { atol: 1e-6 });
  });

  it('constant rows correlate 0 with the others and 1 with themselves', async ({ skip }) => {
    if (!gpu) return skip();
    const x = Float32Array.from([3, 3, 3, 3, /**/ 1, 2, 3, 5, /**/ 0, 0, 0, 0]);
    const c = await correlation(gpu, gpu.upload(x, [1, 3, 4])).read();
    expectClose(c, correlationCpu(x, 1, 3, 4), { atol: 1e-6 });
    expect([c[0], c[1], c[2], c[3], c[8]]).toEqual([1, 0, 0, 0, 1]);
  });

  it('the result is symmetric with entries in [-1, 1]', async ({ skip }) => {
    if (!gpu) return skip();
    const N = 33;
    const x = new Rng(1).normals(N * 50);
    const c = await correlation(gpu, gpu.upload(x, [N, 50])).read();
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        expect(Math.abs(c[i * N + j] - c[j * N + i])).toBeLessThan(1e-6);
        expect(Math.abs(c[i * N + j])).toBeLessThanOrEqual(1 + 1e-6);
      }
    }
  });

  it('rejects bad shapes', async ({ skip }) => {
    if (!gpu) return skip();
    const t = gpu.zeros([4]);
    expect(() => correlation(gpu!, t)).toThrow(ShapeError);
    const one = gpu.zeros([3, 1]);
    expect(() => correlation(gpu!, one)).toThrow(/at least 2 features/);
    // Opting in, one feature per row is the identity (every row constant).
    const c = correlation(gpu!, gpu!.upload([1, 2, 3], [3, 1]), { allowSingleFeature: true });
    expect(Array.from(await c.read())).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });
});
