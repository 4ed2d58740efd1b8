/**
 * Every generated depthwise program the planner can pick (each pass, kernel 1..7, stride 1 and 2,
 * padding 0, half the kernel and the kernel, the smallest and largest tile) through Dawn's WGSL front
 * end and pipeline validation on the null backend, which compiles in milliseconds what lavapipe
 * takes seconds for (its LLVM compile of a 7x7 program): what Tint or Dawn would refuse on a device
 * run. The parity tests (conv2d-depthwise-program.gpu.test.ts) run a selection on lavapipe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProblems } from '../helpers/compile-problems.js';

// Read once, when this file's process first asks Dawn for an adapter (each test file runs in its own fork).
process.env.WGNAS_BACKEND = 'null';

const { acquireGpu } = await import('../../src/gpu/index.js');
const dwp = await import('../../src/kernels/conv2d-depthwise-program.js');
const { DW_TILE_SIZES } = dwp;

let gpu: Awaited<ReturnType<typeof acquireGpu>>;
beforeAll(async () => {
  gpu = await acquireGpu();
});
afterAll(() => gpu?.destroy());

/** Compile errors and validation messages of one program (empty when Dawn takes it). */
const problems = (code: string): Promise<string[]> => compileProblems(gpu.device, code);

describe('depthwise programs on Dawn (null backend)', () => {
  it('the null device is the one asked for, with 16 KiB of workgroup memory at most', () => {
    expect(gpu.name).toBe('null-backend');
    expect(gpu.device.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(DW_TILE_SIZES.at(-1)! * 4);
  });

  it('every pass, kernel, stride, padding and tile compiles and validates', async () => {
    const failed: string[] = [];
    let n = 0;
    for (const pass of ['fwd', 'bwd_input', 'bwd_weight'] as const) {
      for (let KS = 1; KS <= 7; KS++) {
        for (const ST of [1, 2]) {
          for (const PD of new Set([0, (KS - 1) >> 1, KS])) {
            for (const tile of [DW_TILE_SIZES[0], DW_TILE_SIZES.at(-1)!]) {
              const key = { pass, KS, ST, PD, R: dwp.dwRun(KS), tile };
              const errs = await problems(dwp.dwProgram(key));
              if (errs.length) failed.push(`${dwp.dwProgramName(key)}: ${errs.join('; ')}`);
              n++;
            }
          }
        }
      }
    }
    expect(failed).toEqual([]);
    expect(n).toBeGreaterThan(200);
    // It does refuse: an unknown builtin, and workgroup memory past the device's limit.
    const key = { pass: 'fwd' as const, KS: 3, ST: 1, PD: 1, R: 4, tile: 1024 };
    expect(await problems(dwp.dwProgram(key).replace('fma(', 'fmaa('))).not.toEqual([]);
    expect(await problems(dwp.dwProgram({ ...key, tile: 65536 }))).not.toEqual([]);
  });
});
