/**
 * The gpu.js, tfjs-wasm and oneDNN baselines and the newer kernel entries (depthwise, gate-dot,
 * fitness mixing), on tiny shapes with a fixed peak (no calibration). Numbers are not asserted:
 * only that each baseline runs, passes its parity guard and yields a ratio.
 */
import { onGpu } from '../helpers/backend.js';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { type BaselineName, type BenchReport, runBench } from '../../src/bench/harness.js';
import { createGpuJsBaseline } from '../../src/bench/gpujs.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { matmulBench } from '../../src/bench/kernels/matmul.js';
import { nativeCandidates, type NativeRunOp } from '../../src/native/binding.js';
import type { BenchKernel } from '../../src/bench/registry.js';
import { formatTable } from '../../src/bench/report.js';
import { tfjsWasmDir } from '../../src/bench/tfjs-wasm.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const PEAK = { flopsPerS: 1e10, bytesPerS: 1e9, source: 'table' as const, name: 'test' };
const reg = defaultRegistry();

function bench(
  kernels: Array<string | BenchKernel>,
  baselines: BaselineName[],
  extra: Partial<Parameters<typeof runBench>[1]> = {},
): Promise<BenchReport> {
  return runBench(onGpu(gpu!), {
    kernels: kernels.map((k) => (typeof k === 'string' ? reg.get(k) : k)),
    shapes: 'tiny',
    warmup: 0,
    repeats: 1,
    baselines,
    peak: PEAK,
    cpuBudgetMs: 200,
    gpuBudgetMs: 500,
    ...extra,
  });
}

function expectOk(report: BenchReport, name: BaselineName, opts: { parity: boolean }): void {
  expect(report.results.length).toBeGreaterThan(0);
  for (const r of report.results) {
    expect(r.error, `${r.kernel} ${r.label}`).toBeUndefined();
    const b = r.baselines[name]!;
    expect(b, `${name} ${r.kernel} ${r.label}`).toBeDefined();
    expect(b.status, `${name} ${r.kernel} ${r.label}: ${b.note}`).toBe('ok');
    expect(b.speedup! > 0 && b.medianMs! > 0).toBe(true);
    if (opts.parity) expect(b.parityMaxAbsErr, `${name} ${r.kernel} ${r.label}`).toBeDefined();
  }
}

describe('gpu.js baseline', () => {
  it('picks the first working mode, labels rows with it, and passes the parity guard on matmul and correlation', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const report = await bench(['matmul', 'correlation'], ['gpujs']);
    expectOk(report, 'gpujs', { parity: true });
    const label = report.labels.gpujs!;
    expect(label).toMatch(/^gpu\.js\((webgpu|webasm|cpu)\)$/);
    for (const r of report.results) expect(r.baselines.gpujs!.label).toBe(label);
    expect(report.where.gpujs).toMatch(/gpu\.js 2\.\d+\.\d+ in '(webgpu|webasm|cpu)' mode/);
    expect(formatTable(report)).toContain(`vs ${label}`);
  });

  it('runs in webasm mode when asked, and rejects unknown or failing modes with reasons', async ({ skip }) => {
    if (!gpu) return skip();
    const report = await bench(['matmul'], ['gpujs'], { gpujsModes: ['webasm'] });
    expectOk(report, 'gpujs', { parity: true });
    expect(report.labels.gpujs).toBe('gpu.js(webasm)');
  });

  it('a gpu.js kernel that computes something else fails the guard and is not timed', async ({ skip }) => {
    if (!gpu) return skip();
    const wrong: BenchKernel = {
      ...matmulBench,
      name: 'matmul-wrong-gpujs',
      async gpujs(g, shape, inputs) {
        const k = g.kernel('function(a) { return a[this.thread.x] + 1; }', { output: [shape.M * shape.N * shape.batch] });
        const ga = await g.input(inputs[0].data);
        return { run: () => k(ga), teardown: () => g.release(ga) };
      },
    };
    const report = await bench([wrong], ['gpujs'], { gpujsModes: ['webasm'] });
    expect(report.results[0].baselines.gpujs).toMatchObject({ status: 'parity-failed' });
    expect(report.results[0].baselines.gpujs!.medianMs).toBeUndefined();
    expect(report.results[1].baselines.gpujs).toMatchObject({ status: 'parity-failed' });
  });

  it('says why when no requested mode works', async () => {
    // GL needs the `gl` package, which is not a dependency; 'cpu' always works, so ask for none of it.
    await expect(createGpuJsBaseline([])).rejects.toThrow(/no gpu\.js mode works/);
  });
});

describe('tfjs-wasm baseline', () => {
  it('loads the wasm binaries from node_modules, not the network', () => {
    const dir = tfjsWasmDir();
    expect(existsSync(`${dir}tfjs-backend-wasm-simd.wasm`)).toBe(true);
  });

  it('matmul, conv2d and depthwise pass the parity guard, sharing tfjs with the webgpu baseline', async ({ skip }) => {
    if (!gpu) return skip();
    const report = await bench(['matmul', 'conv2d', 'depthwise'], ['tfjs-webgpu', 'tfjs-wasm']);
    expectOk(report, 'tfjs-wasm', { parity: true });
    // Switching tfjs backends per baseline left the webgpu one working on our device.
    expectOk(report, 'tfjs-webgpu', { parity: true });
    expect(report.where['tfjs-wasm']).toMatch(/tfjs-backend-wasm 4\.\d+\.\d+ \((no )?SIMD/);
  });
});

describe('oneDNN baseline (native addon)', () => {
  const built = nativeCandidates().some((p) => existsSync(p));

  it('matmul, conv2d and depthwise pass the parity guard (run() on our inputs), then are timed as measurements', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    if (!built && process.env.CI !== 'true') return skip();
    const report = await bench(['matmul', 'conv2d', 'depthwise'], ['onednn']);
    expectOk(report, 'onednn', { parity: true });
    expect(report.labels.onednn).toBe('oneDNN(1t)');
    expect(report.where.onednn).toMatch(/parity-checked/);
    for (const r of report.results) {
      const b = r.baselines.onednn!;
      expect(b.parityMaxAbsErr!, `${r.kernel} ${r.label}`).toBeLessThan(1e-3);
      expect(b.note).not.toMatch(/timing only/);
      // A batched matmul is one product timed x batch: derived, so marked an estimate; the rest are timed.
      const batched = r.kernel === 'matmul' && (r.shape.batch ?? 1) > 1;
      expect(b.estimate, `${r.kernel} ${r.label}`).toBe(batched ? true : undefined);
    }
  });

  it('a native mapping that computes something else fails the guard and is not timed', async ({ skip }) => {
    if (!gpu) return skip();
    if (!built && process.env.CI !== 'true') return skip();
    const wrong: BenchKernel = {
      ...matmulBench,
      name: 'matmul-wrong-native',
      native(shape) {
        const eq = matmulBench.native!(shape)!;
        // B instead of B transposed as the weights: right sizes, wrong product (shapes are not symmetric).
        return {
          ...eq,
          output: (run, [a, b]) =>
            run(
              eq.ops[0] as NativeRunOp,
              { input: a.data.slice(0, shape.M * shape.K), weights: b.data.slice(0, shape.K * shape.N) },
              'nhwc',
            ),
        };
      },
    };
    const report = await bench([wrong], ['onednn']);
    expect(report.results[0].baselines.onednn).toMatchObject({ status: 'parity-failed' });
    expect(report.results[0].baselines.onednn!.medianMs).toBeUndefined();
    expect(report.results[1].baselines.onednn).toMatchObject({ status: 'parity-failed' });
  });

  it('rows say so (no crash) when the addon is not built', async ({ skip }) => {
    // With the addon built (always under CI) this case cannot arise: loadNative finds it.
    if (!gpu || built) return skip();
    const report = await bench(['matmul'], ['onednn']);
    expect(report.results[0].baselines.onednn).toMatchObject({ status: 'skipped' });
    expect(report.where.onednn).toMatch(/unavailable.*native addon/);
  });
});

describe('newer kernel entries', () => {
  it('depthwise, gate-dot and the fitness mixture run and agree with tfjs-webgpu and the CPU', async ({ skip }) => {
    if (!gpu) return skip();
    const report = await bench(['depthwise', 'gate-dot', 'fitness-mix', 'fitness-mix-bwd'], ['tfjs-webgpu', 'cpu']);
    expect(new Set(report.results.map((r) => r.kernel))).toEqual(
      new Set(['depthwise', 'gate-dot', 'fitness-mix', 'fitness-mix-bwd']),
    );
    expectOk(report, 'tfjs-webgpu', { parity: true });
    expectOk(report, 'cpu', { parity: true });
    for (const r of report.results) expect(r.flops > 0 && r.bytes > 0).toBe(true);
  });

  it('batch norm forward agrees with tfjs-webgpu (moments + batchNorm), tfjs-wasm and the CPU; its backward with the CPU', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const fwd = await bench(['batchnorm'], ['tfjs-webgpu', 'tfjs-wasm', 'cpu']);
    expectOk(fwd, 'tfjs-webgpu', { parity: true });
    // tfjs-wasm's batchNorm takes the statistics along the last axis, not NCHW's channels.
    expectOk(fwd, 'tfjs-wasm', { parity: true });
    expectOk(fwd, 'cpu', { parity: true });
    const bwd = await bench(['batchnorm-bwd'], ['tfjs-webgpu', 'cpu']);
    expectOk(bwd, 'cpu', { parity: true });
    // tfjs has no batch norm backward op: no entry, no row.
    for (const r of bwd.results) expect(r.baselines['tfjs-webgpu']).toBeUndefined();
    // The plan each case ran: lavapipe's width 64 (WGNAS_BN_WG aside), WGNAS_BN_PLAN's plan ('auto'
    // unless set; at 64 every plan has the same chunks). N2 C3 7x7 is one chunk (one kernel but
    // under 'split'); N5 C2 64x64 (20480 elements per channel) splits its channels: 2 chunks at
    // width 64; at 128 10 ('auto', 'single') or 32 ('split'); at 256 5 or 20.
    const wg = Number(process.env.WGNAS_BN_WG || 64);
    const plan = process.env.WGNAS_BN_PLAN || 'auto';
    const chunks = wg === 64 ? 2 : ({ 128: [10, 32], 256: [5, 20] } as Record<number, number[]>)[wg][plan === 'split' ? 1 : 0];
    const small = { wg, plan, chunks: 1, kernels: plan === 'split' ? 2 : 1 };
    const big = { wg, plan, chunks, kernels: 2 };
    expect([...fwd.results, ...bwd.results].map((r) => r.config)).toEqual([small, big, small, big]);
  });
});
