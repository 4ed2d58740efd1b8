import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../src/gpu/index.js';
import { matmul, matmulCpu } from '../src/kernels/matmul.js';
import { Rng } from '../src/util/rng.js';
import { expectClose, testGpu } from './helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const cases: Array<[number, number, number, number, boolean, boolean]> = [
  // batch, M, N, K, transA, transB
  [1, 1, 1, 1, false, false],
  [1, 7, 13, 5, false, false],
  [1, 64, 64, 64, false, false],
  [1, 65, 63, 17, false, false],
  [3, 31, 37, 41, false, false],
  [2, 29, 67, 3, true, false],
  [2, 17, 19, 97, false, true],
  [1, 1, 130, 1, true, true],
  [4, 100, 1, 33, true, true],
];

describe('matmul.wgsl vs CPU reference', () => {
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
