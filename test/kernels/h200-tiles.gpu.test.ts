/**
 * The tiles the H200 may run that lavapipe never picks, here against the CPU reference. On a
 * hardware adapter the autotune winner (any of MATMUL_TILE_CANDIDATES) is the matmul tile of large
 * products, and its register tile (or the fastest candidate without program options) the convolution
 * tile where M >= 128 and N >= 4096 (ImageNet's 1x1 convolutions, the bench's conv rows): the
 * 128 x 128 x 16 tiles only fit the H200's 48 KiB by the double-buffered estimate of
 * gemmTileStorageBytes, not lavapipe's 32 KiB, and the conv programs of most candidates are no tile
 * convTile picks. Their single-buffered programs declare half that estimate, so lavapipe runs them
 * once the host's check is given the H200's limit (the double-buffered ones: matmul-variants.gpu.test.ts).
 * Few shapes: each program compiles for seconds.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkMatmulTile, MATMUL_TILE_CANDIDATES } from '../../src/bench/autotune.js';
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
} from '../../src/kernels/conv2d.js';
import { type GemmTile, gemmTileMisfit, gemmTileName } from '../../src/kernels/gemm-tile.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { prod } from '../helpers/layers.js';

const H200 = JSON.parse(readFileSync('bench/results/nvidia-h200/2026-12-04/info.json', 'utf8')).adapter.limits;

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

/** Runs fn with the host's view of the workgroup-memory limit at the H200's (Dawn still checks the real use). */
async function withH200Storage<T>(g: Gpu, fn: () => Promise<T>): Promise<T> {
  const limits = g.adapter.limits;
  const saved = limits.maxComputeWorkgroupStorageSize;
  limits.maxComputeWorkgroupStorageSize = H200.maxComputeWorkgroupStorageSize;
  try {
    return await fn();
  } finally {
    limits.maxComputeWorkgroupStorageSize = saved;
  }
}

/** Tiles the existing conv tests run (conv2d-program.gpu.test.ts) or convTile picks on lavapipe. */
const CONV_COVERED = ['128x128x8/8x8', '64x64x16/4x4'];

// M (70) and N cross the tiles' edges, K = Cin * 9 = 333 is no multiple of BK; stride 2 in the second.
const CASES: Array<{ x: [number, number, number, number]; cout: number; p: Conv2dParams }> = [
  { x: [2, 37, 5, 4], cout: 70, p: { stride: 1, pad: 1 } },
  { x: [3, 5, 9, 7], cout: 9, p: { stride: 2, pad: 1 } },
];

async function checkConvPasses(g: Gpu, tile: GemmTile, seed: number): Promise<void> {
  for (const c of CASES) {
    const rng = new Rng(seed++);
    const wShape = [c.cout, c.x[1], 3, 3];
    const yShape = conv2dOutShape(c.x, wShape, c.p);
    const [x, w, dy] = [rng.normals(prod(c.x)), rng.normals(prod(wShape), 0.5), rng.normals(prod(yShape))];
    const [gx, gw, gdy] = [g.upload(x, c.x), g.upload(w, wShape), g.upload(dy, yShape)];
    const o = { algo: 'tiled' as const, tile, core: 'program' as const };
    const gy = conv2d(g, gx, gw, c.p, o);
    const gdx = conv2dBackwardInput(g, gdy, gw, c.x, c.p, o);
    const gdw = conv2dBackwardWeight(g, gx, gdy, wShape, c.p, o);
    const label = `${gemmTileName(tile)} x[${c.x}] cout ${c.cout}`;
    const fanIn = prod(wShape.slice(1));
    expectClose(await gy.read(), conv2dCpu(x, c.x, w, wShape, c.p), { atol: 2e-5 * fanIn, label: `${label} y` });
    expectClose(await gdx.read(), conv2dBackwardInputCpu(dy, w, wShape, c.x, c.p), { atol: 2e-5 * fanIn, label: `${label} dx` });
    expectClose(await gdw.read(), conv2dBackwardWeightCpu(x, c.x, dy, wShape, c.p), {
      atol: (2e-5 * prod(yShape)) / c.cout,
      label: `${label} dw`,
    });
    for (const t of [gx, gw, gdy, gy, gdx, gdw]) t.dispose();
  }
}

describe('the autotune candidates the H200 may pick, on lavapipe', () => {
  it('every candidate fits the H200 as a matmul and as a convolution tile', () => {
    for (const t of MATMUL_TILE_CANDIDATES) {
      expect(gemmTileMisfit(t, H200, 'matmul'), gemmTileName(t)).toBeNull();
      expect(gemmTileMisfit(t, H200, 'conv'), gemmTileName(t)).toBeNull();
    }
  });

  // Tiles with matmul program options (db, unroll): test/kernels/matmul-variants.gpu.test.ts. The conv
  // programs have none: their register tiles are checked once each (MatmulTuning.plainTile is one of them).
  const seen = new Set<string>();
  const registerTiles = MATMUL_TILE_CANDIDATES.map((t) => ({ BM: t.BM, BN: t.BN, BK: t.BK, TM: t.TM, TN: t.TN })).filter(
    (t) => !seen.has(gemmTileName(t)) && seen.add(gemmTileName(t)),
  );
  const plainNames = new Set(MATMUL_TILE_CANDIDATES.filter((t) => !t.db && !t.unroll).map((t) => gemmTileName(t)));
  for (const [i, tile] of registerTiles.entries()) {
    const name = gemmTileName(tile);
    it(`${name}: matmul (where lavapipe's own check refuses it) and the three convolution passes`, async ({ skip }) => {
      const g = gpu;
      if (!g) return skip();
      // The autotune tests run the candidates lavapipe's check admits: here the others.
      const lavapipeRefuses = plainNames.has(name) && gemmTileMisfit(tile, g.adapter.limits, 'matmul') !== null;
      await withH200Storage(g, async () => {
        if (lavapipeRefuses) {
          const r = await checkMatmulTile(g, tile);
          expect(r.maxAbsErr).toBeLessThan(1e-3);
          expect(r.ok).toBe(true);
        }
        if (!CONV_COVERED.includes(name)) await checkConvPasses(g, tile, 100 * i);
      });
    });
  }
});
