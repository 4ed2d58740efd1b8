/**
 * The subgroup-matrix matmul (src/kernels/matmul-subgroup-matrix.ts). No adapter here offers
 * subgroup matrices, so the index math is checked through the programs' emulated form (the same
 * generated program, each fragment a private array and the builtins plain loops) on lavapipe,
 * for both program shapes, square and non-square fragments; the real forms are checked for the
 * builtins they call; without the feature the op refuses in one line naming what to set. Where an
 * adapter has the feature, the real program is compared with the reference too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  matmulSubgroupMatrix,
  pickSubgroupMatrixConfig,
  prepareSubgroupMatrixMatmul,
  SGMAT_CANDIDATES,
  type SgmatOptions,
  type SgmatProgramKey,
  sgmatBlock,
  sgmatMisfit,
  sgmatOptionsName,
  sgmatStorageBytes,
  sgmatProgram,
  sgmatProgramName,
  sgmatSubgroupSize,
  SUBGROUP_SIZE_CONTROL_FEATURE,
  subgroupMatrixProblem,
} from '../../src/kernels/matmul-subgroup-matrix.js';
import type { Gpu } from '../../src/gpu/index.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';

/** Values exact in f16 (multiples of 1/8 in [-2, 2]), so f16 operands and f32 sums are exact at these sizes. */
function exactF16(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.int(33) - 16) / 8;
  return x;
}

function reference(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float32Array {
  const c = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
      c[m * N + n] = s;
    }
  return c;
}

/** C = A B through `k` on `gpu` equals the reference (operands exact in f16, drawn from `seed`). */
async function expectReference(gpu: Gpu, k: SgmatProgramKey, M: number, N: number, K: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const a = exactF16(rng, M * K);
  const b = exactF16(rng, K * N);
  const ga = gpu.upload(a, [M, K]);
  const gb = gpu.upload(b, [K, N]);
  const c = matmulSubgroupMatrix(gpu, k, ga, gb);
  try {
    expect(Array.from(await c.read())).toEqual(Array.from(reference(a, b, M, N, K)));
  } finally {
    for (const t of [ga, gb, c]) t.dispose();
  }
}

const H100 = JSON.parse(readFileSync('bench/results/nvidia-h100/2026-12-06/info.json', 'utf8')).adapter.limits;

const key = (o: Partial<SgmatProgramKey>): SgmatProgramKey => ({
  variant: 'direct',
  frag: { M: 16, N: 16, K: 16 },
  TM: 2,
  TN: 2,
  KS: 1,
  subgroupSize: 32,
  syntax: 'emulated',
  ...o,
});

describe('subgroup-matrix matmul: generated programs', () => {
  it('writes the builtins in the syntax asked, one program name per key', () => {
    const t = sgmatProgram(key({ syntax: 'template' }));
    expect(t).toContain('enable chromium_experimental_subgroup_matrix;');
    // The staged program's offsets are subgroup-uniform, not workgroup-uniform: Tint's check is off.
    expect(t).toContain('diagnostic(off, chromium.subgroup_matrix_uniformity);');
    expect(t).toContain('subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&A, ');
    expect(t).toContain('subgroupMatrixStore<row_major>(&C, ');
    expect(t).toMatch(/subgroupMatrixMultiplyAccumulate\(a1, b1, c1_1\)/);
    const b = sgmatProgram(key({ syntax: 'bool', variant: 'staged', KS: 2 }));
    expect(b).toContain('subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&Bs, ');
    expect(b).toContain(', false, p.N);');
    expect(b).toContain('subgroupBroadcastFirst(li / 32u)');
    const e = sgmatProgram(key({}));
    expect(e).not.toContain('subgroup_matrix');
    const names = new Set(
      (['template', 'bool', 'emulated'] as const).flatMap((syntax) =>
        (['direct', 'staged'] as const).map((variant) => sgmatProgramName(key({ syntax, variant }))),
      ),
    );
    expect(names.size).toBe(6);
  });

  it('sizes the staged candidates (SGMAT_CANDIDATES) for the H100: block, workgroup memory, invocations, names', () => {
    const at16 = (variant: 'direct' | 'staged', o: SgmatOptions) => ({
      ...key({ variant, frag: { M: 16, N: 16, K: 16 } }),
      ...o,
    });
    const staged = SGMAT_CANDIDATES.staged.map((o) => at16('staged', o));
    expect(staged.map((k) => sgmatBlock(k))).toEqual([
      { BM: 64, BN: 64 },
      { BM: 64, BN: 64 },
      { BM: 64, BN: 128 },
      { BM: 128, BN: 128 },
      { BM: 128, BN: 128 },
      { BM: 128, BN: 128 },
    ]);
    // f16 tiles [BM][BK + pad] and [BK][BN + pad], one or two buffers: the first as before (8 KiB).
    expect(staged.map(sgmatStorageBytes)).toEqual([8192, 19456, 27648, 37888, 37888, 20992]);
    expect(staged.map(sgmatOptionsName)).toEqual([
      '2x2 subgroups of 2x2 ks2',
      '2x2 subgroups of 2x2 ks2 db,pad8',
      '2x2 subgroups of 2x4 ks2 db,pad8',
      '2x2 subgroups of 4x4 ks2 db,pad8',
      '4x2 subgroups of 2x4 ks2 db,pad8',
      '2x2 subgroups of 4x4 ks1 db,pad8',
    ]);
    // The default's name is the H100 run's; the options each name their program.
    expect(sgmatProgramName(staged[0])).toBe('matmul_sgmat_staged_16x16x16_2x2_ks2_sg32_emulated.wgsl');
    expect(sgmatProgramName(staged[4])).toBe('matmul_sgmat_staged_16x16x16_2x4_ks2_g4x2_db_pad8_sg32_emulated.wgsl');
    expect(new Set(staged.map(sgmatProgramName)).size).toBe(staged.length);
    for (const k of [...staged, ...SGMAT_CANDIDATES.direct.map((o) => at16('direct', o))])
      expect(sgmatMisfit(k, H100)).toBeNull();
    const webgpu = {
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
      maxComputeWorkgroupStorageSize: 16384,
    };
    expect(sgmatMisfit(staged[0], webgpu)).toBeNull();
    expect(sgmatMisfit(staged[3], webgpu)).toBe('37888 bytes of workgroup memory > maxComputeWorkgroupStorageSize 16384');
    expect(sgmatMisfit({ ...staged[4], subgroupSize: 64 }, webgpu)).toBe("512 invocations > the device's 256");
    expect(sgmatMisfit({ ...staged[1], pad: 4 }, H100)).toBe(
      'pad 4 f16s: shared rows must stay 16-byte aligned (a multiple of 8)',
    );
    // The db program: two buffers, one barrier per k-tile (and the prologue's).
    const db = sgmatProgram({ ...staged[1], syntax: 'template' });
    expect(db).toContain('var<workgroup> As: array<f16, 5120>;'); // 2 x 64 x (32 + 8)
    expect(db).toContain(
      'subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, offA + (sr * 32u + 0u) * 40u + 0u, 40u)',
    );
    expect(db.match(/workgroupBarrier/g)).toHaveLength(2);
  });

  it('pins the subgroup size with @subgroup_size where asked', () => {
    for (const variant of ['direct', 'staged'] as const) {
      const pinned = sgmatProgram(key({ syntax: 'template', variant, pinned: true }));
      expect(pinned).toContain('enable subgroup_size_control;');
      expect(pinned).toMatch(new RegExp(`@workgroup_size\\(${variant === 'direct' ? 32 : 128}\\) @subgroup_size\\(32\\)\n`));
      expect(sgmatProgram(key({ syntax: 'template', variant }))).not.toMatch(/subgroup_size_control|@subgroup_size/);
      // The emulation enables subgroups only for the attribute.
      expect(sgmatProgram(key({ variant, pinned: true }))).toContain('enable subgroups;\nenable subgroup_size_control;');
      expect(sgmatProgramName(key({ variant, pinned: true }))).not.toBe(sgmatProgramName(key({ variant })));
    }
  });

  it('builds for the largest subgroup size: pinned where the device can, refused for a range it cannot pin', () => {
    expect(sgmatSubgroupSize(32, 32, false)).toEqual({ subgroupSize: 32, pinned: false });
    expect(sgmatSubgroupSize(32, 32, true)).toEqual({ subgroupSize: 32, pinned: true });
    expect(sgmatSubgroupSize(16, 64, true)).toEqual({ subgroupSize: 64, pinned: true });
    expect(sgmatSubgroupSize(undefined, 64, false)).toEqual({ subgroupSize: 64, pinned: false });
    expect(sgmatSubgroupSize(undefined, undefined, true)).toEqual({ subgroupSize: 32, pinned: false });
    // Pinned: the largest size whose subgroups (staged: four) fit the workgroup limit.
    expect(sgmatSubgroupSize(16, 128, true, 4, 256)).toEqual({ subgroupSize: 64, pinned: true });
    expect(sgmatSubgroupSize(16, 128, true, 1, 256)).toEqual({ subgroupSize: 128, pinned: true });
    // Both variants: the direct one would otherwise run one duplicate per smaller subgroup.
    expect(sgmatSubgroupSize(16, 64, false)).toBe(
      'needs one subgroup size: the adapter runs 16 to 64 and the device has no subgroup-size-control to pin one',
    );
  });

  it('picks a square f16 x f16 -> f32 configuration first', () => {
    const f16 = (M: number, N: number, K: number) => ({ componentType: 'f16', resultComponentType: 'f32', M, N, K });
    expect(pickSubgroupMatrixConfig(undefined)).toBeNull();
    expect(pickSubgroupMatrixConfig([{ ...f16(8, 8, 8), resultComponentType: 'f16' }])).toBeNull();
    expect(pickSubgroupMatrixConfig([f16(16, 8, 16), f16(16, 16, 16)])).toEqual(f16(16, 16, 16));
    expect(pickSubgroupMatrixConfig([f16(16, 8, 16)])).toEqual(f16(16, 8, 16));
  });
});

describe('subgroup-matrix matmul on the GPU', () => {
  // Small fragments and few of them: lavapipe compiles the emulation's unrolled loops slowly; the
  // index math is the same at 16x16x16 (odd tile counts and non-square fragments included).
  const cases: Array<[string, SgmatProgramKey, number, number, number]> = [
    ['direct 4x4x4, 2x3 fragments', key({ frag: { M: 4, N: 4, K: 4 }, TN: 3 }), 16, 24, 12],
    ['direct 8x4x8 (non-square), 2x2', key({ frag: { M: 8, N: 4, K: 8 } }), 32, 16, 16],
    ['staged 4x4x4, 2x1 per subgroup, 2 deep', key({ variant: 'staged', frag: { M: 4, N: 4, K: 4 }, TN: 1, KS: 2 }), 32, 16, 24],
    [
      'staged 4x8x4 (non-square), 1x2 per subgroup',
      key({ variant: 'staged', frag: { M: 4, N: 8, K: 4 }, TM: 1, TN: 2 }),
      16,
      64,
      12,
    ],
    // The staged options (SGMAT_CANDIDATES): double buffering over 3 k-tiles (both buffers, twice),
    // over one (the prologue's only), padded rows, 4 x 2 and 1 x 4 subgroup grids.
    [
      'staged 4x4x4, 2x1 per subgroup, 2 deep, db, pad 8',
      key({ variant: 'staged', frag: { M: 4, N: 4, K: 4 }, TN: 1, KS: 2, db: true, pad: 8 }),
      32,
      16,
      24,
    ],
    ['staged 4x4x4, db, one k-tile', key({ variant: 'staged', frag: { M: 4, N: 4, K: 4 }, TN: 1, KS: 2, db: true }), 16, 8, 8],
    [
      'staged 4x8x4, 4x2 subgroups of 1x2, db, pad 4',
      key({ variant: 'staged', frag: { M: 4, N: 8, K: 4 }, TM: 1, TN: 2, KS: 1, SGM: 4, SGN: 2, db: true, pad: 4 }),
      32,
      64,
      12,
    ],
    [
      'staged 4x4x4, 1x4 subgroups of 2x1, pad 8',
      key({ variant: 'staged', frag: { M: 4, N: 4, K: 4 }, TM: 2, TN: 1, KS: 1, SGM: 1, SGN: 4, pad: 8 }),
      16,
      32,
      8,
    ],
  ];
  for (const [name, k, M, N, K] of cases) {
    it(`emulated: ${name}, ${M}x${N}x${K}, equals the reference`, async ({ skip }) => {
      const gpu = await testGpu();
      if (!gpu) return skip();
      const { BM, BN } = sgmatBlock(k);
      expect(M % BM).toBe(0);
      expect(N % BN).toBe(0);
      await expectReference(gpu, k, M, N, K, M * 7 + N + K);
    });
  }

  // The pinned form runs where the device has subgroup-size-control (lavapipe: one size, 8).
  for (const variant of ['direct', 'staged'] as const) {
    it(`emulated, pinned to the adapter's subgroup size: ${variant} 4x4x4 equals the reference`, async ({ skip }) => {
      const gpu = await testGpu();
      if (!gpu) return skip();
      if (!gpu.device.features.has(SUBGROUP_SIZE_CONTROL_FEATURE as GPUFeatureName)) {
        expect(gpu.adapter.adapterFeatures ?? []).not.toContain(SUBGROUP_SIZE_CONTROL_FEATURE); // requested wherever offered
        return skip();
      }
      const size = sgmatSubgroupSize(gpu.adapter.subgroupMinSize, gpu.adapter.subgroupMaxSize, true);
      if (typeof size === 'string') throw new Error(size);
      const k = key({ variant, frag: { M: 4, N: 4, K: 4 }, TN: 1, KS: variant === 'staged' ? 2 : 1, ...size });
      expect(sgmatProgram(k)).toContain(`@subgroup_size(${size.subgroupSize})`);
      await expectReference(gpu, k, 16, 8, 16, 5);
    });
  }

  it('refuses sizes that are not multiples of the block, and runs where the adapter has the feature', async ({ skip }) => {
    const gpu = await testGpu();
    if (!gpu) return skip();
    const ga = gpu.upload(new Float32Array(40 * 16), [40, 16]);
    const gb = gpu.upload(new Float32Array(16 * 64), [16, 64]);
    try {
      expect(() => matmulSubgroupMatrix(gpu, key({ TN: 4 }), ga, gb)).toThrow(
        /M, N, K = 40, 64, 16 must be multiples of 32, 64, 16 \(the direct program's block\)/,
      );
    } finally {
      ga.dispose();
      gb.dispose();
    }
    const problem = subgroupMatrixProblem(gpu);
    if (problem) {
      await expect(prepareSubgroupMatrixMatmul(gpu)).rejects.toThrow(
        /^matmul \(subgroup matrix\): .*(WGNAS_DAWN_FLAGS|shader-f16|configuration)/,
      );
      return;
    }
    // A GPU with subgroup matrices: the real program against the reference.
    for (const variant of ['direct', 'staged'] as const) {
      const k = await prepareSubgroupMatrixMatmul(gpu, { variant });
      const { BM, BN } = sgmatBlock(k);
      await expectReference(gpu, k, 2 * BM, 2 * BN, 4 * k.KS * k.frag.K, 1);
    }
  });
});
