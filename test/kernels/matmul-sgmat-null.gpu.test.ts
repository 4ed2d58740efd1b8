/**
 * The subgroup-matrix programs (src/kernels/matmul-subgroup-matrix.ts) through Dawn's WGSL front end
 * and pipeline validation, which no adapter here can otherwise reach: Dawn's null backend offers
 * chromium-experimental-subgroup-matrix under the unsafe toggles the device suite sets. It runs
 * nothing (the index math is checked by the emulated programs on lavapipe, matmul-sgmat.gpu.test.ts);
 * what it catches is WGSL that Tint or Dawn refuses, before an H200 run spends its minutes on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProblems } from '../helpers/compile-problems.js';

// Read once, when this file's process first asks Dawn for an adapter (each test file runs in its own fork).
process.env.WGNAS_BACKEND = 'null';
process.env.WGNAS_DAWN_FLAGS = 'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,use_vulkan_memory_model';

const { acquireGpu } = await import('../../src/gpu/index.js');
const { readFileSync } = await import('node:fs');
const H100 = JSON.parse(readFileSync('bench/results/nvidia-h100/2026-12-06/info.json', 'utf8')).adapter.limits;
const sg = await import('../../src/kernels/matmul-subgroup-matrix.js');

let gpu: Awaited<ReturnType<typeof acquireGpu>>;
beforeAll(async () => {
  gpu = await acquireGpu();
});
afterAll(() => gpu?.destroy());

/** Compile errors and validation messages of one program (empty when Dawn takes it). */
const problems = (code: string): Promise<string[]> => compileProblems(gpu.device, code);

/** The bench's program key (prepareSubgroupMatrixMatmul's defaults) at NVIDIA's 16x16x16 f16 fragment. */
const benchKey = (
  variant: 'direct' | 'staged',
  syntax: 'template' | 'bool',
  size: { subgroupSize: number; pinned?: boolean },
) => ({
  variant,
  frag: { M: 16, N: 16, K: 16 },
  TM: 2,
  TN: variant === 'direct' ? 4 : 2,
  KS: variant === 'staged' ? 2 : 1,
  ...size,
  syntax,
});

describe('subgroup-matrix programs on Dawn (null backend)', () => {
  it('the null device offers the feature and shader-f16', () => {
    expect(gpu.name).toBe('null-backend');
    expect(gpu.device.features.has(sg.SUBGROUP_MATRIX_FEATURE as GPUFeatureName)).toBe(true);
    expect(gpu.device.features.has('shader-f16')).toBe(true);
  });

  // The bench's programs, both syntaxes (the newer one is tried first). Dawn wants workgroup x a multiple of the maximum
  // subgroup size (128 here, 32 on the H200): direct's one subgroup of 128, staged's four of 32.
  for (const syntax of ['template', 'bool'] as const) {
    for (const variant of ['direct', 'staged'] as const) {
      it(`${variant}, ${syntax} syntax: compiles and validates`, async () => {
        const key = benchKey(variant, syntax, {
          subgroupSize: (gpu.adapter.subgroupMaxSize ?? 32) / (variant === 'direct' ? 1 : 4),
        });
        expect(await problems(sg.sgmatProgram(key))).toEqual([]);
      });
    }
  }

  // Every candidate the bench tunes over (SGMAT_CANDIDATES, src/bench/sgmat-tune.ts) at NVIDIA's
  // fragment, both syntaxes: Tint takes the module; pipeline validation takes it too, except the
  // null device's 16 KiB of workgroup memory refuses the larger staged tiles (27-37 KiB, for the
  // H100's and H200's 48 KiB): that must be their only problem.
  for (const syntax of ['template', 'bool'] as const) {
    for (const variant of ['direct', 'staged'] as const) {
      for (const c of sg.SGMAT_CANDIDATES[variant]) {
        const base = { ...benchKey(variant, syntax, { subgroupSize: 32 }), ...c };
        const name = `${variant} ${sg.sgmatOptionsName(base)}, ${syntax} syntax`;
        it(`candidate ${name}: compiles, and validates where its workgroup memory fits`, async () => {
          // Dawn wants the workgroup a multiple of the null device's largest subgroup (128).
          const { SGM, SGN } = sg.sgmatGrid(base);
          const key = { ...base, subgroupSize: (gpu.adapter.subgroupMaxSize ?? 32) / (SGM * SGN) };
          expect(key.subgroupSize).toBeGreaterThanOrEqual(16);
          const bytes = sg.sgmatStorageBytes(key);
          const limit = gpu.adapter.limits.maxComputeWorkgroupStorageSize;
          const found = await problems(sg.sgmatProgram(key));
          if (bytes <= limit) expect(found).toEqual([]);
          else {
            expect(found).toHaveLength(1);
            expect(found[0]).toMatch(
              new RegExp(`workgroup storage \\(${bytes} bytes\\) is larger than the maximum allowed \\(${limit} bytes\\)`),
            );
          }
          expect(sg.sgmatMisfit({ ...key, subgroupSize: 32 }, H100)).toBeNull();
        });
      }
    }
  }

  // The double-buffered, padded and 4 x 2 forms whole (pipeline validation included) at tiles that
  // fit the null device's 16 KiB.
  for (const syntax of ['template', 'bool'] as const) {
    for (const opts of [
      { TM: 1, TN: 1, KS: 1, db: true, pad: 8 },
      { TM: 1, TN: 1, KS: 2, SGM: 4, SGN: 2, db: true, pad: 8 },
      { TM: 2, TN: 1, KS: 1, SGM: 1, SGN: 4, pad: 8 },
    ]) {
      it(`staged ${JSON.stringify(opts)}, ${syntax} syntax: compiles and validates`, async () => {
        const n = (opts.SGM ?? 2) * (opts.SGN ?? 2);
        const key = { ...benchKey('staged', syntax, { subgroupSize: (gpu.adapter.subgroupMaxSize ?? 32) / n }), ...opts };
        expect(sg.sgmatStorageBytes(key)).toBeLessThanOrEqual(gpu.adapter.limits.maxComputeWorkgroupStorageSize);
        expect(await problems(sg.sgmatProgram(key))).toEqual([]);
      });
    }
  }

  // The null device offers subgroup-size-control and a range of sizes (4 to 128), no configuration
  // (so prepareSubgroupMatrixMatmul stops earlier): the keys it would build pin the largest size
  // that fits the workgroup (256 invocations: staged's four subgroups of 64) with @subgroup_size,
  // which Dawn must take beside the matrix builtins.
  for (const variant of ['direct', 'staged'] as const) {
    it(`${variant}, pinned to the largest subgroup size: compiles and validates`, async () => {
      expect(gpu.device.features.has(sg.SUBGROUP_SIZE_CONTROL_FEATURE as GPUFeatureName)).toBe(true);
      expect(gpu.adapter.subgroupMinSize).toBeLessThan(gpu.adapter.subgroupMaxSize!);
      const n = variant === 'staged' ? 4 : 1;
      const most = gpu.adapter.limits.maxComputeInvocationsPerWorkgroup;
      const size = sg.sgmatSubgroupSize(gpu.adapter.subgroupMinSize, gpu.adapter.subgroupMaxSize, true, n, most);
      expect(size).toEqual({ subgroupSize: Math.min(gpu.adapter.subgroupMaxSize!, most / n), pinned: true });
      const key = benchKey(variant, 'template', size as { subgroupSize: number; pinned: boolean });
      expect(sg.sgmatProgram(key)).toContain(`@subgroup_size(${key.subgroupSize})`);
      expect(await problems(sg.sgmatProgram(key))).toEqual([]);
    });
  }
});
