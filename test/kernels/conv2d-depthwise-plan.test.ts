/**
 * The generated depthwise programs (src/kernels/conv2d-depthwise-program.ts) as text, and their
 * planner, without a GPU: registers only (no private arrays), straight-line taps, tiles within the
 * workgroup memory they declare, and the fallback where a row does not fit.
 */
import { describe, expect, it } from 'vitest';
import {
  DW_TILE_SIZES,
  DW_WG,
  type DwDims,
  type DwPass,
  dwBankConflict,
  dwProgram,
  dwProgramName,
  dwRun,
  planDepthwise,
} from '../../src/kernels/conv2d-depthwise-program.js';
import { conv2dOutShape } from '../../src/kernels/params.js';

const PASSES: DwPass[] = ['fwd', 'bwd_input', 'bwd_weight'];

function dims(N: number, C: number, H: number, W: number, KS: number, ST: number, PD: number): DwDims {
  const [, , OH, OW] = conv2dOutShape([N, C, H, W], [C, 1, KS, KS], { stride: ST, pad: PD, groups: C });
  return { N, C, H, W, OH, OW, KS, ST, PD };
}

describe('generated depthwise programs', () => {
  it('keep every value in a named scalar: no private arrays, one loop over kernel rows', () => {
    for (const pass of PASSES) {
      for (const [KS, ST, PD] of [
        [3, 1, 1],
        [5, 2, 2],
        [7, 1, 3],
        [7, 2, 3],
        [4, 2, 1],
        [1, 2, 0],
      ]) {
        const key = { pass, KS, ST, PD, R: dwRun(KS), tile: 4032 };
        const src = dwProgram(key);
        const where = dwProgramName(key);
        // The only arrays: the storage buffers, the workgroup tile (and the forward / input gradient's taps).
        expect(src.match(/array</g)?.length, where).toBe(pass === 'bwd_weight' ? 4 : 5);
        expect(src, where).toMatch(/^var<workgroup> tile: array<f32, 4032>;$/m);
        expect(src, where).not.toMatch(/var<private>|var<function>|var\s+\w+\s*:\s*array/);
        // Loops: the loader and the tasks; kernel rows (fwd, bwd_input) or rounds and lane sums (bwd_weight).
        expect(src.match(/\bfor \(/g)?.length, where).toBe(pass === 'bwd_weight' ? 4 : 3);
        // A kernel row's KS taps: each weight (fwd, bwd_input) or accumulator (bwd_weight) its own
        // register, and every FMA written out: KS x R per row.
        const reg = pass === 'bwd_weight' ? 'a' : 'v';
        expect(src, where).toContain(`${reg}${KS - 1} `);
        expect(src, where).not.toContain(`${reg}${KS} `);
        const fmas = src.match(/= fma\(/g)?.length ?? 0;
        if (pass === 'bwd_input') expect(fmas, where).toBeLessThanOrEqual(KS * key.R);
        else expect(fmas, where).toBe(KS * key.R);
      }
    }
    expect(dwProgramName({ pass: 'bwd_input', KS: 5, ST: 2, PD: 2, R: 8, tile: 2048 })).toBe(
      'conv2d_dw_bwd_input_k5s2p2_r8_t2048.wgsl',
    );
    expect(() => dwProgram({ pass: 'fwd', KS: 3, ST: 2, PD: 1, R: 3, tile: 1024 })).toThrow(/unsupported/);
    expect(() => dwProgram({ pass: 'fwd', KS: 9, ST: 1, PD: 4, R: 8, tile: 1024 })).toThrow(/unsupported/);
  });

  it('use the FMA order of conv2d_depthwise.wgsl: kernel rows in order, then (kw, r)', () => {
    const src = dwProgram({ pass: 'fwd', KS: 3, ST: 2, PD: 1, R: 4, tile: 1024 });
    expect(src).toContain('for (var kh = 0u; kh < 3u; kh++) {');
    const fmas = [...src.matchAll(/a(\d) = fma\(x(\d+), v(\d+), a\d\);/g)].map((m) => m.slice(1).map(Number));
    const want: number[][] = [];
    for (let kw = 0; kw < 3; kw++) for (let r = 0; r < 4; r++) want.push([r, r * 2 + kw, kw]);
    expect(fmas).toEqual(want);
  });
});

describe('depthwise planner', () => {
  // The bench's depthwise shapes (large and default), MobileNet's 224 stages, odd and tiny planes.
  const SHAPES: DwDims[] = [
    dims(128, 144, 56, 56, 3, 1, 1),
    dims(128, 240, 28, 28, 5, 1, 2),
    dims(128, 480, 14, 14, 7, 1, 3),
    dims(128, 960, 7, 7, 3, 1, 1),
    dims(32, 240, 28, 28, 7, 2, 3),
    dims(64, 32, 112, 112, 3, 1, 1),
    dims(64, 96, 112, 112, 7, 2, 3),
    dims(64, 144, 56, 56, 5, 2, 2),
    dims(3, 2, 13, 17, 3, 2, 1),
    dims(4, 1, 1, 1, 7, 2, 3),
    dims(1, 2, 40, 600, 7, 2, 3),
  ];

  it('tiles fit their declared size, hold every window, and cover every row in bands', () => {
    for (const d of SHAPES) {
      for (const pass of PASSES) {
        const plan = planDepthwise(pass, d);
        const where = `${pass} ${JSON.stringify(d)}`;
        if (!plan) {
          // Only the 600-wide 7x7 stride-2 rows: x's row of 613 does not fit 7 times in 4032.
          expect([d.W, pass === 'bwd_input'], where).toEqual([600, false]);
          continue;
        }
        const { key, imgs, rows, bands, chunks, BR, SW, used } = plan;
        expect(DW_TILE_SIZES, where).toContain(key.tile);
        expect(used, where).toBeLessThanOrEqual(key.tile);
        // The next smaller size would not hold it.
        expect(used, where).toBeGreaterThan(DW_TILE_SIZES.filter((s) => s < key.tile).at(-1) ?? 0);
        expect(key.R % key.ST, where).toBe(0);
        const [outRows, outCols] = pass === 'bwd_input' ? [d.H, d.W] : [d.OH, d.OW];
        expect(chunks, where).toBe(Math.ceil(outCols / key.R));
        expect(bands * rows, where).toBeGreaterThanOrEqual(outRows);
        expect((bands - 1) * rows, where).toBeLessThan(outRows);
        if (bands > 1) expect(imgs, where).toBe(1);
        if (pass === 'bwd_input' && bands > 1) expect(rows % d.ST, where).toBe(0);
        if (pass !== 'bwd_input') {
          // The last run's window and the band's last row stay inside a tile image.
          expect((chunks * key.R - 1) * d.ST + d.KS, where).toBeLessThanOrEqual(SW);
          expect(BR, where).toBe((rows - 1) * d.ST + d.KS);
        }
        expect(imgs, where).toBeLessThanOrEqual(Math.max(1, Math.floor(DW_WG / (rows * chunks))));
      }
    }
  });

  it('picks R per kernel size and whole planes for MobileNet stages, bands for 112x112', () => {
    expect([1, 2, 3, 4, 5, 7].map(dwRun)).toEqual([4, 4, 4, 8, 8, 8]);
    const k7 = planDepthwise('fwd', dims(128, 480, 14, 14, 7, 1, 3))!;
    // 14x14: 28 runs of 8 a plane, 4 planes per workgroup, 20 x 22 tile rows each.
    expect([k7.imgs, k7.rows, k7.bands, k7.chunks, k7.BR, k7.SW >= 22, k7.key.tile]).toEqual([4, 14, 1, 2, 20, true, 2048]);
    const k3 = planDepthwise('fwd', dims(128, 144, 56, 56, 3, 1, 1))!;
    expect([k3.imgs, k3.rows, k3.bands, k3.key.tile]).toEqual([1, 56, 1, 4032]);
    const big = planDepthwise('fwd', dims(64, 32, 112, 112, 3, 1, 1))!;
    expect([big.imgs, big.rows, big.bands, big.key.tile]).toEqual([1, 28, 4, 4032]);
    expect(planDepthwise('fwd', dims(1, 1, 5, 700, 7, 1, 3))).toBeNull();
  });

  it('pads the row stride where that spreads the first warp over more banks', () => {
    // 56x56 3x3: 14 runs of 4 per row, lanes 16 B apart: two lanes per bank at best.
    const p = planDepthwise('fwd', dims(128, 144, 56, 56, 3, 1, 1))!;
    expect(dwBankConflict('fwd', 1, 4, p.rows, p.chunks, p.BR, p.SW)).toBe(2);
    expect(dwBankConflict('fwd', 1, 4, p.rows, p.chunks, p.BR, 64)).toBeGreaterThan(2);
    for (const d of SHAPES) {
      for (const pass of PASSES) {
        const q = planDepthwise(pass, d);
        if (!q) continue;
        const minimal = pass === 'bwd_input' ? q.SW : (q.chunks * q.key.R - 1) * d.ST + d.KS;
        const at = (sw: number) => dwBankConflict(pass, d.ST, q.key.R, q.rows, q.chunks, q.BR, sw);
        expect(at(q.SW)).toBeLessThanOrEqual(at(minimal));
      }
    }
  });
});
