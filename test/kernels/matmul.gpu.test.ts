import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import { f16DotErrorBound, hasF16 } from '../../src/kernels/f16.js';
import { matmul, matmulCpu, type MatmulTile } from '../../src/kernels/matmul.js';
import { matmulTileMisfit } from '../../src/kernels/matmul-tiles.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { MATMUL_CASES } from '../helpers/cases.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const cases: Array<[number, number, number, number, boolean, boolean]> = [
  // batch, M, N, K, transA, transB
  ...MATMUL_CASES,
  // vec4 paths: every contiguous axis a multiple of 4 (all four layouts), and mixed alignments
  [2, 64, 68, 36, false, false],
  [1, 68, 64, 40, true, true],
  [1, 72, 76, 44, true, false],
  [2, 76, 72, 48, false, true],
  [1, 132, 12, 97, false, false], // K odd: A scalar, B and C vec4
  [1, 13, 128, 8, true, false], // M odd: A scalar (transA), B vec4, C vec4
  // K = 1, large K, primes, non-multiples of every tile
  [1, 131, 67, 1, false, true],
  [1, 23, 29, 2053, false, false],
  [2, 127, 131, 61, true, true],
];

/** Tiles of every shape class the kernel takes: 4x4 / 8x8 / mixed outputs per thread, BK 8 and 16. */
const TILES: MatmulTile[] = [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 32, BN: 64, BK: 16, TM: 4, TN: 8 },
];

describe('matmul (generated programs) vs CPU reference', () => {
  for (const [batch, M, N, K, tA, tB] of cases) {
    it(`b=${batch} ${M}x${N}x${K} tA=${tA} tB=${tB}`, async ({ skip }) => {
      if (!gpu) return skip();
      const rng = new Rng(M * 1000 + N * 10 + K);
      const aShape = batch === 1 ? (tA ? [K, M] : [M, K]) : tA ? [batch, K, M] : [batch, M, K];
      const bShape = batch === 1 ? (tB ? [N, K] : [K, N]) : tB ? [batch, N, K] : [batch, K, N];
      const a = rng.normals(batch * M * K);
      const b = rng.normals(batch * K * N);
      const ga = gpu.upload(a, aShape);
      const gb = gpu.upload(b, bShape);
      const gc = matmul(gpu, ga, gb, { transA: tA, transB: tB });
      const got = await gc.read();
      expectClose(got, matmulCpu(a, aShape, b, bShape, { transA: tA, transB: tB }), { atol: 1e-4 * K, label: 'C' });
      for (const t of [ga, gb, gc]) t.dispose();
    });
  }

  for (const tile of TILES) {
    it(`tile ${tile.BM}x${tile.BN}x${tile.BK}/${tile.TM}x${tile.TN}: awkward shapes, all layouts, with and without split-K`, async ({
      skip,
    }) => {
      if (!gpu) return skip();
      if (matmulTileMisfit(tile, gpu.adapter.limits)) return skip();
      const shapes: Array<[number, number, number, number, boolean, boolean, number]> = [
        [2, 67, 45, 37, false, false, 1],
        [1, 33, 70, 19, true, false, 1],
        [2, 29, 31, 53, false, true, 1],
        [1, 132, 136, 40, true, true, 1],
        [1, 3, 5, 1, false, false, 1],
        [2, 40, 44, 300, false, true, 3],
        [1, 37, 41, 301, true, false, 4],
      ];
      for (const [batch, M, N, K, tA, tB, splits] of shapes) {
        const rng = new Rng(M * 7 + N * 3 + K + splits);
        const aShape = tA ? [batch, K, M] : [batch, M, K];
        const bShape = tB ? [batch, N, K] : [batch, K, N];
        const a = rng.normals(batch * M * K);
        const b = rng.normals(batch * K * N);
        const [ga, gb] = [gpu.upload(a, aShape), gpu.upload(b, bShape)];
        const gc = matmul(gpu, ga, gb, { transA: tA, transB: tB, tile, splits, alpha: 0.5 });
        const want = matmulCpu(a, aShape, b, bShape, { transA: tA, transB: tB, alpha: 0.5 });
        expectClose(await gc.read(), want, {
          atol: 1e-4 * K,
          label: `${batch}x${M}x${N}x${K} tA=${tA} tB=${tB} splits=${splits}`,
        });
        for (const t of [ga, gb, gc]) t.dispose();
      }
    });
  }

  it('split-K partials sum to the product; beta keeps one pass', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(21);
    const [M, N, K] = [24, 20, 1000];
    const a = rng.normals(M * K);
    const b = rng.normals(K * N);
    const [ga, gb] = [gpu.upload(a, [M, K]), gpu.upload(b, [K, N])];
    const want = matmulCpu(a, [M, K], b, [K, N]);
    for (const kChunk of [16, 48, 512, 4096]) {
      const gc = matmul(gpu, ga, gb, { kChunk });
      expectClose(await gc.read(), want, { atol: 1e-4 * K, label: `kChunk ${kChunk}` });
      gc.dispose();
    }
    const out = gpu.upload(new Float32Array(M * N).fill(2), [M, N]);
    matmul(gpu, ga, gb, { out, beta: -1, splits: 4 });
    expectClose(
      await out.read(),
      want.map((v) => v - 2),
      { atol: 1e-4 * K, label: 'beta with splits' },
    );
    expect(() => matmul(gpu!, ga, gb, { splits: 0 })).toThrow(/splits/);
    expect(() => matmul(gpu!, ga, gb, { tile: { BM: 64, BN: 64, BK: 16, TM: 3, TN: 4 } })).toThrow(/TM=3/);
    for (const t of [ga, gb, out]) t.dispose();
  });

  it('f16 operands with f32 accumulation stay within the f16 error bound (where shader-f16 exists)', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(33);
    const cases: Array<[number, number, number, number, boolean, boolean]> = [
      [1, 64, 64, 64, false, false],
      [2, 37, 45, 301, false, true],
      [1, 33, 70, 19, true, false],
      [1, 128, 132, 1024, true, true],
      [1, 7, 5, 1, false, false],
    ];
    if (!hasF16(gpu)) {
      const a = gpu.zeros([4, 4]);
      expect(() => matmul(gpu!, a, a, { precision: 'f16' })).toThrow(/shader-f16/);
      a.dispose();
      return skip();
    }
    for (const [batch, M, N, K, tA, tB] of cases) {
      const aShape = tA ? [batch, K, M] : [batch, M, K];
      const bShape = tB ? [batch, N, K] : [batch, K, N];
      const a = rng.normals(batch * M * K);
      const b = rng.normals(batch * K * N);
      const [ga, gb] = [gpu.upload(a, aShape), gpu.upload(b, bShape)];
      const gc = matmul(gpu, ga, gb, { transA: tA, transB: tB, precision: 'f16' });
      const got = await gc.read();
      const want = matmulCpu(a, aShape, b, bShape, { transA: tA, transB: tB });
      // |C16 - C| <= (2 u16 + u16^2 + K u32) * sum_k |a_ik b_kj|, checked element by element.
      const absA = a.map(Math.abs);
      const absB = b.map(Math.abs);
      const mag = matmulCpu(absA, aShape, absB, bShape, { transA: tA, transB: tB });
      const bound = f16DotErrorBound(K);
      let worst = 0;
      let exceeded = 0;
      let differs = 0;
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(got[i] - want[i]);
        worst = Math.max(worst, err / Math.max(1e-30, mag[i]));
        if (!(err <= bound * mag[i] + 1e-6)) exceeded++;
        if (err > 1e-5 * mag[i]) differs++;
      }
      expect(exceeded, `${batch}x${M}x${N}x${K}: worst relative error ${worst} > bound ${bound}`).toBe(0);
      // The operands really were rounded (f32 would agree to ~1e-7 relative).
      if (K > 1) expect(differs).toBeGreaterThan(0);
      for (const t of [ga, gb, gc]) t.dispose();
    }
  });

  it('broadcasts a 2-D operand over the batch and accumulates with beta', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(5);
    const a = rng.normals(3 * 5 * 4);
    const w = rng.normals(4 * 6);
    const ga = gpu.upload(a, [3, 5, 4]);
    const gw = gpu.upload(w, [4, 6]);
    const out = gpu.upload(new Float32Array(3 * 5 * 6).fill(1), [3, 5, 6]);
    matmul(gpu, ga, gw, { out, alpha: 2, beta: 0.5 });
    const ref = matmulCpu(a, [3, 5, 4], w, [4, 6], { alpha: 2 }).map((v) => v + 0.5);
    expectClose(await out.read(), ref, { atol: 1e-4 });
    for (const t of [ga, gw, out]) t.dispose();
  });

  it('rejects mismatched inner dimensions with a ShapeError', async ({ skip }) => {
    if (!gpu) return skip();
    const a = gpu.zeros([3, 4]);
    const b = gpu.zeros([5, 2]);
    expect(() => matmul(gpu!, a, b)).toThrow(ShapeError);
    expect(() => matmul(gpu!, a, b)).toThrow(/inner dimensions differ/);
    a.dispose();
    b.dispose();
  });

  it('one pipeline serves every shape (shapes live in uniforms)', async ({ skip }) => {
    if (!gpu) return skip();
    const before = gpu.pipelineCount;
    for (const n of [3, 9, 27]) {
      const a = gpu.zeros([n, n]);
      matmul(gpu, a, a).dispose();
      a.dispose();
    }
    await gpu.sync();
    expect(gpu.pipelineCount).toBe(before === 0 ? 1 : before);
  });
});
