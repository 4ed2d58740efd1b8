/**
 * The subgroup-matrix tuner behind bench's matmul-sgmat entries (src/bench/sgmat-tune.ts). No
 * adapter here has subgroup matrices: without the feature every candidate is refused in one line;
 * the tuning loop itself (exact check, timing, choice, refusals) runs on the emulated programs
 * (the same generator, fragments as private arrays) that a test `prepare` hands it.
 */
import { describe, expect, it } from 'vitest';
import { type SgmatTuning, sgmatTrialsLine, tuneSubgroupMatrixMatmul } from '../../src/bench/sgmat-tune.js';
import type { Gpu } from '../../src/gpu/index.js';
import { type SgmatOptions, type SgmatProgramKey, subgroupMatrixProblem } from '../../src/kernels/matmul-subgroup-matrix.js';
import { testGpu } from '../helpers/gpu.js';

/** An emulated program for the options, at a small fragment (lavapipe compiles the emulation slowly). */
async function emulated(_gpu: Gpu, o: SgmatOptions): Promise<SgmatProgramKey> {
  if (o.TM === 3) throw new Error('refused: three rows of fragments');
  return {
    variant: o.variant ?? 'direct',
    frag: { M: 4, N: 4, K: 4 },
    TM: o.TM ?? 2,
    TN: o.TN ?? 2,
    KS: o.KS ?? 1,
    ...(o.SGM ? { SGM: o.SGM, SGN: o.SGN } : {}),
    ...(o.db ? { db: true } : {}),
    ...(o.pad ? { pad: o.pad } : {}),
    subgroupSize: 32,
    syntax: 'emulated',
  };
}

describe('subgroup-matrix tuning (bench matmul-sgmat, matmul-sgmat-staged)', () => {
  it('without the feature, the tuning refuses in one line naming what to set', async ({ skip }) => {
    const gpu = await testGpu();
    if (!gpu) return skip();
    const problem = subgroupMatrixProblem(gpu);
    if (!problem) return skip(); // a GPU with subgroup matrices: the real tuning is the bench's
    await expect(tuneSubgroupMatrixMatmul(gpu, 'staged', { M: 256, N: 256, K: 256 })).rejects.toThrow(
      `matmul (subgroup matrix): ${problem}`,
    );
  });

  it('checks, times and picks among the candidates; a refused or misfitting one is marked, not fatal', async ({ skip }) => {
    const gpu = await testGpu();
    if (!gpu) return skip();
    const candidates: SgmatOptions[] = [
      { TM: 2, TN: 2, KS: 2 },
      { TM: 2, TN: 2, KS: 2, db: true, pad: 8 },
      { TM: 3, TN: 1 },
      { TM: 2, TN: 4, KS: 1, db: true }, // block 16 x 32: no divisor of N = 48
    ];
    const r = await tuneSubgroupMatrixMatmul(
      gpu,
      'staged',
      { M: 32, N: 48, K: 24 },
      { candidates, repeats: 2, prepare: emulated },
    );
    expect(r.shape).toBe('32x48x24');
    expect(r.trials.map((t) => t.name)).toEqual([
      '2x2 subgroups of 2x2 ks2',
      '2x2 subgroups of 2x2 ks2 db,pad8',
      '{"TM":3,"TN":1}',
      '2x2 subgroups of 2x4 ks1 db',
    ]);
    for (const t of r.trials.slice(0, 2)) {
      expect(t.error).toBeUndefined();
      expect(t.ms).toBeGreaterThan(0);
    }
    expect(r.trials[2]).toMatchObject({ ms: Infinity, error: 'refused: three rows of fragments' });
    expect(r.trials[3].error).toMatch(/M, N, K = 32, 48, 24 must be multiples of 16, 32, 4/);
    const fastest = r.trials[0].ms <= r.trials[1].ms ? 0 : 1;
    expect(r.key).toEqual(await emulated(gpu, { ...candidates[fastest], variant: 'staged' }));
    expect(sgmatTrialsLine(r.trials)).toMatch(
      /^2x2 subgroups of 2x2 ks2 [\d.]+ ms; 2x2 subgroups of 2x2 ks2 db,pad8 [\d.]+ ms; \{"TM":3,"TN":1\}: refused: three rows of fragments; 2x2 subgroups of 2x4 ks1 db: M, N, K/,
    );
  });

  it('keeps one pick per shape: two shapes with different fastest candidates each get theirs', async ({ skip }) => {
    const gpu = await testGpu();
    if (!gpu) return skip();
    const candidates: SgmatOptions[] = [
      { TM: 2, TN: 2, KS: 1 },
      { TM: 2, TN: 2, KS: 2 },
    ];
    // Fake times: on K = 16 the ks1 program is the faster, on K = 24 the ks2 one.
    const fastKs = (K: number) => (K === 16 ? 1 : 2);
    let prepared = 0;
    let timed = 0;
    const memo = new Map<string, Promise<SgmatTuning>>();
    const o = {
      candidates,
      repeats: 3,
      memo,
      prepare: (g: Gpu, c: SgmatOptions) => (prepared++, emulated(g, c)),
      time: async (_g: Gpu, run: () => void, key: SgmatProgramKey, shape: { K: number }) => {
        run();
        timed++;
        return key.KS === fastKs(shape.K) ? 1 : 2;
      },
    };
    const small = await tuneSubgroupMatrixMatmul(gpu, 'staged', { M: 32, N: 32, K: 16 }, o);
    const deep = await tuneSubgroupMatrixMatmul(gpu, 'staged', { M: 32, N: 32, K: 24 }, o);
    expect([small.shape, small.key.KS, small.trials.map((t) => t.ms)]).toEqual(['32x32x16', 1, [1, 2]]);
    expect([deep.shape, deep.key.KS, deep.trials.map((t) => t.ms)]).toEqual(['32x32x24', 2, [2, 1]]);
    expect([prepared, timed]).toEqual([4, 12]);
    // Each shape again: the kept pick, nothing rebuilt or timed.
    expect(await tuneSubgroupMatrixMatmul(gpu, 'staged', { M: 32, N: 32, K: 16 }, o)).toBe(small);
    expect(await tuneSubgroupMatrixMatmul(gpu, 'staged', { M: 32, N: 32, K: 24 }, o)).toBe(deep);
    expect([prepared, timed]).toEqual([4, 12]);
    expect([...memo.keys()]).toEqual(['staged 32x32x16', 'staged 32x32x24']);
  });
});
