/**
 * The matmul program options the autotuner may pick (src/kernels/matmul-program.ts: db, double-
 * buffered shared tiles with register prefetch; unroll, the k loop written out), against the CPU
 * reference on lavapipe, for every candidate tile that has one (MATMUL_TILE_CANDIDATES): edges in
 * M, N and K (none a multiple of the block), K < BK, batches (and a broadcast operand), all four
 * layouts, vec4 and scalar paths, alpha / beta, and split-K (k chunks that start past 0).
 *
 * Lavapipe has 32 KiB of workgroup memory: a program that declares more (the 128 x 128 x 16 db
 * tiles: 33 KiB in f32, for the H100's and H200's 48 KiB) runs here with f16 operands, the same
 * generated index math on half the bytes, with values exact in f16 (so the sums are exact).
 * The single-buffered unrolled tiles fit the host's estimate (two buffers) only at the H100's limit:
 * that is the limit the host is shown while they run. Few, small shapes: unrolled programs take
 * seconds each to compile here.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MATMUL_TILE_CANDIDATES } from '../../src/bench/autotune.js';
import type { Gpu } from '../../src/gpu/index.js';
import { hasF16 } from '../../src/kernels/f16.js';
import { matmul, matmulCpu, type MatmulTile } from '../../src/kernels/matmul.js';
import { matmulProgram, matmulProgramStorageBytes } from '../../src/kernels/matmul-program.js';
import { matmulTileMisfit, tileName } from '../../src/kernels/matmul-tiles.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

const H100 = JSON.parse(readFileSync('bench/results/nvidia-h100/2026-12-06/info.json', 'utf8')).adapter.limits;

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** B is 2-D, shared by the batch. */
  broadcastB?: boolean;
  alpha?: number;
  beta?: number;
  kChunk?: number;
}

const CASES: Case[] = [
  // scalar loads and stores (no contiguous axis a multiple of 4), several k-tiles, the last partial
  { batch: 2, M: 67, N: 45, K: 37 },
  // vec4 paths, M past a 256-row block and N past a 128-column one, K (44) no multiple of BK
  { batch: 1, M: 260, N: 132, K: 44 },
  // both operands transposed (vec4), batched
  { batch: 2, M: 36, N: 140, K: 20, transA: true, transB: true },
  // transA alone (scalar A: M odd) and transB alone
  { batch: 1, M: 33, N: 24, K: 19, transA: true },
  { batch: 1, M: 28, N: 31, K: 53, transB: true },
  // K < BK: one partial k-tile (db: the prologue's load only)
  { batch: 1, M: 20, N: 24, K: 3 },
  // C = alpha AB + beta C
  { batch: 1, M: 36, N: 44, K: 28, alpha: 0.5, beta: 2 },
  // split-K: chunks of 16 (a k range starting past 0 per split), a 2-D B broadcast over 3 products
  { batch: 3, M: 28, N: 36, K: 72, kChunk: 16, broadcastB: true },
];
/**
 * Unrolled tiles: the loads are those of the same tile without the option (tested above, or by
 * matmul.gpu.test.ts), the written-out products differ only by the shared strides (transA, transB):
 * both stride pairs, K < BK and split-K suffice (3 programs, not 7; each takes seconds to compile).
 */
const UNROLLED_CASES = [1, 2, 5, 7].map((i) => CASES[i]);

/** Values exact in f16 (multiples of 1/8 in [-2, 2]): f16 operands and f32 sums are then exact at these sizes. */
function draw(rng: Rng, n: number, exact: boolean): Float32Array {
  if (!exact) return rng.normals(n);
  return Float32Array.from({ length: n }, () => (rng.int(33) - 16) / 8);
}

async function expectCase(g: Gpu, tile: MatmulTile, c: Case, seed: number, precision: 'f32' | 'f16'): Promise<void> {
  const rng = new Rng(seed);
  const exact = precision === 'f16';
  const aShape = c.transA ? [c.batch, c.K, c.M] : [c.batch, c.M, c.K];
  const bOne = c.transB ? [c.N, c.K] : [c.K, c.N];
  const bShape = c.broadcastB ? bOne : [c.batch, ...bOne];
  const a = draw(rng, c.batch * c.M * c.K, exact);
  const b = draw(rng, (c.broadcastB ? 1 : c.batch) * c.K * c.N, exact);
  const c0 = draw(rng, c.batch * c.M * c.N, exact);
  const [ga, gb] = [g.upload(a, aShape), g.upload(b, bShape)];
  const out = c.beta ? g.upload(c0, [c.batch, c.M, c.N]) : undefined;
  const o = { transA: c.transA, transB: c.transB, alpha: c.alpha, beta: c.beta, kChunk: c.kChunk, tile, precision };
  const gc = matmul(g, ga, gb, { ...o, out });
  const got = await gc.read();
  for (const t of [ga, gb, gc]) t.dispose();
  const want = matmulCpu(a, aShape, b, bShape, { transA: c.transA, transB: c.transB, alpha: c.alpha });
  if (c.beta) for (let i = 0; i < want.length; i++) want[i] += c.beta * c0[i];
  const label = `${tileName(tile)} ${precision} ${JSON.stringify(c)}`;
  expectClose(got, want, exact ? { atol: 1e-6, rtol: 0, label } : { atol: 1e-5 * c.K, rtol: 1e-5, label });
}

/** Runs fn with the host's view of the workgroup-memory limit at the H100's (Dawn still checks the real use). */
async function withH100Storage<T>(g: Gpu, fn: () => Promise<T>): Promise<T> {
  const limits = g.adapter.limits;
  const saved = limits.maxComputeWorkgroupStorageSize;
  limits.maxComputeWorkgroupStorageSize = H100.maxComputeWorkgroupStorageSize;
  try {
    return await fn();
  } finally {
    limits.maxComputeWorkgroupStorageSize = saved;
  }
}

/** The most workgroup memory any layout's program of the tile declares. */
function programBytes(tile: MatmulTile, elem: 'f32' | 'f16'): number {
  return Math.max(...[false, true].map((transA) => matmulProgramStorageBytes({ tile, transA, transB: !transA, elem })));
}

const VARIANTS = MATMUL_TILE_CANDIDATES.filter((t) => t.db || t.unroll);

describe('matmul program options (db, unroll): generated programs', () => {
  it('the candidates include double-buffered and unrolled tiles, each fitting the H100 (and the plain programs stay as they were)', () => {
    expect(VARIANTS.length).toBeGreaterThanOrEqual(6);
    for (const t of VARIANTS) expect(matmulTileMisfit(t, H100), tileName(t)).toBeNull();
    expect(VARIANTS.map(tileName)).toContain('128x128x8/8x8+db');
    expect(VARIANTS.map(tileName)).toContain('128x128x8/8x8+db+u');
    const key = { transA: false, transB: false, vecA: true, vecB: true, vecC: true, beta: false, elem: 'f32' as const };
    const plain = matmulProgram({ ...key, tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 } });
    const db = matmulProgram({ ...key, tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, db: true } });
    const u = matmulProgram({ ...key, tile: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, db: true, unroll: true } });
    // One buffer (8 k x 33 vec4s of A, 32 of B) or two; two barriers per k-tile or one.
    expect(plain).toContain('var<workgroup> As: array<vec4<f32>, 264>;');
    expect(db).toContain('var<workgroup> As: array<vec4<f32>, 528>;');
    expect(db).toContain('var<workgroup> Bs: array<vec4<f32>, 512>;');
    expect(plain.match(/workgroupBarrier/g)).toHaveLength(2);
    expect(db.match(/workgroupBarrier/g)).toHaveLength(2); // the prologue's and the loop's one
    expect(db).toContain('for (var k = 0u; k < 8u; k++)');
    expect(u).not.toContain('for (var k = 0u;');
    expect(u.match(/acc7_1 = fma/g)).toHaveLength(8);
    expect(u).toMatch(/matmul_f32_128x128x8_8x8_db_u_001110\.wgsl/);
    expect(
      matmulProgramStorageBytes({ tile: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 4, db: true }, transA: false, transB: false }),
    ).toBe(2 * 16 * (33 + 32) * 16);
  });
});

describe('matmul program options (db, unroll) vs the CPU reference, on awkward shapes', () => {
  for (const [i, tile] of VARIANTS.entries()) {
    it(tileName(tile), async ({ skip }) => {
      const g = gpu;
      if (!g) return skip();
      const limit = g.adapter.limits.maxComputeWorkgroupStorageSize;
      const f32Fits = programBytes(tile, 'f32') <= limit;
      if (!f32Fits && !hasF16(g)) return skip();
      const precision = f32Fits ? 'f32' : 'f16';
      if (!f32Fits) expect(programBytes(tile, 'f16')).toBeLessThanOrEqual(limit);
      await withH100Storage(g, async () => {
        for (const [j, c] of (tile.unroll ? UNROLLED_CASES : CASES).entries())
          await expectCase(g, tile, c, 1000 * i + j, precision);
      });
    });
  }
});
