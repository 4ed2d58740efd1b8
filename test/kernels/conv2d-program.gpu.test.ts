/**
 * The generated implicit-GEMM convolution programs (src/kernels/conv2d-program.ts) against the
 * TypeScript reference on awkward shapes, every pass, and against the legacy hand-written core
 * (WGNAS_CONV_CORE=legacy) on the same inputs. Shapes are few per tile: each program costs seconds
 * to compile on lavapipe.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, type ConvTile } from '../../src/kernels/conv2d.js';
import { convProgram, convProgramName } from '../../src/kernels/conv2d-program.js';
import { defaultConvCore, parseConvCore } from '../../src/kernels/conv2d-gemm.js';
import { hasF16 } from '../../src/kernels/f16.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { type ConvCase, convLabel } from '../helpers/cases.js';
import { convProblem, expectConvPassesMatchCpu, f16ForwardErrors } from '../helpers/conv.js';
import { withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

// K = Cin * k * k is not a multiple of 4 in most of these; channels odd; M and N cross tile edges.
const CASES: ConvCase[] = [
  { x: [1, 3, 7, 5], cout: 5, k: 3, p: { stride: 1, pad: 1 } }, // batch 1, odd everything, K = 27
  { x: [2, 5, 9, 7], cout: 7, k: 3, p: { stride: 2, pad: 1 } }, // stride 2, odd planes
  { x: [3, 7, 6, 6], cout: 9, k: 1, p: { stride: 1, pad: 0 } }, // 1x1, K = 7
  { x: [2, 6, 7, 9], cout: 3, k: 1, p: { stride: 2, pad: 0 } }, // 1x1 with stride
  { x: [1, 2, 11, 8], cout: 19, k: 5, p: { stride: 3, pad: 2 } }, // stride 3 (no shift), 5x5
  { x: [2, 3, 5, 6], cout: 4, k: 3, p: { stride: 1, pad: 3 } }, // padding > kernel: zero taps
  { x: [1, 1, 4, 4], cout: 1, k: 7, p: { stride: 1, pad: 3 } }, // kernel > image, C = 1
  { x: [2, 6, 7, 5], cout: 9, k: 3, p: { stride: 2, pad: 1, groups: 3 } }, // grouped GEMM
  { x: [2, 37, 5, 4], cout: 70, k: 3, p: { stride: 1, pad: 1 } }, // > one 64-row tile, K = 333
];

// The narrow tile (16 x 64, 64 threads: 16 B loads per thread, 4 k rows per step), the default
// 64 x 64 and the 8 x 8-outputs 128 x 128 block (B loads stepping 2 rows of k).
const TILE_NARROW: ConvTile = { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 };
const TILE_WIDE: ConvTile = { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 };
const TILE_DEFAULT: ConvTile = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };

/** Every pass of the program core with `tile`, against the CPU references. */
const checkAllPasses = (g: Gpu, c: ConvCase, tile: ConvTile, seed: number) =>
  expectConvPassesMatchCpu(g, c, { algo: 'tiled', tile, core: 'program' }, seed);

describe('generated convolution programs', () => {
  it('are generated per pass, tile and element type, with the layout rules enforced', () => {
    const src = convProgram({ pass: 'bwd_weight', tile: TILE_DEFAULT, elem: 'f32' });
    expect(convProgramName({ pass: 'bwd_weight', tile: TILE_DEFAULT, elem: 'f32' })).toBe(
      'conv2d_bwd_weight_f32_64x64x16_4x4.wgsl',
    );
    // Named vec4 accumulators, no function-scope arrays, and no division inside the k loop.
    expect(src).toMatch(/var acc3_0 = vec4<f32>\(\);/);
    expect(src).not.toMatch(/var\s+\w+\s*:\s*array/);
    const loop = src.slice(src.indexOf('for (var k0'), src.indexOf('let r0 ='));
    expect(loop).not.toMatch(/[/%] *(p\.|hw|ohw|kk)/);
    expect(convProgram({ pass: 'fwd', tile: TILE_NARROW, elem: 'f16' })).toMatch(/^enable f16;/);
    expect(() => convProgram({ pass: 'fwd', tile: { BM: 8, BN: 64, BK: 16, TM: 4, TN: 4 }, elem: 'f32' })).toThrow(
      /does not suit/,
    );
  });

  it('default to the program core unless WGNAS_CONV_CORE says legacy', () => {
    expect(defaultConvCore()).toBe(process.env.WGNAS_CONV_CORE === 'legacy' ? 'legacy' : 'program');
    expect([parseConvCore(undefined), parseConvCore(''), parseConvCore('program'), parseConvCore('legacy')]).toEqual([
      'program',
      'program',
      'program',
      'legacy',
    ]);
    expect(() => parseConvCore('tiled')).toThrow(/^WGNAS_CONV_CORE must be 'program' or 'legacy', got 'tiled'$/);
  });

  for (const [i, c] of CASES.entries()) {
    it(`match the reference in every pass (narrow tile): ${convLabel(c)}`, async ({ skip }) => {
      if (!gpu) return skip();
      await checkAllPasses(gpu, c, TILE_NARROW, 100 + i);
    });
  }

  it('match the reference on the 8 x 8-output and the 64 x 64 tiles', async ({ skip }) => {
    if (!gpu) return skip();
    await checkAllPasses(gpu, CASES[1], TILE_WIDE, 200);
    await checkAllPasses(gpu, CASES[8], TILE_WIDE, 201);
    await checkAllPasses(gpu, CASES[7], TILE_DEFAULT, 202);
  });

  it('split the weight gradient over k (batch) and fold the column grid into z', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    // K = 6 * 24 * 24 = 3456 splits in 6 chunks of 576 (a multiple of BK, not of OH*OW).
    await checkAllPasses(g, { x: [6, 3, 24, 24], cout: 5, k: 3, p: { stride: 1, pad: 1 } }, TILE_NARROW, 300);
    await withWorkgroupLimit(g, 3, () =>
      checkAllPasses(g, { x: [3, 4, 13, 11], cout: 5, k: 3, p: { stride: 1, pad: 1 } }, TILE_NARROW, 301),
    );
  });

  it("give the legacy core's values (WGNAS_CONV_CORE=legacy) on the same inputs", async ({ skip }) => {
    if (!gpu) return skip();
    for (const [i, c] of [CASES[1], CASES[4], CASES[7]].entries()) {
      const { wShape, yShape, x, w, dy } = convProblem(c, 400 + i);
      const [gx, gw, gdy] = [gpu.upload(x, c.x), gpu.upload(w, wShape), gpu.upload(dy, yShape)];
      const run = async (core: 'program' | 'legacy') => {
        const o = { algo: 'tiled' as const, tile: TILE_NARROW, core };
        const out = [
          conv2d(gpu!, gx, gw, c.p, o),
          conv2dBackwardInput(gpu!, gdy, gw, c.x, c.p, o),
          conv2dBackwardWeight(gpu!, gx, gdy, wShape, c.p, o),
        ];
        const vals = await Promise.all(out.map((t) => t.read()));
        for (const t of out) t.dispose();
        return vals;
      };
      const [a, b] = [await run('program'), await run('legacy')];
      for (let j = 0; j < 3; j++) expectClose(a[j], b[j], { atol: 1e-5, rtol: 1e-5, label: `${convLabel(c)} pass ${j}` });
      for (const t of [gx, gw, gdy]) t.dispose();
    }
  });

  it('f16 forward stays within the f16 error bound where shader-f16 exists', async ({ skip }) => {
    if (!gpu || !hasF16(gpu)) return skip();
    for (const [i, c] of [CASES[0], CASES[4], CASES[8]].entries()) {
      const { wShape, x, w } = convProblem(c, 500 + i);
      const [gx, gw] = [gpu.upload(x, c.x), gpu.upload(w, wShape)];
      const gy = conv2d(gpu, gx, gw, c.p, { precision: 'f16', tile: TILE_NARROW, core: 'program' });
      const { bad } = f16ForwardErrors(await gy.read(), c, x, w);
      expect(bad, convLabel(c)).toBe(0);
      for (const t of [gx, gw, gy]) t.dispose();
    }
  });
});
