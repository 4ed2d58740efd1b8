/**
 * The generated implicit-GEMM convolution programs (src/kernels/conv2d-program.ts) against the
 * TypeScript reference on awkward shapes, every pass, and against the legacy hand-written core
 * (WGNAS_CONV_CORE=legacy) on the same inputs. Shapes are few per tile: each program costs seconds
 * to compile on lavapipe.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardInputCpu,
  conv2dBackwardWeight,
  conv2dBackwardWeightCpu,
  conv2dCpu,
  conv2dOutShape,
  type Conv2dParams,
  type ConvTile,
} from '../../src/kernels/conv2d.js';
import { convProgram, convProgramName } from '../../src/kernels/conv2d-program.js';
import { defaultConvCore, parseConvCore } from '../../src/kernels/conv2d-gemm.js';
import { f16DotErrorBound, hasF16 } from '../../src/kernels/f16.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { prod, withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  x: [number, number, number, number];
  cout: number;
  k: number;
  p: Conv2dParams;
}

const label = (c: Case) => `x[${c.x}] cout=${c.cout} k=${c.k} s=${c.p.stride} p=${c.p.pad} g=${c.p.groups ?? 1}`;
const wShapeOf = (c: Case) => [c.cout, c.x[1] / (c.p.groups ?? 1), c.k, c.k];

// K = Cin * k * k is not a multiple of 4 in most of these; channels odd; M and N cross tile edges.
const CASES: Case[] = [
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

function problem(c: Case, seed: number) {
  const rng = new Rng(seed);
  const wShape = wShapeOf(c);
  const yShape = conv2dOutShape(c.x, wShape, c.p);
  return { wShape, yShape, x: rng.normals(prod(c.x)), w: rng.normals(prod(wShape), 0.5), dy: rng.normals(prod(yShape)) };
}

async function checkAllPasses(g: Gpu, c: Case, tile: ConvTile, seed: number): Promise<void> {
  const { wShape, yShape, x, w, dy } = problem(c, seed);
  const [gx, gw, gdy] = [g.upload(x, c.x), g.upload(w, wShape), g.upload(dy, yShape)];
  const o = { algo: 'tiled' as const, tile, core: 'program' as const };
  const gy = conv2d(g, gx, gw, c.p, o);
  const gdx = conv2dBackwardInput(g, gdy, gw, c.x, c.p, o);
  const gdw = conv2dBackwardWeight(g, gx, gdy, wShape, c.p, o);
  const fanIn = prod(wShape.slice(1));
  const taps = prod(yShape) / wShape[0];
  expectClose(await gy.read(), conv2dCpu(x, c.x, w, wShape, c.p), { atol: 2e-5 * fanIn, label: `${label(c)} y` });
  expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, c.x, c.p), { atol: 2e-5 * fanIn, label: `${label(c)} dx` });
  expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, c.x, dy, wShape, c.p), { atol: 2e-5 * taps, label: `${label(c)} dw` });
  for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
}

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
    it(`match the reference in every pass (narrow tile): ${label(c)}`, async ({ skip }) => {
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
      const { wShape, yShape, x, w, dy } = problem(c, 400 + i);
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
      for (let j = 0; j < 3; j++) expectClose(a[j], b[j], { atol: 1e-5, rtol: 1e-5, label: `${label(c)} pass ${j}` });
      for (const t of [gx, gw, gdy]) t.dispose();
    }
  });

  it('f16 forward stays within the f16 error bound where shader-f16 exists', async ({ skip }) => {
    if (!gpu || !hasF16(gpu)) return skip();
    for (const [i, c] of [CASES[0], CASES[4], CASES[8]].entries()) {
      const { wShape, x, w } = problem(c, 500 + i);
      const [gx, gw] = [gpu.upload(x, c.x), gpu.upload(w, wShape)];
      const gy = conv2d(gpu, gx, gw, c.p, { precision: 'f16', tile: TILE_NARROW, core: 'program' });
      const got = await gy.read();
      const want = conv2dCpu(x, c.x, w, wShape, c.p);
      const mag = conv2dCpu(x.map(Math.abs), c.x, w.map(Math.abs), wShape, c.p);
      const bound = f16DotErrorBound(prod(wShape.slice(1)));
      let bad = 0;
      for (let j = 0; j < want.length; j++) if (!(Math.abs(got[j] - want[j]) <= bound * mag[j] + 1e-6)) bad++;
      expect(bad, label(c)).toBe(0);
      for (const t of [gx, gw, gy]) t.dispose();
    }
  });
});
