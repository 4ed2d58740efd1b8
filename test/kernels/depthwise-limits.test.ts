/**
 * The generated depthwise programs at the sizes a device run gives them, on the limits the H100
 * (2026-12-06) and the H200 (2026-12-04) reported, without a GPU (test/helpers/limits-device.ts):
 * the bench's depthwise shapes and MobileNet / ProxylessNAS stages at 224 (batch 128), every pass.
 * Their workgroup memory stays within WebGPU's default 16 KiB (any adapter), not only the H100's 48.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { AdapterReport } from '../../src/gpu/adapter.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, defaultConvCore } from '../../src/kernels/conv2d.js';
import { DW_WG } from '../../src/kernels/conv2d-depthwise-program.js';
import { limitsGpu } from '../helpers/limits-device.js';

// The bench's inputs as zeros: nothing runs them.
vi.mock('../../src/bench/kernels/util.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/bench/kernels/util.js')>()),
  uniforms: (_rng: unknown, n: number) => new Float32Array(n),
}));

const REPORTS: Record<string, string> = {
  H100: 'bench/results/nvidia-h100/2026-12-06/info.json',
  H200: 'bench/results/nvidia-h200/2026-12-04/info.json',
};
const report = (path: string): AdapterReport => JSON.parse(readFileSync(path, 'utf8')).adapter;

/** [N, C, H = W, kernel, stride]: MobileNetV2 / ProxylessNAS depthwise layers at 224. */
const STAGES: Array<[number, number, number, number, number]> = [
  [128, 32, 112, 3, 1],
  [128, 96, 112, 7, 2],
  [128, 144, 56, 5, 1],
  [128, 144, 56, 7, 2],
  [128, 192, 56, 5, 2],
  [128, 192, 28, 7, 1],
  [128, 240, 28, 3, 2],
  [128, 480, 14, 5, 1],
  [128, 576, 14, 7, 2],
  [128, 1152, 7, 7, 1],
];

describe('depthwise programs within the recorded limits', () => {
  for (const [name, path] of Object.entries(REPORTS)) {
    it(`${name}: every pass at the bench's and MobileNet's sizes`, () => {
      const { gpu, record } = limitsGpu(report(path));
      expect(gpu.adapter.isSoftware).toBe(false);
      const bench = defaultRegistry().get('depthwise').shapes;
      const shapes = [
        ...[...bench.default, ...bench.large].map((s): [number, number, number, number, number] => [
          s.N,
          s.Cin,
          s.H,
          s.K,
          s.stride,
        ]),
        ...STAGES,
      ];
      const o = { core: 'program' as const };
      for (const [N, C, HW, k, stride] of shapes) {
        const x = gpu.empty([N, C, HW, HW]);
        const w = gpu.empty([C, 1, k, k]);
        const p = { stride, pad: (k - 1) >> 1, groups: C };
        const y = conv2d(gpu, x, w, p, o);
        conv2dBackwardInput(gpu, y, w, x.shape, p, o).dispose();
        conv2dBackwardWeight(gpu, x, y, w.shape, p, o).dispose();
        // What a hardware adapter runs by default (WGNAS_CONV_CORE=legacy: the legacy kernel).
        conv2d(gpu, x, w, p).dispose();
        for (const t of [x, w, y]) t.dispose();
      }
      expect(record.violations).toEqual([]);
      const names = [...record.programs.keys()];
      const dw = names.filter((n) => n.startsWith('conv2d_dw_'));
      // Every (pass, kernel, stride) of the shapes ran as a program: none fell back.
      expect(names.filter((n) => n.startsWith('conv2d_depthwise.wgsl'))).toEqual(
        defaultConvCore() === 'legacy' ? [expect.stringMatching(/fwd/)] : [],
      );
      expect(new Set(dw.map((n) => n.replace(/p\d_r.*/, ''))).size).toBe(3 * 6);
      for (const n of dw) {
        expect(record.programs.get(n)!.storageBytes, n).toBeLessThanOrEqual(16384);
        expect(record.programs.get(n)!.invocations, n).toBe(DW_WG);
      }
    });
  }
});
