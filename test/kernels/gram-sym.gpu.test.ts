/**
 * The symmetric Gram kernel (gram-program.ts) against the Gram product on the matmul it replaces,
 * bit for bit: same FMA chain per output (k ascending per chunk, the matmul's zero padding), the
 * mirrored half with the operands swapped, the same chunks along D and the same reduction. Shapes
 * cross every edge: N not a multiple of 4 (scalar stores) and below one block, D not a multiple of
 * 4 (scalar loads), of 16 (the padded last k-tile), of the kernel's k-tile of 32, one and several
 * chunks (1500: chunks of 752, no multiple of 32), and zero rows of both signs (constant rows
 * normalised: (x - mean) * 0).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import {
  correlation,
  correlationCpu,
  correlationOffDiagInPlace,
  gram,
  GRAM_K_CHUNK,
  gramFlops,
  gramKChunks,
  gramSymMisfit,
  normalizeRowsInPlace,
  rowStats,
} from '../../src/kernels/correlation.js';
import { gramProgram, gramProgramKey, gramThreads } from '../../src/kernels/gram-program.js';
import { matmul, matmulCpu } from '../../src/kernels/matmul.js';
import { signCodesInPlace } from '../../src/kernels/proxy-ops.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Z with offsets per row, a row of +0, a row of -0 and a row of mixed-sign zeros where N allows. */
function rows(B: number, N: number, D: number, seed: number): Float32Array {
  const z = new Rng(seed).normals(B * N * D).map((v, i) => v * 0.1 + (((i / D) | 0) % 3) * 0.01);
  if (N >= 4) {
    z.fill(0, 1 * D, 2 * D);
    z.fill(-0, 2 * D, 3 * D);
    for (let k = 0; k < D; k++) z[(B * N - 1) * D + k] = k % 2 ? -0 : 0;
  }
  return z;
}

async function bothGrams(g: Gpu, z: Float32Array, shape: number[]): Promise<[Float32Array, Float32Array]> {
  const gz = g.upload(z, shape);
  const sym = gram(g, gz);
  const old = gram(g, gz, undefined, { kernel: 'matmul' });
  const r: [Float32Array, Float32Array] = [await sym.read(), await old.read()];
  expect(sym.shape).toEqual(old.shape);
  for (const t of [gz, sym, old]) t.dispose();
  return r;
}

describe('symmetric Gram kernel', () => {
  it('chunks along D as the matmul Gram did', () => {
    expect(gramKChunks(1024)).toEqual({ kChunk: 1024, splits: 1 });
    expect(gramKChunks(1500)).toEqual({ kChunk: 752, splits: 2 });
    expect(gramKChunks(16384)).toEqual({ kChunk: 1024, splits: 16 });
    expect(gramKChunks(2 * GRAM_K_CHUNK + 37)).toEqual({ kChunk: 704, splits: 3 });
    expect(gramKChunks(5)).toEqual({ kChunk: 16, splits: 1 });
  });

  it('programs: 136 threads for N = 64, 4 x 4 outputs each; FLOPs counted as run', () => {
    expect(gramThreads(gramProgramKey(64, 16384).NB)).toBe(136);
    expect(gramProgramKey(64, 16384)).toEqual({ NB: 16, BK: 64, vecZ: true, vecC: true, norm: false });
    expect(gramProgramKey(32, 10).BK).toBe(32);
    expect(gramProgramKey(5, 7, true)).toEqual({ NB: 2, BK: 16, vecZ: false, vecC: false, norm: true });
    expect(() => gramProgramKey(65, 8)).toThrow(RangeError);
    expect(gramProgram(gramProgramKey(64, 1024))).toContain('@workgroup_size(136)');
    expect(gramFlops(1, 64, 1000)).toBe(64 * 68 * 1000);
    expect(gramFlops(2, 64, 1000, 'matmul')).toBe(2 * 2 * 64 * 64 * 1000);
    expect(gramFlops(1, 65, 10)).toBe(2 * 65 * 65 * 10);
  });

  const SHAPES: Array<[number, number, number]> = [
    [1, 1, 3],
    [2, 3, 5],
    [3, 5, 7],
    [2, 8, 16],
    [2, 20, 37],
    [1, 33, 100],
    [2, 64, 1],
    [3, 64, 64],
    [2, 64, 1500],
    [1, 64, 1027],
    [2, 64, 2 * GRAM_K_CHUNK + 37],
    [1, 63, 2 * GRAM_K_CHUNK + 4],
    [1, 62, GRAM_K_CHUNK + 1],
    [1, 65, 40], // past the symmetric kernel's N: the matmul either way
  ];
  for (const [B, N, D] of SHAPES) {
    it(`B=${B} N=${N} D=${D}: bit for bit as the matmul Gram, close to the reference`, async ({ skip }) => {
      const g = gpu;
      if (!g) return skip();
      const z = rows(B, N, D, B * 1000 + N * 10 + D);
      const [sym, old] = await bothGrams(g, z, [B, N, D]);
      expect(bits(sym)).toEqual(bits(old));
      for (let b = 0; b < B; b++) {
        const zb = z.subarray(b * N * D, (b + 1) * N * D);
        const ref = matmulCpu(zb, [N, D], zb, [N, D], { transB: true });
        expectClose(sym.subarray(b * N * N, (b + 1) * N * N), ref, { atol: 1e-5 * Math.sqrt(D), rtol: 1e-5, label: 'G' });
      }
    });
  }

  it('empty rows or features keep the matmul path: an empty result, zeros for D = 0', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const x = g.upload(new Float32Array(0), [2, 3, 0]);
    const out = g.upload(new Float32Array(18).fill(7), [2, 3, 3]);
    correlationOffDiagInPlace(g, x, out);
    expect(Array.from(await out.read())).toEqual(new Array(18).fill(0));
    const none = g.upload(new Float32Array(0), [2, 0, 5]);
    const empty = g.upload(new Float32Array(0), [2, 0, 0]);
    correlationOffDiagInPlace(g, none, empty);
    expect(Array.from(await empty.read())).toEqual([]);
    for (const t of [x, out, none, empty]) t.dispose();
  });

  it('a 2-D z gives an [N, N] product', async ({ skip }) => {
    const g = gpu;
    if (!g) return skip();
    const z = rows(1, 12, 9, 3);
    const [sym, old] = await bothGrams(g, z, [12, 9]);
    expect(sym.length).toBe(144);
    expect(bits(sym)).toEqual(bits(old));
  });

  it("rowStats' (mean, scale) give normalize_rows' values bit for bit", async ({ skip }) => {
    const g = gpu;
    if (!g) return skip();
    const [rows, D] = [7, 301];
    const x = new Rng(9).normals(rows * D).map((v, i) => v * 3 + ((i / D) | 0));
    x.fill(-1.5, 2 * D, 3 * D); // a constant row: scale 0
    const gx = g.upload(x, [rows, D]);
    const st = await rowStats(g, gx, rows, D).read();
    // normalize_rows on a copy (the matmul path's pass, in place on its scratch).
    const gz = g.empty([rows, D]);
    g.copy(gx, gz);
    normalizeRowsInPlace(g, gz, rows, D);
    const z = await gz.read();
    const f = Math.fround;
    const mine = x.map((v, i) => f(f(v - st[2 * ((i / D) | 0)]) * st[2 * ((i / D) | 0) + 1]));
    expect(bits(mine)).toEqual(bits(z));
    expect(st[5]).toBe(0);
    gx.dispose();
    gz.dispose();
  });

  it('correlation() and the batched path agree bit for bit with either Gram kernel', async ({ skip }) => {
    const g = gpu;
    if (!g) return skip();
    const [B, N, D] = [3, 64, 2 * GRAM_K_CHUNK + 100];
    const x = new Rng(5).normals(B * N * D).map((v, i) => v + (((i / D) | 0) % 4));
    x.fill(2.5, 7 * D, 8 * D); // a constant row
    const gx = g.upload(x, [B, N, D]);
    const [cs, cm] = [correlation(g, gx), correlation(g, gx, { gram: 'matmul' })];
    const [s, m] = [await cs.read(), await cm.read()];
    expect(bits(s)).toEqual(bits(m));
    expect(bits(await gx.read()), 'x as it was').toEqual(bits(x));
    expectClose(s, correlationCpu(x, B, N, D), { atol: 2e-5, label: 'C' });
    const off: Float32Array[] = [];
    for (const kernel of ['symmetric', 'matmul'] as const) {
      const xw = g.upload(x, [B, N, D]);
      const c = g.empty([B, N, N]);
      correlationOffDiagInPlace(g, xw, c, { gram: kernel });
      off.push(await c.read());
      xw.dispose();
      c.dispose();
    }
    expect(bits(off[0])).toEqual(bits(off[1]));
    for (const t of [gx, cs, cm]) t.dispose();
  });

  // NASWOT's arena after signCodesInPlace: [L, n, d] of +-1. Its Gram went through the matmul
  // (transB, the default tile and split-K); now through gram(): the symmetric program where
  // useSymmetric allows (n <= 64), the Gram matmul beyond. Every partial sum of +-1 products is an
  // integer below 2^24, exact in f32 in any order, so the bits must not move.
  const SIGN_SHAPES: Array<[number, number, number]> = [
    [3, 7, 1], // D = 1
    [2, 13, 37], // n not a multiple of the 4-row group, D not of 4 or 16
    [5, 64, 1],
    [1, 1, 5],
    [4, 64, 33],
    [2, 30, 3 * GRAM_K_CHUNK + 5], // several chunks along D, summed by sum_slices
    [1, 62, 16384], // NB-201's largest ReLU (16 x 32 x 32 features)
    [2, 65, 40], // past the symmetric program: the Gram matmul
  ];
  for (const [L, n, d] of SIGN_SHAPES) {
    it(`sign codes [${L}, ${n}, ${d}] (NASWOT): gram() bit for bit as the matmul it replaced, exact counts`, async ({ skip }) => {
      const g = gpu;
      if (!g) return skip();
      const x = new Rng(L * 131 + n * 7 + d).normals(L * n * d);
      // A row of zeros (all codes -1) and, where n allows, a row equal to another (K's rows repeat).
      x.fill(0, 0, d);
      if (n >= 3) x.copyWithin(2 * d, d, 2 * d);
      const arena = g.upload(x, [L, n, d]);
      signCodesInPlace(g, arena, L * n * d);
      const viaGram = gram(g, arena, g.upload(new Float32Array(L * n * n).fill(7), [L, n, n]));
      const viaMatmul = matmul(g, arena, arena, { transB: true, out: g.empty([L, n, n]) });
      const [got, old, s] = [await viaGram.read(), await viaMatmul.read(), await arena.read()];
      expect(gramSymMisfit(g, n, d) === null).toBe(n <= 64);
      expect(bits(got)).toEqual(bits(old));
      // agree - disagree per pair, counted on the host.
      const want = new Float32Array(L * n * n);
      for (let l = 0; l < L; l++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let agree = 0;
            for (let k = 0; k < d; k++) agree += s[(l * n + i) * d + k] === s[(l * n + j) * d + k] ? 1 : -1;
            want[(l * n + i) * n + j] = agree;
          }
      expect(bits(got)).toEqual(bits(want));
      for (const t of [arena, viaGram, viaMatmul]) t.dispose();
    });
  }
});
